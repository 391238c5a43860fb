"""Containers: run a program, start one for interactive work, stop, remove, list.

Plain Python (no IPython): ``run("busybox", ["echo", "hi"])`` works from a script. Every function
checks names and options before sending anything, looks the container or image up first so a typo is a
clear :class:`NotFound`, and leaves nothing behind when it fails.
"""

from __future__ import annotations

import posixpath
import shlex

from ..engine import Engine, connect, is_connection_lost, remove_when_back
from ..errors import (
    ContainerError,
    EngineConnectionLost,
    EngineRefused,
    Interrupted,
    InvalidInput,
    NotFound,
    first_line,
)
from ..views.tables import Table, containers_table
from .container_options import checked_options, note_remote_binds
from .images import ensure_image, list_images, remove_images  # noqa: F401 (%docker_images, %docker_rmi use them here)
from .lookup import check_free_name, find_container
from .names import check_container_name, check_names
from .results import ContainerInfo, Removed, RunResult
from .streams import OUTPUT_TAIL_BYTES, FrameReader, OutputTail, StreamWriter

STOP_TIMEOUT_SECONDS = 10
# A %docker_start container's main process is an idle shell, which ignores SIGTERM as PID 1: waiting
# the full 10 s would change nothing (docker stop never signals the session's other processes).
SESSION_STOP_TIMEOUT_SECONDS = 1

# Commands that keep a container alive for %docker_start when stdin is open and nobody writes to it.
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"}

LABEL = "dockmagic"


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
    environment, binds, network = checked_options(image, name, environment, volumes, network)
    if workdir is not None and not workdir.startswith("/"):
        raise InvalidInput(f"-w {workdir!r}: the working directory must be an absolute path, e.g. /work.")
    engine = engine or connect()
    check_free_name(engine, name)
    ensure_image(engine, image, notify=stderr)
    note_remote_binds(engine, binds, notify=stderr)

    try:
        container_id = engine.create_container(
            image, command=command, name=name, environment=environment, working_dir=workdir, user=user,
            entrypoint=[entrypoint] if entrypoint else None, labels={LABEL: "run"}, binds=binds,
            network_mode=network, auto_remove=detach and not keep,
        )
    except (EngineRefused, NotFound) as error:
        raise EngineRefused(f"The engine refused to create the container: {_refusal_text(error)}") from None

    if detach:
        try:
            engine.start_container(container_id)
        except (EngineRefused, NotFound) as error:
            engine.remove_container(container_id)
            raise _start_error(error, image, command) from None
        return ContainerInfo.from_inspect(engine.inspect_container(container_id))

    tail = OutputTail(output_limit)
    writer = StreamWriter(stdout, stderr)
    removed = False
    try:
        # Attach before starting, so that not a byte of output is missed.
        try:
            attached = engine.attach_container(container_id)
        except (EngineRefused, NotFound) as error:
            # Podman prepares the container's process when attaching: a program the image lacks fails
            # here, not at the start. Never started: nothing worth keeping, even with keep.
            engine.remove_container(container_id)
            removed = True
            raise _start_error(error, image, command) from None
        try:
            try:
                engine.start_container(container_id)
            except (EngineRefused, NotFound) as error:
                # Never started: nothing worth keeping, even with keep.
                engine.remove_container(container_id)
                removed = True
                raise _start_error(error, image, command) from None
            reader = FrameReader(attached.sock)
            while True:
                frame = reader.read()
                if frame is None:
                    break
                stream_number, data = frame
                tail.add(data)
                writer.write(stream_number, data, flush=not reader.buffered())
            writer.close()
        finally:
            attached.close()
        exit_code = engine.wait_container(container_id)
    except KeyboardInterrupt:
        if keep:
            engine.kill_container(container_id)
        else:
            engine.remove_container(container_id)
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
            engine.remove_container(container_id)
            removed = True

    result = RunResult(exit_code=exit_code, output=tail.text(), container_id=container_id, image=image,
                       command=command or [], removed=not keep, truncated=tail.truncated)
    if check and exit_code != 0:
        raise run_failure(result)
    return result


def run_failure(result: RunResult) -> ContainerError:
    """The ContainerError for a run that exited with a non-zero code."""
    what = shlex.join(result.command or ()) or "The image's default command"
    error = ContainerError(f"{what} in {result.image} exited with code {result.exit_code}.",
                           exit_code=result.exit_code, output=result.output)
    error.result = result
    return error


def _start_error(error, image: str, command) -> ContainerError:
    text = _refusal_text(error)
    # The runtime refuses to start a program it cannot find or execute; the CLI exits 127/126 then.
    exit_code = 127 if ("not found" in text or "no such file" in text.lower()) else 126
    what = shlex.join(command or ()) or "the image's default command"
    return ContainerError(f"Could not start {what} in {image}: {text}", exit_code=exit_code, output="")


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
    kept; otherwise ``/bin/sh`` stands in for it (see :func:`session_command`), and a commit puts the
    image's ENTRYPOINT and CMD back. Run code in it
    with ``%%docker_shell NAME`` (or :func:`dockmagic.operations.shell.run_cell`).
    """
    environment, binds, network = checked_options(image, name, environment, volumes, network)
    engine = engine or connect()
    check_free_name(engine, name)
    image_attrs = ensure_image(engine, image)
    note_remote_binds(engine, binds)

    config = image_attrs.get("Config") or {}
    default = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
    keeps_running = (not config.get("Entrypoint") and len(config.get("Cmd") or []) == 1
                     and posixpath.basename(config["Cmd"][0]) in SHELLS)
    command, entrypoint = session_command(config)
    try:
        container_id = engine.create_container(
            image, name=name, environment=environment, command=command, entrypoint=entrypoint, stdin_open=True,
            labels={LABEL: "session"}, binds=binds, network_mode=network,
        )
    except (EngineRefused, NotFound) as error:
        raise EngineRefused(f"The engine refused to create the container: {_refusal_text(error)}") from None
    try:
        engine.start_container(container_id)
        attrs = engine.inspect_container(container_id)
    except (EngineRefused, NotFound) as error:
        engine.remove_container(container_id)
        what = "its default command" if keeps_running else "/bin/sh"
        raise EngineRefused(
            f"Could not start {image} with {what} ({_refusal_text(error)}). %docker_start needs an image "
            f"with a shell; the default command was {default or 'none'}."
        ) from None
    if attrs["State"].get("Status") != "running":
        engine.remove_container(container_id)
        exit_code = attrs["State"].get("ExitCode")
        raise ContainerError(f"{image} exited at once (code {exit_code}); it was removed.", exit_code=exit_code)
    return ContainerInfo.from_inspect(attrs)


def session_command(image_config: dict) -> tuple[list[str] | None, list[str] | None]:
    """``(command, entrypoint)`` that keep a %docker_start container of an image with ``image_config``
    alive: None, None when the image's command is a shell; else ``/bin/sh`` as the command (the image's
    entrypoint untouched, so a commit need only give the CMD back) or, for an image with an entrypoint
    or no command, as the entrypoint. :func:`dockmagic.operations.commit.commit` puts the image's own
    back, so this plumbing never reaches a committed image."""
    entrypoint, cmd = image_config.get("Entrypoint"), image_config.get("Cmd") or []
    if not entrypoint and len(cmd) == 1 and posixpath.basename(cmd[0]) in SHELLS:
        return None, None
    if not entrypoint and cmd:
        return ["/bin/sh"], None
    return None, ["/bin/sh"]


def is_session(container_attrs: dict) -> bool:
    """Whether the container was started by :func:`start` (its command is the session's plumbing)."""
    return (container_attrs.get("Config", {}).get("Labels") or {}).get(LABEL) == "session"


def stop(name: str, *, timeout: int | None = None, engine: Engine | None = None) -> ContainerInfo:
    """Stop container ``name`` (SIGTERM, then SIGKILL after ``timeout`` seconds) and return it.
    ``timeout`` defaults to 10 s as ``docker stop``, and to 1 s for a container from :func:`start`."""
    engine = engine or connect()
    attrs = find_container(engine, name)
    if timeout is None:
        timeout = SESSION_STOP_TIMEOUT_SECONDS if is_session(attrs) else STOP_TIMEOUT_SECONDS
    engine.stop_container(attrs["Id"], timeout=timeout)
    return ContainerInfo.from_inspect(engine.inspect_container(attrs["Id"]))


def remove(names, *, force: bool = False, engine: Engine | None = None) -> Removed:
    """Remove the containers ``names``. All are looked up first: an unknown name, or a running one
    without ``force``, is an error before anything is removed."""
    names = check_names(names, check_container_name, "Name at least one container to remove, e.g. %docker_rm play.")
    engine = engine or connect()
    found = [find_container(engine, name) for name in names]
    running = [name for name, attrs in zip(names, found, strict=True) if attrs["State"].get("Running")]
    if running and not force:
        raise InvalidInput(
            f"{', '.join(repr(n) for n in running)} {'is' if len(running) == 1 else 'are'} running: stop "
            f"{'it' if len(running) == 1 else 'them'} first with %docker_stop, or remove with %docker_rm -f. "
            "Nothing was removed."
        )
    for attrs in found:
        engine.remove_container(attrs["Id"])
    return Removed(names)


def list_containers(*, all: bool = False, engine: Engine | None = None) -> Table:
    """The containers as ``docker ps`` shows them (with ``all``, stopped ones too)."""
    engine = engine or connect()
    return containers_table(engine.list_containers(all=all))


def _refusal_text(error) -> str:
    """The engine's words for a refusal, on one line."""
    return error.summary if isinstance(error, EngineRefused) else first_line(str(error), 300)
