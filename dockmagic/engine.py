"""The one place that talks to a container engine: it connects, and carries every request.

docker-py lives here alone: operations call :class:`Engine`'s methods (builds with either builder,
images, containers, archives, execs), which take and return plain values and raise dockmagic's errors,
so a second builder or a docker-py upgrade touches this file only.

Connecting follows the docker CLI's order (see :mod:`dockmagic.contexts`): ``%config DockMagic.docker_host``,
DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), DOCKER_CONTEXT, ``currentContext`` in the CLI's
config.json (a context brings its own TLS material), then the usual Docker and Podman sockets. It tells which
engine answered, and turns "cannot connect" into one clear :class:`EngineUnavailable` within the connect timeout.
``ssh://user@host`` engines go through docker-py's ssh support (paramiko; see :func:`_open`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import docker
import requests
import urllib3
from docker.utils import kwargs_from_env
from requests.sessions import merge_setting

from .contexts import DEFAULT_CONTEXT, EngineChoice, UnknownContext, choose_engine
from .errors import EngineRefused, EngineUnavailable, NotFound
from .notices import notify

CONNECT_TIMEOUT_SECONDS = 2.0
# Idle ssh sessions kept for reuse with an ssh:// engine (an sshd allows 10 at a time by default).
SSH_IDLE_SESSIONS = 5

# Where a local engine listens when DOCKER_HOST is not set: Docker's socket first, then Podman's.
DEFAULT_SOCKETS = (
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
)


def _default_hosts() -> list[str]:
    sockets = list(DEFAULT_SOCKETS)
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        sockets.append(os.path.join(runtime_dir, "podman", "podman.sock"))
    return ["unix://" + path for path in sockets]


def _candidate_hosts(docker_host: str | None) -> list[str]:
    """The addresses :func:`connect` tries, in order (see :func:`choose`)."""
    return list(choose(docker_host).hosts)


def choose(docker_host: str | None = None) -> EngineChoice:
    """Which engine :func:`connect` goes to and why: ``docker_host``, DOCKER_HOST, DOCKER_CONTEXT,
    ``currentContext``, the default sockets, in that order.

    Raises:
        EngineUnavailable: a context is named (DOCKER_CONTEXT, currentContext) that does not exist.
    """
    try:
        return choose_engine(docker_host, _default_hosts())
    except UnknownContext as error:
        raise EngineUnavailable(str(error)) from None


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
    """A connected engine: what it is, and every request dockmagic sends it.

    This is the only class that calls docker-py: operations call its methods, which take and return
    plain values (dicts, lists, iterators of bytes or of decoded messages). docker-py's errors are
    translated here: a missing object raises :class:`~dockmagic.errors.NotFound`, any other refusal
    :class:`~dockmagic.errors.EngineRefused` (with the engine's ``status_code`` and ``explanation``).
    A broken connection is left as it is (see :func:`is_connection_lost`).
    """

    client: docker.DockerClient
    address: str
    name: str
    version: str
    api_version: str
    components: list = field(default_factory=list)
    # The Docker context that chose this engine ("default": none did), and what chose it.
    context: str = DEFAULT_CONTEXT
    chosen_by: str = ""

    @property
    def _api(self) -> docker.APIClient:
        return self.client.api

    @property
    def api(self) -> docker.APIClient:
        """docker-py's low-level client, for scripts and tests that need a call this class lacks.
        dockmagic's own code goes through the methods below."""
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

    # --- the engine itself ---

    def ping(self, timeout: float | None = None) -> bool:
        """Whether the engine answers ``GET /_ping`` within ``timeout`` seconds.

        Returns:
            True for an answer 200; False for anything else, a refusal or no answer (never raises).
        """
        try:
            response = self._api._get(self._api._url("/_ping"), timeout=timeout)
            return response.status_code == 200
        except Exception:
            return False

    def still_there(self, timeout: float | None = None) -> bool:
        """Whether an engine connected earlier is still there: for a local socket, whether it accepts a
        connection (a stopped engine refuses it; no request, so the engine does no work for it); for any
        other address, :meth:`ping`."""
        if not self.address.startswith("unix://"):
            return self.ping(timeout)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(timeout)
            try:
                probe.connect(self.address[len("unix://"):])
                return True
            except OSError:
                return False

    # --- builds ---

    def post_build(self, context, params: dict, query_version: str | None = None) -> BuildStream:
        """Send a build request, ``POST /build``, with ``context`` (a tar file object) as its body.

        Args:
            context: the build context, an uncompressed tar (file object or bytes).
            params: the query parameters, as the Engine API names them (``t``, ``dockerfile``,
                ``buildargs``, ``networkmode``...); lists repeat the parameter.
            query_version: the builder to ask for: None (the engine's default, the legacy builder on
                Docker 20.10) or ``"2"`` (BuildKit, ``POST /build?version=2``, same body).
        Returns:
            A :class:`BuildStream`: iterate it for the decoded JSON messages as they come; close it (or
            use it in a ``with``) to end the request, which makes the engine cancel the build.
        Raises:
            EngineRefused: the engine refused the request before streaming (a bad option, a Dockerfile
            it cannot parse).
        """
        if query_version is not None:
            params = dict(params, version=query_version)
        headers = {"Content-Type": "application/tar"}
        try:
            self._api.reload_config()  # a `docker login` or %docker_login since connecting counts
            self._api._set_auth_headers(headers)  # registry credentials, as docker-py's own build sends them
        except Exception:
            pass
        response = self._api._post(self._api._url("/build"), data=context, params=params, headers=headers,
                                   stream=True, timeout=None)
        try:
            with _engine_errors():
                self._api._raise_for_status(response)
        except BaseException:
            response.close()
            raise
        return BuildStream(response)

    def cancel_build(self, build_id: str) -> None:
        """Cancel the BuildKit build sent with ``params["buildid"] = build_id`` (``POST /build/cancel``):
        its running step's process ends at once and its stream ends with ``{"error": "context canceled"}``.
        The legacy builder has no such call (closing its stream cancels it).

        Raises:
            EngineRefused: the engine refused (an engine without BuildKit, among others).
        """
        response = self._api._post(self._api._url("/build/cancel"), params={"id": build_id})
        with _engine_errors():
            self._api._raise_for_status(response)

    def open_session(self, session_id: str, shared_key: str, methods: list[str]) -> tuple[object, bytes]:
        """Open a BuildKit session (``POST /session``), as the docker CLI does before a build: the engine
        takes the connection over and, as a gRPC client over HTTP/2 on it, calls the ``methods`` the
        client serves (``/moby.filesync.v1.FileSync/DiffCopy``...) while builds naming ``session_id`` run.

        Written by hand on a connection of docker-py's own pool (unix socket, TCP, TLS or ssh, set up as
        for every other request) because the engine wants one header line per method, which requests
        cannot send, and starts talking right after its answer.

        Returns:
            The connection (``recv``, ``sendall``, ``close``) and the bytes the engine already sent after
            its answer.
        Raises:
            EngineRefused: the engine answered something other than 101 Switching Protocols.
        """
        import requests

        url = self._api._url("/session")
        adapter = self._api.get_adapter(url)
        request = requests.Request("POST", url).prepare()
        if hasattr(adapter, "get_connection_with_tls_context"):
            pool = adapter.get_connection_with_tls_context(request, self._api.verify, cert=self._api.cert)
        else:
            pool = adapter.get_connection(url)
        connection = pool._new_conn()  # a connection of its own: the engine keeps it for the session
        connection.connect()
        sock = connection.sock
        path = request.path_url
        lines = [f"POST {path} HTTP/1.1", "Host: docker", "User-Agent: dockmagic", "Upgrade: h2c",
                 "Connection: Upgrade", "Content-Length: 0", f"X-Docker-Expose-Session-Uuid: {session_id}",
                 "X-Docker-Expose-Session-Name: dockmagic", f"X-Docker-Expose-Session-Sharedkey: {shared_key}"]
        lines += [f"X-Docker-Expose-Session-Grpc-Method: {method}" for method in methods]
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    raise EngineRefused("the engine closed the connection instead of opening a build session",
                                        status_code=None)
                received += chunk
                if len(received) > 1 << 20:
                    raise EngineRefused("the engine's answer to POST /session never ended", status_code=None)
            head, rest = received.split(b"\r\n\r\n", 1)
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            if " 101 " not in f"{status} ":
                body = rest.decode("utf-8", "replace").strip()
                raise EngineRefused(f"the engine refused a build session: {status} {body[:200]}".strip(),
                                    status_code=int(status.split()[1]) if len(status.split()) > 1
                                    and status.split()[1].isdigit() else None)
        except BaseException:
            connection.close()
            raise
        return sock, rest

    def has_network(self, name: str) -> bool:
        """Whether the engine has a network called ``name`` (``bridge`` is missing on an engine started
        with ``--bridge=none``, where BuildKit's default network mode fails)."""
        with _engine_errors():
            return any(network.get("Name") == name for network in self._api.networks(names=[name]))

    # --- images ---

    def inspect_image(self, reference: str) -> dict:
        """The engine's inspect of image ``reference`` (name, tag or id).

        Raises:
            NotFound: no such image (nothing is pulled). EngineRefused: any other refusal.
        """
        with _engine_errors():
            return self._api.inspect_image(reference)

    def list_images(self) -> list[dict]:
        """The image summaries, as ``GET /images/json`` lists them (``Id``, ``RepoTags``, ``Created``...)."""
        with _engine_errors():
            return self._api.images()

    def image_tags(self) -> list[str]:
        """Every tag of every image on the engine, sorted (``<none>:<none>`` left out)."""
        return sorted({tag for image in self.list_images() for tag in image.get("RepoTags") or ()
                       if tag != "<none>:<none>"})

    def image_history(self, image: str) -> list[dict]:
        """The layers of ``image``, newest first, as ``GET /images/{id}/history`` lists them.

        Raises:
            NotFound: no such image. EngineRefused: any other refusal.
        """
        with _engine_errors():
            return self._api.history(image)

    def save_image(self, image: str) -> Iterator[bytes]:
        """The chunks of ``docker save`` of ``image`` (a tar stream, ``GET /images/{id}/get``).

        Raises:
            NotFound: no such image. EngineRefused: any other refusal.
        """
        with _engine_errors():
            return self._api.get_image(image)

    def save_images(self, images: list[str]) -> Iterator[bytes]:
        """The chunks of one ``docker save`` of several images (``GET /images/get?names=...``): layers
        they share are in it once, and the engine prepares it once.

        Raises:
            NotFound: no such image. EngineRefused: any other refusal.
        """
        with _engine_errors():
            response = self._api._get(self._api._url("/images/get"), params={"names": list(images)}, stream=True)
            return self._api._stream_raw_result(response, 2 * 1024 * 1024, False)

    def pull_image(self, reference: str, auth_config: dict | None = None) -> Iterator[dict]:
        """Pull ``reference``: the engine's progress messages, decoded, as they come.

        Args:
            auth_config: the registry credentials to send (``{"username", "password"}``, as
                :meth:`registry_auth` gives them); None sends what docker-py read from config.json when
                it connected.
        Raises:
            EngineRefused: the engine refused, or a message reported an error (unreachable registry,
            unknown image, wrong credentials).
        """
        with _engine_errors():
            messages = self._api.pull(reference, stream=True, decode=True, auth_config=auth_config)
        for message in messages:
            if isinstance(message, dict) and message.get("error"):
                raise EngineRefused(str(message["error"]))
            yield message

    def push_image(self, reference: str, auth_config: dict | None = None) -> Iterator[dict]:
        """Push ``reference`` (``registry/name:tag``; the tag defaults to latest) to its registry: the
        engine's progress messages, decoded, as they come, errors included (``{"error": ...}``).

        Args:
            auth_config: the registry credentials to send, as for :meth:`pull_image`.
        Raises:
            EngineRefused: the engine refused the request (no such local image, a bad name).
        """
        repository, tag = docker.utils.parse_repository_tag(reference)
        with _engine_errors():
            messages = self._api.push(repository, tag or "latest", stream=True, decode=True,
                                      auth_config=auth_config)
        yield from messages

    def registry_auth(self, registry: str) -> dict | None:
        """The credentials docker's config.json holds for ``registry`` (``host:port``), as ``docker login``
        stored them (plain ``auths`` entries or a credential helper), read afresh at each call so that a
        ``docker login`` made meanwhile counts. None when it holds none."""
        config = docker.auth.load_config(credstore_env=self._api.credstore_env)
        found = config.resolve_authconfig(registry)
        return dict(found) if found else None

    def login(self, registry: str, username: str, password: str) -> None:
        """Check ``username`` and ``password`` with ``registry`` through the engine (``POST /auth``),
        then store them in docker's config.json as ``docker login`` does: the file is
        ``$DOCKER_CONFIG/config.json`` (else ``~/.docker/config.json``), written with mode 0600; with a
        ``credsStore`` set there, the credential goes to that helper instead.

        Raises:
            EngineRefused: the registry refused the credentials (status_code 401) or could not be reached.
        """
        try:
            self._api.login(username, password, registry=registry, reauth=True)
        except docker.errors.APIError as error:
            explanation = _explanation(error)
            refused = "401" in explanation or "unauthorized" in explanation.lower()
            raise EngineRefused(explanation, status_code=401 if refused else error.status_code) from None
        _store_credentials(registry, username, password)

    def tag_image(self, image: str, repository: str, tag: str) -> None:
        """Tag ``image`` as ``repository:tag``, taking the tag from any image that had it.

        Raises:
            NotFound: no such image. EngineRefused: any other refusal.
        """
        with _engine_errors():
            self._api.tag(image, repository, tag, force=True)

    def remove_image(self, reference: str, force: bool = False) -> list[dict]:
        """Remove image ``reference`` (``docker rmi``).

        Returns:
            The engine's answers: ``{"Untagged": name}`` and ``{"Deleted": id}`` items.
        Raises:
            NotFound: no such image. EngineRefused: refused (a container uses it, without ``force``).
        """
        with _engine_errors():
            return self._api.remove_image(reference, force=force) or []

    def commit_container(self, container_id: str, repository: str, tag: str, message: str | None = None,
                         author: str | None = None, changes: list[str] | None = None,
                         pause: bool = True, config: dict | None = None) -> str:
        """Commit container ``container_id`` as ``repository:tag`` (``docker commit``).

        ``config``: the new image's config in place of the container's (Docker; Podman ignores it).

        Returns:
            The new image's id (Docker: ``sha256:<hex>``; Podman: the bare hex).
        Raises:
            NotFound: no such container. EngineRefused: any other refusal.
        """
        with _engine_errors():
            answer = self._api.commit(container_id, repository=repository, tag=tag, message=message,
                                      author=author, changes=changes, pause=pause, conf=config)
        return answer["Id"]

    # --- containers ---

    def inspect_container(self, name: str) -> dict:
        """The engine's inspect of container ``name`` (a name or an id).

        Raises:
            NotFound: no such container, or a name the engine cannot read. EngineRefused: any other refusal.
        """
        try:
            with _engine_errors():
                return self._api.inspect_container(name)
        except EngineRefused as error:
            if error.status_code == 400:  # "Bad Name!": still no such container to a user
                raise NotFound(error.explanation) from None
            raise

    def list_containers(self, all: bool = False) -> list[dict]:
        """The container summaries as ``docker ps`` lists them (with ``all``, stopped ones too)."""
        with _engine_errors():
            return self._api.containers(all=all)

    def create_container(self, image: str, *, command=None, name: str | None = None, environment=None,
                         working_dir: str | None = None, user: str | None = None, entrypoint=None,
                         stdin_open: bool = False, labels: dict | None = None, binds: list | None = None,
                         network_mode: str | None = None, auto_remove: bool = False) -> str:
        """Create (not start) a container from ``image``, without a terminal.

        Args:
            command, entrypoint: lists, or None for the image's own.
            binds: ``"SRC:DST:MODE"`` strings; network_mode: host, none, bridge or a network's name;
            auto_remove: the engine removes the container when it exits.
        Returns:
            The new container's id.
        Raises:
            NotFound: no such image. EngineRefused: any other refusal (a name in use, a bad option).
        """
        with _engine_errors():
            host_config = self._api.create_host_config(binds=binds or None, network_mode=network_mode,
                                                       auto_remove=auto_remove)
            created = self._api.create_container(
                image, command=command, name=name, environment=environment or None, working_dir=working_dir,
                user=user or None, entrypoint=entrypoint, detach=True, stdin_open=stdin_open, tty=False,
                host_config=host_config, labels=labels)
        return created["Id"]

    def start_container(self, container_id: str) -> None:
        """Start a created container.

        Raises:
            NotFound: no such container. EngineRefused: the program cannot start (missing, not executable).
        """
        with _engine_errors():
            self._api.start(container_id)

    def attach_container(self, container_id: str) -> EngineSocket:
        """Attach to a container's stdout and stderr (attach before starting, to miss no byte).

        Returns:
            An :class:`EngineSocket` carrying the engine's multiplexed stream.
        Raises:
            NotFound: no such container. EngineRefused: refused (Podman prepares the process here).
        """
        with _engine_errors():
            hijacked = self._api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1})
        return EngineSocket(hijacked)

    def wait_container(self, container_id: str) -> int:
        """Wait for a container to exit. Returns its exit code (-1 when the engine names none)."""
        with _engine_errors():
            return self._api.wait(container_id).get("StatusCode", -1)

    def stop_container(self, container_id: str, timeout: int) -> None:
        """Stop a container: SIGTERM, then SIGKILL after ``timeout`` seconds.

        Raises:
            NotFound: no such container. EngineRefused: any other refusal.
        """
        with _engine_errors():
            self._api.stop(container_id, timeout=timeout)

    def kill_container(self, container_id: str) -> None:
        """SIGKILL a container's main process; nothing happens if it is not running (never raises
        for that)."""
        try:
            with _engine_errors():
                self._api.kill(container_id)
        except (NotFound, EngineRefused):
            pass  # it exited already

    def remove_container(self, container_id: str) -> bool:
        """Remove a container, running or not (``docker rm -f``); one already gone or being removed is
        not an error.

        Returns:
            True when this call removed it; False when it was already gone or being removed.
        Raises:
            EngineRefused: any other refusal.
        """
        try:
            with _engine_errors():
                self._api.remove_container(container_id, force=True)
            return True
        except NotFound:
            return False
        except EngineRefused as error:
            if "already in progress" not in str(error):
                raise
            return False

    def container_changes(self, container_id: str) -> list[dict]:
        """The container's changes against its image (``GET /containers/{id}/changes``): ``{"Kind": 0|1|2,
        "Path": ...}`` items (changed, added, deleted), in the engine's order.

        Raises:
            NotFound: no such container. EngineRefused: the engine cannot list them.
        """
        with _engine_errors():
            return self._api.diff(container_id) or []

    def export_container(self, container_id: str, chunk_size: int = 2 * 1024 * 1024) -> Iterator[bytes]:
        """The chunks of a tar of the container's whole filesystem (``docker export``).

        Raises:
            NotFound: no such container. EngineRefused: any other refusal.
        """
        with _engine_errors():
            return self._api.export(container_id, chunk_size=chunk_size)

    def get_archive(self, container_id: str, path: str) -> Iterator[bytes]:
        """The chunks of a tar of ``path`` in the container (its member names start with the path's
        own name).

        Raises:
            NotFound: no such container or path. EngineRefused: any other refusal.
        """
        with _engine_errors():
            chunks, _ = self._api.get_archive(container_id, path)
        return chunks

    def stat_path(self, container_id: str, path: str) -> dict | None:
        """The stat of ``path`` in the container (``name``, ``size``, ``mode`` as Go's FileMode...),
        without its contents (``HEAD /containers/{id}/archive``), or None when the path is gone.

        Raises:
            EngineRefused: refused (no such container, among others).
        """
        # docker-py has no method for it; get_archive would start streaming the file.
        response = self._api.head(self._api._url("/containers/{0}/archive", container_id),
                                  params={"path": path})
        if response.status_code == 404:
            return None
        with _engine_errors():
            self._api._raise_for_status(response)
        header = response.headers.get("X-Docker-Container-Path-Stat")
        return docker.utils.decode_json_header(header) if header else None

    # --- processes in a running container ---

    def exec_socket(self, container_id: str, command: list[str]) -> tuple[str, EngineSocket]:
        """Start ``command`` in a running container with stdin open and no terminal (``docker exec -i``).

        Returns:
            ``(exec id, EngineSocket)``: write to the socket for its stdin, read its multiplexed output.
        Raises:
            NotFound: no such container. EngineRefused: refused (a stopped container, among others).
        """
        with _engine_errors():
            exec_id = self._api.exec_create(container_id, command, stdin=True, stdout=True, stderr=True,
                                            tty=False)["Id"]
            hijacked = self._api.exec_start(exec_id, socket=True)
        return exec_id, EngineSocket(hijacked)

    def exec_run(self, container_id: str, command: list[str]) -> None:
        """Run ``command`` in a running container and wait for it to end (its output is dropped).

        Raises:
            NotFound: no such container. EngineRefused: refused (a stopped container, among others).
        """
        with _engine_errors():
            exec_id = self._api.exec_create(container_id, command, stdout=True, stderr=True)
            self._api.exec_start(exec_id["Id"])

    def inspect_exec(self, exec_id: str) -> dict:
        """The state of an exec (``Running``, ``ExitCode``...).

        Raises:
            NotFound: no such exec. EngineRefused: any other refusal.
        """
        with _engine_errors():
            return self._api.exec_inspect(exec_id)


class BuildStream:
    """The answer to a build request: iterate it for the engine's decoded JSON messages; ``close()`` ends
    the request (the engine then cancels the build). Usable in a ``with``."""

    def __init__(self, response):
        self._response = response

    def __iter__(self) -> Iterator[object]:
        return json_messages(self._response.iter_lines(chunk_size=65536))

    def close(self) -> None:
        try:
            self._response.close()
        except Exception:  # already closed, or the connection is gone: nothing more to release
            pass

    def __enter__(self) -> BuildStream:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


def json_messages(lines) -> Iterator[object]:
    """Decoded JSON objects from a stream's lines (bytes), as they arrive: one a line, or several glued
    together; what is not JSON comes as ``{"stream": text}``."""
    if hasattr(lines, "iter_lines"):  # a response
        lines = lines.iter_lines(chunk_size=65536)
    decoder = json.JSONDecoder()
    for line in lines:
        if not line:
            continue
        text = line.decode("utf-8", errors="replace")
        try:
            yield json.loads(text)
            continue
        except ValueError:
            pass
        position = 0
        while position < len(text):
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            try:
                message, position = decoder.raw_decode(text, position)
            except ValueError:
                yield {"stream": text[position:] + "\n"}
                break
            yield message


class EngineSocket:
    """A connection the engine hijacked for a container's or an exec's streams.

    ``sock`` is the socket itself (``recv``, ``sendall``, ``settimeout``); ``close()`` releases it."""

    def __init__(self, hijacked):
        self._hijacked = hijacked
        # docker-py returns a SocketIO on unix/http, an SSLSocket already on a TLS engine.
        self.sock = getattr(hijacked, "_sock", hijacked)

    def close(self) -> None:
        for thing in (self.sock, self._hijacked):
            try:
                thing.close()
            except Exception:  # already closed or broken: nothing more to release
                pass


@contextmanager
def _engine_errors():
    """docker-py's refusals as dockmagic's errors, each with the engine's own words."""
    try:
        yield
    except docker.errors.NotFound as error:
        raise NotFound(_explanation(error)) from None
    except docker.errors.APIError as error:
        raise EngineRefused(_explanation(error), status_code=error.status_code) from None


def _store_credentials(registry: str, username: str, password: str) -> None:
    """Keep a registry credential where ``docker login`` keeps it: a credential helper named by
    ``credsStore``, else base64 ``user:password`` under ``auths`` in config.json (mode 0600)."""
    import base64

    from docker.utils.config import DOCKER_CONFIG_FILENAME, config_path_from_environment, home_dir

    path = config_path_from_environment() or os.path.join(home_dir(), DOCKER_CONFIG_FILENAME)
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        config = {}
    helper = (config.get("credHelpers") or {}).get(registry) or config.get("credsStore")
    if helper:
        import docker.credentials

        docker.credentials.Store(helper).store(server=registry, username=username, secret=password)
        return
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    config.setdefault("auths", {})[registry] = {"auth": token}
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent="\t")
    os.replace(temporary, path)


def _explanation(error: docker.errors.APIError) -> str:
    text = getattr(error, "explanation", None) or str(error)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return str(text).strip()


class _APIClient(docker.APIClient):
    """docker-py's low-level client, keeping the engine's own CA (DOCKER_CERT_PATH/ca.pem) over TLS.

    requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace a session's CA file when a request names none
    (docker/docker-py#2433, psf/requests#5209): with either set (conda, corporate proxies, CI machines) every
    TLS engine failed "certificate verify failed" although DOCKER_CERT_PATH was right. The docker CLI ignores
    those variables; so does this client for the engine's CA (proxies from the environment still apply).
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if url.startswith("http+docker://"):
            # A unix socket or an ssh channel: no proxy applies, and looking them up in the environment is
            # a good part of each small request's cost.
            return {"proxies": merge_setting(proxies, self.proxies), "stream": merge_setting(stream, self.stream),
                    "verify": merge_setting(verify, self.verify), "cert": merge_setting(cert, self.cert)}
        if verify is None and self.verify is not True:  # a CA file, or False (TLS without verifying)
            verify = self.verify
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


class _DockerClient(docker.DockerClient):
    def __init__(self, *args, **kwargs):  # docker.DockerClient's own __init__, with the client above
        self.api = _APIClient(*args, **kwargs)


def _open(address: str, timeout: float, choice: EngineChoice | None = None) -> Engine:
    """A client for ``address``, asked for the engine's version within ``timeout`` seconds.

    TLS comes from the context when ``choice`` is a context's, else from DOCKER_TLS_VERIFY/DOCKER_CERT_PATH
    (as the docker CLI does: those variables belong to the default context). An ``ssh://`` address goes
    through docker-py's paramiko transport, which reads ~/.ssh/config (HostName, Port, User, IdentityFile)
    and ~/.ssh/known_hosts (an unknown host is refused, never trusted on first use); its TCP connection
    is checked first, because docker-py gives paramiko no connect timeout.
    """
    if choice is not None and choice.context != DEFAULT_CONTEXT:
        kwargs = {"base_url": address, "tls": choice.tls or False}
    else:
        kwargs = kwargs_from_env(environment=dict(os.environ, DOCKER_HOST=address))
    if address.startswith("ssh://"):
        _check_ssh_reachable(address, timeout)
        # Every request, and every attached container or exec, is one ssh session (a channel running
        # dial-stdio), and sshd allows 10 per connection by default (MaxSessions). docker-py's ssh transport
        # keeps a pool of idle sessions per URL path (9 pools of 10): a few pools of one session each stay
        # under it, and still spare the common requests a new session (a new dial-stdio on the server).
        kwargs.update(num_pools=SSH_IDLE_SESSIONS, max_pool_size=1)
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
        context=choice.context if choice else DEFAULT_CONTEXT,
        chosen_by=choice.source if choice else "",
    )


def _ssh_endpoint(address: str) -> tuple[str, int] | None:
    """The host and port an ``ssh://`` address reaches, after ~/.ssh/config's HostName and Port (as
    docker-py's paramiko transport reads them); None when a ProxyCommand reaches it instead."""
    try:
        import paramiko  # docker-py's ssh transport needs it too
    except ImportError:
        return None  # docker-py then says to install it
    parsed = urllib.parse.urlsplit(address)
    host, port = parsed.hostname or "", parsed.port
    config_file = os.path.expanduser("~/.ssh/config")
    if os.path.exists(config_file):
        with open(config_file) as handle:
            config = paramiko.SSHConfig()
            config.parse(handle)
        found = config.lookup(host)
        if "proxycommand" in found:
            return None
        if port is None and "port" in found:
            port = int(found["port"])
        host = found.get("hostname", host)
    return host, port or 22


def _check_ssh_reachable(address: str, timeout: float) -> None:
    """Raise OSError unless the ssh server of ``address`` accepts a TCP connection within ``timeout``."""
    endpoint = _ssh_endpoint(address)
    if endpoint is not None:
        socket.create_connection(endpoint, timeout=timeout).close()


# Engines already connected, by address: a magic reuses its engine once it is seen to be still there.
_connected: dict[tuple, Engine] = {}


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
            if engine.remove_container(container_id):
                removed.append(container_id)
        except Exception:  # still unreachable, or busy: try again next time
            continue
        pending.discard(container_id)
    if removed:
        notify(f"dockmagic: removed {len(removed)} container(s) left by an operation the engine's stop "
               f"interrupted: {', '.join(c[:12] for c in removed)}")


def connect(docker_host: str | None = None, timeout: float = CONNECT_TIMEOUT_SECONDS) -> Engine:
    """Connect to the engine :func:`choose` names: ``docker_host``, DOCKER_HOST, a Docker context, or the
    first local socket that answers.

    Raises :class:`EngineUnavailable` (within about ``timeout`` seconds per address) saying what was tried.
    """
    choice = choose(docker_host)
    candidates = choice.hosts
    tls = (tuple(os.environ.get(name, "") for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")),
           choice.context, choice.tls_folder)
    for address in candidates:
        engine = _connected.get((address, tls))
        if engine is not None:
            if engine.still_there(timeout):
                _remove_pending(engine)
                return engine
            _connected.pop((address, tls), None)
    tried = []
    for address in candidates:
        if address.startswith("unix://") and not os.path.exists(address[len("unix://"):]):
            tried.append(f"{address} (no such socket)")
            continue
        try:
            engine = _open(address, timeout, choice)
            _connected[(address, tls)] = engine
            _remove_pending(engine)
            return engine
        except Exception as error:  # docker-py's errors, and requests/urllib3 errors that it does not wrap
            where = f"{address} ({choice.source})"
            problem = (_ssh_problem(error, where) if address.startswith("ssh://")
                       else _tls_problem(error, where, choice.tls_folder))
            if problem:  # the engine was reached (or TLS was misconfigured): that, not "nothing answered"
                raise EngineUnavailable(problem) from None
            tried.append(f"{address} ({failure_reason(error)})")
    raise EngineUnavailable(_unavailable_message(choice, tried))


def _ssh_problem(error: Exception, address: str) -> str | None:
    """A short message for an ssh engine that was reached but refused this client (a key it does not
    accept, a host key not in known_hosts), or None."""
    kind = type(error).__name__
    text = str(error)
    if kind in ("AuthenticationException", "BadAuthenticationType", "PasswordRequiredException"):
        return (f"The ssh server of the engine at {address} refused this client's key ({text.rstrip('.')}): "
                "name the right key with IdentityFile in ~/.ssh/config, or add it to ssh-agent, and check "
                "that its public key is in the server's authorized_keys.")
    if "not found in known_hosts" in text:
        return (f"The ssh server of the engine at {address} is not in ~/.ssh/known_hosts, and an unknown "
                "host is never trusted: connect once with `ssh` to check and record its key, then try again.")
    if kind == "BadHostKeyException":
        return (f"The ssh server of the engine at {address} has a host key other than the one in "
                "~/.ssh/known_hosts: if the server's key was changed on purpose, update known_hosts.")
    if "dial-stdio" in text or "docker: not found" in text:
        return (f"The ssh server at {address} cannot run `docker system dial-stdio`: the docker CLI must be "
                "installed on that machine, on the PATH of ssh sessions.")
    return None


def _tls_problem(error: Exception, address: str, context_folder: str | None = None) -> str | None:
    """A short message for a TLS mismatch between this client and the engine at ``address``, or None.

    docker-py reports these as a wall of urllib3 text ("HTTPSConnectionPool(...): Max retries exceeded
    ... SSLError(SSLCertVerificationError(...")); the user needs to know which side refused what.
    ``context_folder``: the TLS material of the Docker context in use, which then replaces DOCKER_CERT_PATH.
    """
    text = str(error).lower()
    if context_folder:
        folder = context_folder
        fix = ("update the context's certificates (`docker context update NAME --docker "
               "host=...,ca=...,cert=...,key=...`).")
    else:
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


def failure_reason(error: BaseException) -> str:
    """A few words saying why a request to the engine failed ("connection refused", "timed out"...),
    out of the wall of text docker-py, requests and urllib3 make of it."""
    text = str(error).lower()
    for marker in _FAILURE_MARKERS:
        if marker.lower() in text:
            return "TLS certificate not trusted" if marker == "certificate verify failed" else marker.lower()
    return str(error).splitlines()[0][:160] if text else type(error).__name__


# In order: a message often holds several ("Connection aborted ... Connection refused").
_FAILURE_MARKERS = ("Connection refused", "timed out", "Connection reset", "No such file", "Permission denied",
                    "certificate verify failed", "wrong version number", "Broken pipe", "IncompleteRead",
                    "Connection broken", "Connection aborted", "Name or service not known",
                    "nodename nor servname")


def _unavailable_message(choice: EngineChoice, tried: list[str]) -> str:
    source = "DockMagic.docker_host" if choice.source.startswith("%config") else choice.source
    return (
        f"No container engine answered. Tried {source}: {'; '.join(tried)}. "
        "Start Docker (dockerd) or Podman ('podman system service'), or point DOCKER_HOST "
        "(or %config DockMagic.docker_host) at a running engine, e.g. unix:///var/run/docker.sock "
        "or tcp://host:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH."
    )
