"""The one place that connects to a container engine.

It follows docker-py's rules (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), falls back to the usual
Docker and Podman sockets when DOCKER_HOST is not set, tells which engine answered, and turns "cannot
connect" into one clear :class:`EngineUnavailable` within the connect timeout.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import urllib.parse
from dataclasses import dataclass, field

import docker
import requests
import urllib3
from docker.utils import kwargs_from_env

from .errors import EngineUnavailable

CONNECT_TIMEOUT_SECONDS = 2.0

# Where a local engine listens when DOCKER_HOST is not set: Docker's socket first, then Podman's.
DEFAULT_SOCKETS = (
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
)


def _candidate_hosts(docker_host: str | None) -> list[str]:
    if docker_host:
        return [docker_host]
    if os.environ.get("DOCKER_HOST"):
        return [os.environ["DOCKER_HOST"]]
    sockets = list(DEFAULT_SOCKETS)
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        sockets.append(os.path.join(runtime_dir, "podman", "podman.sock"))
    return ["unix://" + path for path in sockets]


def is_on_this_machine(address: str) -> bool:
    """True for a unix socket or a loopback TCP/SSH address (127.0.0.0/8, ::1, localhost, this host's
    name). Only the address is read: nothing is resolved, so a remote name is never waited for."""
    parsed = urllib.parse.urlsplit(address if "://" in address else "tcp://" + address)
    if parsed.scheme in ("unix", "npipe", "http+unix"):
        return True
    host = (parsed.hostname or "").lower()
    if host in ("localhost", socket.gethostname().lower()):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Engine:
    """A connected engine: the docker-py client and what it is."""

    client: docker.DockerClient
    address: str
    name: str
    version: str
    api_version: str
    components: list = field(default_factory=list)

    @property
    def api(self) -> docker.APIClient:
        """The low-level client (streams, raw endpoints)."""
        return self.client.api

    @property
    def is_podman(self) -> bool:
        return "podman" in self.name.lower()

    @property
    def is_on_this_machine(self) -> bool:
        """True when the engine runs here, so that a bind mount's source is a folder of this machine."""
        return is_on_this_machine(self.address)

    def describe(self) -> str:
        """One line naming the engine, its version and where it listens, as the views show it."""
        return f"{self.name} {self.version} at {self.address}"

    def __repr__(self) -> str:
        return f"<Engine {self.describe()}>"


class _APIClient(docker.APIClient):
    """docker-py's low-level client, keeping the engine's own CA (DOCKER_CERT_PATH/ca.pem) over TLS.

    requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace a session's CA file when a request names none
    (docker/docker-py#2433, psf/requests#5209): with either set (conda, corporate proxies, CI machines) every
    TLS engine failed "certificate verify failed" although DOCKER_CERT_PATH was right. The docker CLI ignores
    those variables; so does this client for the engine's CA (proxies from the environment still apply).
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if verify is None and self.verify is not True:  # a CA file, or False (TLS without verifying)
            verify = self.verify
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


class _DockerClient(docker.DockerClient):
    def __init__(self, *args, **kwargs):  # docker.DockerClient's own __init__, with the client above
        self.api = _APIClient(*args, **kwargs)


def _open(address: str, timeout: float) -> Engine:
    environment = dict(os.environ, DOCKER_HOST=address)
    kwargs = kwargs_from_env(environment=environment)
    client = _DockerClient(timeout=timeout, version="auto", **kwargs)
    # version="auto" already asked the engine for its version: reuse that answer.
    info = client.api.version(api_version=False)
    # Builds, runs and diffs may take as long as they take: after the bounded connect, no read timeout.
    client.api.timeout = None
    components = info.get("Components") or []
    name = components[0].get("Name", "Docker Engine") if components else "Docker Engine"
    if name == "Engine":
        name = "Docker Engine"
    return Engine(
        client=client,
        address=address,
        name=name,
        version=info.get("Version", "?"),
        api_version=info.get("ApiVersion", "?"),
        components=components,
    )


# Engines already connected, by address: a magic reuses its engine after a cheap ping.
_connected: dict[tuple, Engine] = {}


def _answers(engine: Engine, timeout: float) -> bool:
    api = engine.api
    try:
        response = api._get(api._url("/_ping"), timeout=timeout)
        return response.status_code == 200
    except Exception:
        return False


def is_connection_lost(error: BaseException) -> bool:
    """True for what a request raises when the engine went away mid-way (refused, reset, a cut stream)."""
    return isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                              urllib3.exceptions.ProtocolError, ConnectionError))


# Containers an operation meant to remove but could not, because the engine went away mid-way (a daemon
# restart stops them but does not remove them), by engine address. They are removed as soon as that
# engine answers again, so an engine that was killed during a build or a run leaves none of them behind.
_remove_when_back: dict[str, set[str]] = {}


def remove_when_back(engine: Engine, container_ids) -> None:
    """Remember ``container_ids`` for removal the next time ``engine`` answers (see :func:`connect`)."""
    ids = {container_id for container_id in container_ids if container_id}
    if ids:
        _remove_when_back.setdefault(engine.address, set()).update(ids)


def _remove_pending(engine: Engine) -> None:
    pending = _remove_when_back.get(engine.address)
    if not pending:
        return
    removed = []
    for container_id in sorted(pending):
        try:
            engine.api.remove_container(container_id, force=True)
            removed.append(container_id)
        except docker.errors.NotFound:
            pending.discard(container_id)
            continue
        except Exception:  # still unreachable, or busy: try again next time
            continue
        pending.discard(container_id)
    if removed:
        sys.stderr.write(
            f"dockmagic: removed {len(removed)} container(s) left by an operation the engine's stop "
            f"interrupted: {', '.join(c[:12] for c in removed)}\n")
        sys.stderr.flush()


def connect(docker_host: str | None = None, timeout: float = CONNECT_TIMEOUT_SECONDS) -> Engine:
    """Connect to the engine named by ``docker_host``, DOCKER_HOST, or the first local socket that answers.

    Raises :class:`EngineUnavailable` (within about ``timeout`` seconds per address) saying what was tried.
    """
    candidates = _candidate_hosts(docker_host)
    tls = tuple(os.environ.get(name, "") for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"))
    for address in candidates:
        engine = _connected.get((address, tls))
        if engine is not None:
            if _answers(engine, timeout):
                _remove_pending(engine)
                return engine
            _connected.pop((address, tls), None)
    tried = []
    for address in candidates:
        if address.startswith("unix://") and not os.path.exists(address[len("unix://"):]):
            tried.append(f"{address} (no such socket)")
            continue
        try:
            engine = _open(address, timeout)
            _connected[(address, tls)] = engine
            _remove_pending(engine)
            return engine
        except Exception as error:  # docker-py's errors, and requests/urllib3 errors that it does not wrap
            source = "%config DockMagic.docker_host" if docker_host else "DOCKER_HOST"
            problem = _tls_problem(error, f"{address} ({source})")
            if problem:  # the engine was reached (or TLS was misconfigured): that, not "nothing answered"
                raise EngineUnavailable(problem) from None
            tried.append(f"{address} ({_reason(error)})")
    raise EngineUnavailable(_unavailable_message(docker_host, tried))


def _tls_problem(error: Exception, address: str) -> str | None:
    """A short message for a TLS mismatch between this client and the engine at ``address``, or None.

    docker-py reports these as a wall of urllib3 text ("HTTPSConnectionPool(...): Max retries exceeded
    ... SSLError(SSLCertVerificationError(...")); the user needs to know which side refused what.
    """
    text = str(error).lower()
    folder = os.environ.get("DOCKER_CERT_PATH") or "~/.docker (DOCKER_CERT_PATH is not set)"
    fix = ("set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder holding that engine's ca.pem, "
           "cert.pem and key.pem.")
    if isinstance(error, docker.errors.TLSParameterError):
        return (f"TLS to the engine at {address} is misconfigured: {folder} lacks ca.pem, cert.pem or "
                f"key.pem (the certificates DOCKER_TLS_VERIFY/DOCKER_CERT_PATH ask for); {fix}")
    if "certificate verify failed" in text:
        if "mismatch" in text:
            return (f"TLS certificate check failed for the engine at {address}: its certificate is not "
                    f"made for that address; connect by a name or IP address its certificate lists.")
        return (f"TLS certificate check failed for the engine at {address}: its certificate is not signed "
                f"by the CA in {folder}/ca.pem; {fix}")
    if any(alert in text for alert in ("alert bad certificate", "alert unknown ca", "certificate required",
                                       "alert certificate unknown", "alert certificate expired")):
        return (f"The engine at {address} refused this client's TLS certificate ({folder}/cert.pem): it is "
                f"not signed by a CA the engine trusts; {fix}")
    if "http request to an https server" in text:
        return (f"The engine at {address} only accepts TLS connections and this one was plain TCP "
                f"(DOCKER_TLS_VERIFY is not set); {fix}")
    if "wrong version number" in text:
        return (f"The engine at {address} does not speak TLS, but TLS was asked for (DOCKER_TLS_VERIFY or "
                f"DOCKER_CERT_PATH is set): unset them, or use the engine's TLS port.")
    return None


def _reason(error: Exception) -> str:
    text = str(error)
    for marker in ("Connection refused", "timed out", "No such file", "Permission denied",
                   "certificate verify failed", "wrong version number", "Connection aborted",
                   "Name or service not known", "nodename nor servname"):
        if marker.lower() in text.lower():
            return marker.lower() if marker != "certificate verify failed" else "TLS certificate not trusted"
    return text.splitlines()[0][:160] if text else type(error).__name__


def _unavailable_message(docker_host: str | None, tried: list[str]) -> str:
    if docker_host:
        source = "DockMagic.docker_host"
    elif os.environ.get("DOCKER_HOST"):
        source = "DOCKER_HOST"
    else:
        source = "the default sockets (DOCKER_HOST is not set)"
    return (
        f"No container engine answered. Tried {source}: {'; '.join(tried)}. "
        "Start Docker (dockerd) or Podman ('podman system service'), or point DOCKER_HOST "
        "(or %config DockMagic.docker_host) at a running engine, e.g. unix:///var/run/docker.sock "
        "or tcp://host:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH."
    )
