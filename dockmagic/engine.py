"""The one place that connects to a container engine.

It follows docker-py's rules (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), falls back to the usual
Docker and Podman sockets when DOCKER_HOST is not set, tells which engine answered, and turns "cannot
connect" into one clear :class:`EngineUnavailable` within the connect timeout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import docker
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

    def describe(self) -> str:
        """One line naming the engine, its version and where it listens, as the views show it."""
        return f"{self.name} {self.version} at {self.address}"

    def __repr__(self) -> str:
        return f"<Engine {self.describe()}>"


def _open(address: str, timeout: float) -> Engine:
    environment = dict(os.environ, DOCKER_HOST=address)
    kwargs = kwargs_from_env(environment=environment)
    client = docker.DockerClient(timeout=timeout, version="auto", **kwargs)
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
            return engine
        except docker.errors.TLSParameterError as error:
            tried.append(f"{address} ({error})")
        except docker.errors.DockerException as error:
            tried.append(f"{address} ({_reason(error)})")
        except Exception as error:  # requests/urllib3 errors that docker-py does not wrap
            tried.append(f"{address} ({_reason(error)})")
    raise EngineUnavailable(_unavailable_message(docker_host, tried))


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
