"""Containers: run a program, start one for interactive work, stop, remove, list; images: list, remove.

Plain Python (no IPython): ``run("busybox", ["echo", "hi"])`` works from a script. Every function
checks names and options before sending anything, looks the container or image up first so a typo is a
clear :class:`NotFound`, and leaves nothing behind when it fails.
"""

from __future__ import annotations

import codecs
import os
import posixpath
import socket
import ssl
import struct
import sys
from collections import deque
from dataclasses import dataclass, field

import docker

from ..engine import Engine, connect, is_connection_lost, remove_when_back
from ..errors import ContainerError, DockmagicError, EngineConnectionLost, Interrupted, NotFound
from ..views.display import TextAndHtml, escape
from ..views.tables import Table, containers_table, images_table
from ..parsing.image_names import docker_image_id, familiar_image_name
from .names import check_container_name, check_image_reference

# How much of a program's output a result keeps (the end of it): enough for any error message, bounded
# for a program that prints millions of lines. The whole output is still streamed to the cell.
OUTPUT_TAIL_BYTES = 256 * 1024

STOP_TIMEOUT_SECONDS = 10
# A %docker_start container's main process is an idle shell, which ignores SIGTERM as PID 1: waiting
# the full 10 s would change nothing (docker stop never signals the session's other processes).
SESSION_STOP_TIMEOUT_SECONDS = 1

# Commands that keep a container alive for %docker_start when stdin is open and nobody writes to it.
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"}

LABEL = "dockmagic"


# --- Looking things up -------------------------------------------------------------------------------

def find_container(engine: Engine, name: str) -> dict:
    """The engine's ``inspect`` of container ``name`` (a name or an id), or a clear NotFound."""
    check_container_name(name)
    try:
        return engine.api.inspect_container(name)
    except docker.errors.NotFound:
        raise NotFound(
            f"No container named {name!r} on {engine.describe()}. See the containers with %docker_ps -a; "
            f"start one with %docker_start IMAGE --name {name}."
        ) from None


def find_image(engine: Engine, reference: str) -> dict:
    """The engine's ``inspect`` of image ``reference``, or a clear NotFound (nothing is pulled)."""
    check_image_reference(reference)
    try:
        return engine.api.inspect_image(reference)
    except docker.errors.NotFound:
        raise NotFound(_missing_image_message(engine, reference)) from None


def _missing_image_message(engine: Engine, reference: str, pull_error: str = "") -> str:
    pulled = f" and pulling it failed ({pull_error})" if pull_error else ""
    return (
        f"Image {reference!r} is not on {engine.describe()}{pulled}. See the local images with "
        "%docker_images; build one with %%dockerfile, or pull it with docker pull where a registry "
        "is reachable."
    )


def ensure_image(engine: Engine, reference: str, notify=None) -> dict:
    """Inspect ``reference``; only when it is absent, try one pull (as ``docker run`` does), saying so
    on ``notify`` (a text stream, default sys.stderr)."""
    check_image_reference(reference)
    try:
        return engine.api.inspect_image(reference)
    except docker.errors.NotFound:
        pass
    if "@" not in reference and ":" not in reference.rsplit("/", 1)[-1]:
        reference_to_pull = reference + ":latest"
    else:
        reference_to_pull = reference
    notify = notify or sys.stderr
    notify.write(f"Unable to find image {reference_to_pull!r} locally: pulling it\n")
    notify.flush()
    try:
        # Streamed so that an interrupt stops it; an unreachable registry fails within a moment.
        for message in engine.api.pull(reference_to_pull, stream=True, decode=True):
            if isinstance(message, dict) and message.get("error"):
                raise docker.errors.APIError(message["error"])
        return engine.api.inspect_image(reference_to_pull)
    except KeyboardInterrupt:
        # The interrupted request's connection is dropped. The engine may go on trying the registry until
        # its own timeout (Docker: 10 s for a TLS handshake), but nothing of it reaches this run.
        raise Interrupted(
            f"Interrupted while pulling {reference_to_pull!r}: dockmagic stopped waiting for the engine; "
            "nothing was pulled and no container was made."
        ) from None
    except docker.errors.APIError as error:
        reason = error.explanation if isinstance(getattr(error, "explanation", None), str) else str(error)
        raise NotFound(_missing_image_message(engine, reference, _first_line(reason))) from None


def _first_line(text: str, limit: int = 200) -> str:
    text = (text or "").strip()
    return text.splitlines()[0][:limit] if text else ""


def _api_error_text(error: docker.errors.APIError) -> str:
    explanation = getattr(error, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return _first_line(explanation or str(error), 300)


# --- Options as the CLI writes them --------------------------------------------------------------------

def parse_environment(pairs) -> dict[str, str]:
    """``["K=V", "K"]`` as a dict; a bare ``K`` takes its value from this process's environment, as
    ``docker run -e K`` does (and is left out when unset)."""
    environment = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not key or any(c.isspace() for c in key):
            raise DockmagicError(f"-e {pair!r} is not KEY=VALUE. Write it as e.g. -e NAME=value.")
        if sep:
            environment[key] = value
        elif key in os.environ:
            environment[key] = os.environ[key]
    return environment


def parse_volumes(specs) -> list[str]:
    """``["SRC:DST[:ro|rw]"]`` as engine binds. A relative SRC path is made absolute from the current
    folder (the engine needs absolute paths); a SRC without ``/`` names a volume."""
    binds = []
    for spec in specs or ():
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise DockmagicError(
                f"-v {spec!r} is not SRC:DST. Write it as e.g. -v ./data:/data or -v ./data:/data:ro."
            )
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else "rw"
        if mode not in ("ro", "rw"):
            raise DockmagicError(f"-v {spec!r}: the mode after the second ':' must be ro or rw, not {mode!r}.")
        if not target.startswith("/"):
            raise DockmagicError(f"-v {spec!r}: the path in the container ({target!r}) must be absolute.")
        if source.startswith((".", "~")) or "/" in source:
            source = os.path.abspath(os.path.expanduser(source))
        binds.append(f"{source}:{target}:{mode}")
    return binds


def note_remote_binds(engine: Engine, binds: list[str], notify=None) -> None:
    """Say, before running, that a bind mount's source is a folder of the engine's machine when the
    engine is elsewhere (a remote DOCKER_HOST): Docker makes a missing one there, empty, without a word."""
    folders = [bind.split(":")[0] for bind in binds if bind.startswith("/")]
    if not folders or engine.is_on_this_machine:
        return
    notify = notify or sys.stderr
    notify.write(
        f"note: the engine at {engine.address} runs on another machine: -v mounts "
        f"{', '.join(folders)} from that machine, not from this one (made there, empty, if missing). "
        "To bring files from here, COPY them in a %%dockerfile build.\n")
    notify.flush()


def check_network(network: str | None) -> str | None:
    if network is None or network == "":
        return None
    if not all(c.isalnum() or c in "_.-:" for c in network):
        raise DockmagicError(
            f"--network {network!r} is not a network mode. Use host, none, bridge or a network's name."
        )
    return network


def _check_free_name(engine: Engine, name: str | None) -> None:
    if name is None:
        return
    check_container_name(name)
    try:
        existing = engine.api.inspect_container(name)
    except docker.errors.NotFound:
        return
    raise DockmagicError(
        f"A container named {name!r} already exists ({existing['State'].get('Status', '?')}). Pick another "
        f"--name, or remove it with %docker_rm -f {name}."
    )


# --- Results ---------------------------------------------------------------------------------------

@dataclass
class ContainerInfo(TextAndHtml):
    """A container as a user sees it: ``name``, ``id`` (full), ``image``, ``state``, and ``attrs`` (the
    engine's inspect). Its text form is one line: name, short id, image, state."""

    name: str
    id: str
    image: str
    state: str
    exit_code: int | None = None
    attrs: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_inspect(cls, attrs: dict) -> "ContainerInfo":
        state = attrs.get("State", {})
        exit_code = state.get("ExitCode") if state.get("Status") == "exited" else None
        return cls(
            name=attrs.get("Name", "").lstrip("/"),
            id=attrs.get("Id", ""),
            image=familiar_image_name(attrs.get("Config", {}).get("Image", "")),
            state=state.get("Status", "?"),
            exit_code=exit_code,
            attrs=attrs,
        )

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def _state_text(self) -> str:
        return f"{self.state} ({self.exit_code})" if self.exit_code is not None else self.state

    def _text(self) -> str:
        return f"{self.name}  {self.short_id}  {self.image}  {self._state_text()}"

    def _html(self) -> str:
        return (
            '<div class="dockmagic-container"><b>container</b> '
            f"<code>{escape(self.name)}</code> <code>{escape(self.short_id)}</code> from "
            f"<code>{escape(self.image)}</code>: {escape(self._state_text())}</div>"
        )


@dataclass
class RunResult(TextAndHtml):
    """A finished ``run``: ``exit_code``, ``output`` (the last :data:`OUTPUT_TAIL_BYTES` of stdout and
    stderr as they came, decoded), ``container_id``, ``image``, ``command`` and ``removed``."""

    exit_code: int
    output: str
    container_id: str
    image: str
    command: list
    removed: bool
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def _text(self) -> str:
        kept = "removed" if self.removed else "kept"
        note = f" (last {len(self.output)} characters kept)" if self.truncated else ""
        return (
            f"{_command_text(self.command) or '(image default command)'} in {self.image} exited with code "
            f"{self.exit_code}; container {self.container_id[:12]} {kept}{note}"
        )


@dataclass
class Removed(TextAndHtml):
    """What a removal removed, one line each as the docker CLI prints them."""

    lines: list[str]

    def _text(self) -> str:
        return "\n".join(self.lines)


def _command_text(command) -> str:
    import shlex

    return " ".join(shlex.quote(part) for part in command or ())


# --- Streams ---------------------------------------------------------------------------------------

def raw_socket(hijacked):
    """The socket under what docker-py returns for a hijacked connection (a SocketIO on unix/http, an
    SSLSocket already on a TLS engine)."""
    return getattr(hijacked, "_sock", hijacked)


class FrameReader:
    """Reads the engine's multiplexed stream (8-byte header: stream number, size; then the payload) from
    a hijacked socket, in big reads: one ``recv`` often holds many frames."""

    STDOUT, STDERR = 1, 2

    def __init__(self, sock):
        self.sock = sock
        self._buffer = bytearray()
        self._start = 0
        self.eof = False

    def _frame_in_buffer(self):
        available = len(self._buffer) - self._start
        if available < 8:
            return None
        stream, size = struct.unpack_from(">BxxxL", self._buffer, self._start)
        if available < 8 + size:
            return None
        begin = self._start + 8
        payload = bytes(self._buffer[begin:begin + size])
        self._start = begin + size
        if self._start > 1 << 16:
            del self._buffer[:self._start]
            self._start = 0
        return stream, payload

    def buffered(self) -> bool:
        """True when a whole frame is already read and waiting (no need to flush what came before)."""
        available = len(self._buffer) - self._start
        if available < 8:
            return False
        return available >= 8 + struct.unpack_from(">BxxxL", self._buffer, self._start)[1]

    def read(self, timeout: float | None = None):
        """The next ``(stream, bytes)``; ``None`` when ``timeout`` seconds pass first or at end of stream
        (then ``.eof`` is True). Nothing read is lost when it times out."""
        while True:
            frame = self._frame_in_buffer()
            if frame is not None:
                return frame
            if self.eof:
                return None
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(1 << 16)
            except (socket.timeout, BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                # BlockingIOError (plain socket) or SSLWant*Error (a TLS engine): timeout 0 and nothing there.
                return None
            except OSError:  # the connection broke: as good as the end
                data = b""
            if not data:
                self.eof = True
                return None
            self._buffer += data


class OutputTail:
    """The last ``limit`` bytes of a stream, in bounded memory however much goes through."""

    def __init__(self, limit: int = OUTPUT_TAIL_BYTES):
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.truncated = False

    def add(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        while self._size - len(self._chunks[0]) >= self.limit:
            self._size -= len(self._chunks.popleft())
            self.truncated = True

    def text(self) -> str:
        data = b"".join(self._chunks)
        if len(data) > self.limit:
            data = data[-self.limit:]
            self.truncated = True
        return data.decode("utf-8", errors="replace")


class StreamWriter:
    """Writes a container's stdout/stderr bytes to text streams as they come (colours and partial lines
    kept), decoding UTF-8 that may be split across frames. Streams are flushed whenever the reader has
    nothing more waiting, so output shows at once but a burst costs one flush, not one per frame."""

    def __init__(self, stdout=None, stderr=None):
        self.streams = {FrameReader.STDOUT: stdout or sys.stdout, FrameReader.STDERR: stderr or sys.stderr}
        self.decoders = {number: codecs.getincrementaldecoder("utf-8")(errors="replace")
                         for number in self.streams}
        self._unflushed: set[int] = set()

    def write(self, stream_number: int, data: bytes, flush: bool = True) -> None:
        number = stream_number if stream_number in self.streams else FrameReader.STDOUT
        text = self.decoders[number].decode(data)
        if text:
            self.streams[number].write(text)
            self._unflushed.add(number)
        if flush:
            self.flush()

    def flush(self) -> None:
        for number in self._unflushed:
            self.streams[number].flush()
        self._unflushed.clear()

    def close(self) -> None:
        for number, decoder in self.decoders.items():
            rest = decoder.decode(b"", final=True)
            if rest:
                self.streams[number].write(rest)
                self._unflushed.add(number)
        self.flush()


# --- Operations ------------------------------------------------------------------------------------

def _checked_options(image, name, environment, volumes, network):
    """The options of a new container, checked before anything is sent: (environment, binds, network)."""
    environment = dict(environment) if isinstance(environment, dict) else parse_environment(environment)
    binds = parse_volumes(volumes)
    network = check_network(network)
    check_image_reference(image)
    if name is not None:
        check_container_name(name)
    return environment, binds, network


def run(
    image: str,
    command=None,
    *,
    name: str | None = None,
    environment=None,
    volumes=None,
    workdir: str | None = None,
    network: str | None = None,
    user: str | None = None,
    entrypoint: str | None = None,
    detach: bool = False,
    keep: bool = False,
    check: bool = True,
    stdout=None,
    stderr=None,
    output_limit: int = OUTPUT_TAIL_BYTES,
    engine: Engine | None = None,
):
    """Run ``command`` (a list, or the image's default) in a new container from ``image``, like
    ``docker run --rm``.

    The program's stdout and stderr are written to ``stdout``/``stderr`` (default ``sys.stdout`` and
    ``sys.stderr``) as they come. The container is removed afterwards unless ``keep``. Returns a
    :class:`RunResult` whose ``.output`` keeps only the last ``output_limit`` bytes (256 KiB by default)
    of both streams, so a program printing millions of lines costs bounded memory. A non-zero exit raises
    :class:`ContainerError` (with ``.exit_code`` and ``.output``) unless ``check=False``. An interrupt
    (KeyboardInterrupt) kills the container, removes it (unless ``keep``) and is raised again.

    ``environment`` is ``{"K": "V"}`` or ``["K=V"]``, ``volumes`` ``["SRC:DST[:ro]"]``, ``entrypoint``
    one executable. With ``detach`` the container is started and returned (a :class:`ContainerInfo`)
    while it runs; it is removed when it exits unless ``keep``.

    An image that is not on the engine is pulled once (as ``docker run`` does); if that fails,
    :class:`NotFound` names the image and how to list local images.
    """
    command = list(command) if command else None
    environment, binds, network = _checked_options(image, name, environment, volumes, network)
    if workdir is not None and not workdir.startswith("/"):
        raise DockmagicError(f"-w {workdir!r}: the working directory must be an absolute path, e.g. /work.")
    engine = engine or connect()
    api = engine.api
    _check_free_name(engine, name)
    ensure_image(engine, image, notify=stderr)
    note_remote_binds(engine, binds, notify=stderr)

    host_config = api.create_host_config(binds=binds or None, network_mode=network,
                                         auto_remove=detach and not keep)
    try:
        created = api.create_container(
            image, command=command, name=name, environment=environment or None, working_dir=workdir,
            user=user or None, entrypoint=[entrypoint] if entrypoint else None, detach=detach,
            stdin_open=False, tty=False, host_config=host_config, labels={LABEL: "run"},
        )
    except docker.errors.APIError as error:
        raise DockmagicError(f"The engine refused to create the container: {_api_error_text(error)}") from None
    container_id = created["Id"]

    if detach:
        try:
            api.start(container_id)
        except docker.errors.APIError as error:
            _remove_quietly(api, container_id)
            raise _start_error(error, image, command) from None
        return ContainerInfo.from_inspect(api.inspect_container(container_id))

    tail = OutputTail(output_limit)
    writer = StreamWriter(stdout, stderr)
    removed = False
    try:
        # Attach before starting, so that not a byte of output is missed.
        try:
            hijacked = api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1})
        except docker.errors.APIError as error:
            # Podman prepares the container's process when attaching: a program the image lacks fails
            # here, not at the start. Never started: nothing worth keeping, even with keep.
            _remove_quietly(api, container_id)
            removed = True
            raise _start_error(error, image, command) from None
        sock = raw_socket(hijacked)
        try:
            try:
                api.start(container_id)
            except docker.errors.APIError as error:
                # Never started: nothing worth keeping, even with keep.
                _remove_quietly(api, container_id)
                removed = True
                raise _start_error(error, image, command) from None
            reader = FrameReader(sock)
            while True:
                frame = reader.read()
                if frame is None:
                    break
                stream_number, data = frame
                tail.add(data)
                writer.write(stream_number, data, flush=not reader.buffered())
            writer.close()
        finally:
            _close_socket(sock, hijacked)
        exit_code = api.wait(container_id).get("StatusCode", -1)
    except KeyboardInterrupt:
        if keep:
            _kill_quietly(api, container_id)
        else:
            _remove_quietly(api, container_id)
            removed = True
        what = "killed (kept: --keep)" if keep else "killed and removed"
        raise Interrupted(f"Interrupted: container {container_id[:12]} ({image}) was {what}.") from None
    except Exception as error:
        if not is_connection_lost(error):
            raise
        # The engine went away mid-run (a restart stops the container but keeps it): remove it once the
        # engine answers again, rather than leave it behind.
        if not keep:
            remove_when_back(engine, [container_id])
            removed = True
        later = "is removed when the engine answers again" if not keep else "was kept (--keep)"
        raise EngineConnectionLost(
            f"The container engine stopped answering while container {container_id[:12]} ({image}) ran. "
            f"The container {later}. Start the engine, then run the cell again."
        ) from None
    finally:
        if not keep and not removed:
            _remove_quietly(api, container_id)
            removed = True

    result = RunResult(exit_code=exit_code, output=tail.text(), container_id=container_id, image=image,
                       command=command or [], removed=not keep, truncated=tail.truncated)
    if check and exit_code != 0:
        raise run_failure(result)
    return result


def run_failure(result: RunResult) -> ContainerError:
    """The ContainerError for a run that exited with a non-zero code."""
    what = _command_text(result.command) or "The image's default command"
    error = ContainerError(f"{what} in {result.image} exited with code {result.exit_code}.",
                           exit_code=result.exit_code, output=result.output)
    error.result = result
    return error


def _start_error(error: docker.errors.APIError, image: str, command) -> ContainerError:
    text = _api_error_text(error)
    # The runtime refuses to start a program it cannot find or execute; the CLI exits 127/126 then.
    exit_code = 127 if ("not found" in text or "no such file" in text.lower()) else 126
    what = _command_text(command) or "the image's default command"
    return ContainerError(f"Could not start {what} in {image}: {text}", exit_code=exit_code, output="")


def _close_socket(sock, hijacked) -> None:
    for thing in (sock, hijacked):
        try:
            thing.close()
        except Exception:  # already closed or broken: nothing more to release
            pass


def _remove_quietly(api, container_id: str) -> None:
    try:
        api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        if "already in progress" not in str(error):
            raise


def _kill_quietly(api, container_id: str) -> None:
    try:
        api.kill(container_id)
    except docker.errors.APIError:
        pass  # it exited already


def start(
    image: str,
    *,
    name: str | None = None,
    network: str | None = None,
    environment=None,
    volumes=None,
    engine: Engine | None = None,
) -> ContainerInfo:
    """Start a long-lived container from ``image`` for interactive work (the notebook form of
    ``docker run -dit``) and return it.

    It stays alive the way ``docker run -i`` keeps a shell alive: stdin is held open and nobody writes to
    it. When the image's default command is a shell (debian's ``bash``, busybox's ``sh``) that command is
    kept, so a commit keeps the image's CMD; otherwise ``/bin/sh`` becomes the entrypoint. Run code in it
    with ``%%docker_shell NAME`` (or :func:`dockmagic.operations.shell.run_cell`).
    """
    environment, binds, network = _checked_options(image, name, environment, volumes, network)
    engine = engine or connect()
    api = engine.api
    _check_free_name(engine, name)
    image_attrs = ensure_image(engine, image)
    note_remote_binds(engine, binds)

    config = image_attrs.get("Config") or {}
    default = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
    keeps_running = (not config.get("Entrypoint") and len(config.get("Cmd") or []) == 1
                     and posixpath.basename(config["Cmd"][0]) in SHELLS)
    entrypoint = None if keeps_running else ["/bin/sh"]
    host_config = api.create_host_config(binds=binds or None, network_mode=network)
    try:
        created = api.create_container(
            image, name=name, environment=environment or None, entrypoint=entrypoint, detach=True,
            stdin_open=True, tty=False, host_config=host_config, labels={LABEL: "session"},
        )
    except docker.errors.APIError as error:
        raise DockmagicError(f"The engine refused to create the container: {_api_error_text(error)}") from None
    container_id = created["Id"]
    try:
        api.start(container_id)
        attrs = api.inspect_container(container_id)
    except docker.errors.APIError as error:
        _remove_quietly(api, container_id)
        what = "its default command" if keeps_running else "/bin/sh"
        raise DockmagicError(
            f"Could not start {image} with {what} ({_api_error_text(error)}). %docker_start needs an image "
            f"with a shell; the default command was {default or 'none'}."
        ) from None
    if attrs["State"].get("Status") != "running":
        _remove_quietly(api, container_id)
        raise DockmagicError(f"{image} exited at once (code {attrs['State'].get('ExitCode')}); it was removed.")
    return ContainerInfo.from_inspect(attrs)


def stop(name: str, *, timeout: int | None = None, engine: Engine | None = None) -> ContainerInfo:
    """Stop container ``name`` (SIGTERM, then SIGKILL after ``timeout`` seconds) and return it.
    ``timeout`` defaults to 10 s as ``docker stop``, and to 1 s for a container from :func:`start`."""
    engine = engine or connect()
    attrs = find_container(engine, name)
    if timeout is None:
        session = (attrs.get("Config", {}).get("Labels") or {}).get(LABEL) == "session"
        timeout = SESSION_STOP_TIMEOUT_SECONDS if session else STOP_TIMEOUT_SECONDS
    engine.api.stop(attrs["Id"], timeout=timeout)
    return ContainerInfo.from_inspect(engine.api.inspect_container(attrs["Id"]))


def remove(names, *, force: bool = False, engine: Engine | None = None) -> Removed:
    """Remove the containers ``names``. All are looked up first: an unknown name, or a running one
    without ``force``, is an error before anything is removed."""
    names = list(names)
    if not names:
        raise DockmagicError("Name at least one container to remove, e.g. %docker_rm play.")
    for name in names:
        check_container_name(name)
    engine = engine or connect()
    found = [find_container(engine, name) for name in names]
    running = [name for name, attrs in zip(names, found) if attrs["State"].get("Running")]
    if running and not force:
        raise DockmagicError(
            f"{', '.join(repr(n) for n in running)} {'is' if len(running) == 1 else 'are'} running: stop "
            f"{'it' if len(running) == 1 else 'them'} first with %docker_stop, or remove with %docker_rm -f. "
            "Nothing was removed."
        )
    for attrs in found:
        _remove_quietly(engine.api, attrs["Id"])
    return Removed(names)


def list_containers(*, all: bool = False, engine: Engine | None = None) -> Table:
    """The containers as ``docker ps`` shows them (with ``all``, stopped ones too)."""
    engine = engine or connect()
    return containers_table(engine.api.containers(all=all))


def list_images(*, engine: Engine | None = None) -> Table:
    """The images as ``docker images`` shows them."""
    engine = engine or connect()
    return images_table(engine.api.images())


def remove_images(references, *, force: bool = False, engine: Engine | None = None) -> Removed:
    """Remove the images ``references`` (names or ids). All are looked up first: an unknown one is an
    error before anything is removed. An image a container still uses is refused unless ``force``."""
    references = list(references)
    if not references:
        raise DockmagicError("Name at least one image to remove, e.g. %docker_rmi myimage:latest.")
    for reference in references:
        check_image_reference(reference)
    engine = engine or connect()
    for reference in references:
        find_image(engine, reference)
    lines = []
    for reference in references:
        try:
            answers = engine.api.remove_image(reference, force=force)
        except docker.errors.APIError as error:
            done = f" Removed before it: {', '.join(lines)}." if lines else ""
            raise DockmagicError(
                f"Could not remove image {reference!r}: {_api_error_text(error)}. Remove the containers "
                f"that use it (%docker_ps -a), or use %docker_rmi -f.{done}"
            ) from None
        for answer in answers or ():
            if "Untagged" in answer:
                lines.append(f"Untagged: {familiar_image_name(answer['Untagged'])}")
            if "Deleted" in answer:
                lines.append(f"Deleted: {docker_image_id(answer['Deleted'])}")
    return Removed(lines)
