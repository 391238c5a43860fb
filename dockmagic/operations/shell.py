"""A persistent shell in a running container: what ``%%docker_shell NAME`` runs each cell in.

Design. One long-lived ``docker exec -i`` shell per container (bash when the image has it, else sh),
started interactive (``-i``) but without a terminal, on a hijacked socket. Interactive matters: on
SIGINT an interactive shell abandons the command line it is running and goes back to reading input,
instead of exiting, which is exactly Ctrl-C in ``docker run -it``. Each cell is sent as one line,
``eval '<cell>' </dev/null``, so that it runs in the current shell (``cd``, ``export``, functions carry
over), cannot read the rest of our protocol from stdin, and a syntax error in it is only an error. A
second line prints the cell's exit status, the working directory, the exported environment (a child's
``/proc/self/environ``) and, in bash, the functions, between markers holding a fresh token, on file
descriptors 8 and 9 (copies of stdout and stderr made at start), so even ``exec >/dev/null`` in a cell
cannot hide them. Both streams are read until their end marker, so no stderr straggles into the next
cell.

An interrupt sends SIGINT to the shell's process group from a second exec (the exec'd shell leads its
own group; without job control its commands stay in it): the command dies, the shell survives. If the
cell does not end within a few seconds (a program ignoring SIGINT), or on a second interrupt, its
processes are killed (SIGKILL, the shell spared); as a last resort the shell itself. If the shell ever
dies (``exit`` in a cell, a kill), the next cell starts a new one and restores the last recorded
directory, exported variables and (bash) functions.

Every cell is recorded on the session (script, exit code, state before and after), which is what
``%docker_dockerfile`` turns into a Dockerfile.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

from ..engine import Engine, connect
from ..errors import CellInterrupted, ContainerError, ContainerNotRunning, DockmagicError, EngineRefused, NotFound
from ..parsing.shell_to_dockerfile import shell_quote
from ..views import container_view
from ..views.display import TextAndHtml
from .interrupts import DeferredInterrupts
from .lookup import find_container
from .streams import FrameReader, OutputTail, StreamWriter

SHELL_COMMAND = [
    "/bin/sh", "-c",
    "unset ENV; if command -v bash >/dev/null 2>&1; then exec bash --norc --noprofile --noediting -i; fi; "
    "exec sh -i",
]

# Set once when the shell starts: no prompts, no history (nothing written to ~/.bash_history, no "!"
# expansion), and fds 8/9 kept as the way back to us.
SETUP_LINE = (
    "PS1=''; PS2=''; unset PROMPT_COMMAND HISTFILE; "
    'case "$BASH_VERSION" in ?*) set +H; set +o history;; esac; exec 8>&1 9>&2'
)

# Variables the shell itself maintains; they are not part of a session's environment.
SHELL_OWN_VARIABLES = {"_", "PWD", "OLDPWD", "SHLVL"}

INTERRUPT_GRACE_SECONDS = 3.0
START_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.25


def _state_line(token: str) -> str:
    # `\command` skips aliases and functions a cell may have defined with these names.
    return (
        "__dm_rc=$?; "
        f"\\command printf '\\036DMSTATE {token} %s %s %s\\n' \"$__dm_rc\" \"$$\" \"${{BASH_VERSION:+bash}}\" >&8; "
        "\\command pwd >&8; "
        "\\command printf '\\036DMENV\\n' >&8; "
        "\\command cat /proc/self/environ >&8; "
        "\\command printf '\\036DMFUNCS\\n' >&8; "
        'case "$BASH_VERSION" in ?*) \\command declare -f >&8;; esac; '
        f"\\command printf '\\036DMEND {token}\\n' >&8; "
        f"\\command printf '\\036DMEND {token}\\n' >&9; "
        # Leave $? as the cell left it, for the next cell.
        'eval "unset __dm_rc; (exit $__dm_rc)"'
    )


@dataclass
class ShellState:
    """What a cell can change in the shell: working directory, exported variables, (bash) functions."""

    cwd: str
    env: dict[str, str]
    functions: dict[str, str] = field(default_factory=dict)


@dataclass
class CellRecord(TextAndHtml):
    """One ``%%docker_shell`` cell: its script, exit code, and the shell's state before and after. Its
    text and HTML form is the status line a cell ends with ("exit status 127"), as a shell would say."""

    script: str
    exit_code: int | None
    before: ShellState
    after: ShellState | None
    seconds: float
    interrupted: bool = False
    shell_exited: bool = False
    execution_count: int | None = None  # the notebook's In [n], when IPython ran it

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.interrupted and not self.shell_exited

    def _text(self) -> str:
        return container_view.cell_status_text(self)

    def _html(self) -> str:
        return container_view.cell_status_html(self)


def parse_functions(text: str) -> dict[str, str]:
    """``declare -f`` output as ``{name: definition}``."""
    functions: dict[str, str] = {}
    name, lines = None, []
    for line in text.splitlines():
        if name is None:
            match = re.match(r"^(\S+) \(\) ?$", line)
            if match:
                name, lines = match.group(1), [line.rstrip()]
            continue
        lines.append(line.rstrip())
        if line == "}":
            functions[name] = "\n".join(lines)
            name = None
    return functions


def _parse_state(header: bytes, body: bytes):
    """``(exit_code, pid, shell, ShellState)`` from a state dump (header fields, then the body)."""
    fields = header.decode("ascii", "replace").split()
    exit_code = int(fields[0]) if fields and fields[0].lstrip("-").isdigit() else None
    pid = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    shell = "bash" if len(fields) > 2 and fields[2] == "bash" else "sh"
    cwd_part, _, rest = body.partition(b"\x1eDMENV\n")
    env_part, _, functions_part = rest.partition(b"\x1eDMFUNCS\n")
    env = {}
    for entry in env_part.split(b"\0"):
        key, sep, value = entry.decode("utf-8", "replace").partition("=")
        if sep and key not in SHELL_OWN_VARIABLES:
            env[key] = value
    functions = parse_functions(functions_part.decode("utf-8", "replace"))
    state = ShellState(cwd=cwd_part.decode("utf-8", "replace").rstrip("\n") or "/", env=env,
                       functions={k: v for k, v in functions.items() if not k.startswith("__dm")})
    return exit_code, pid, shell, state


class _MarkerSplitter:
    """Passes a stream's bytes through until ``marker``, holding back only what may be its beginning."""

    def __init__(self, marker: bytes):
        self.marker = marker
        self.pending = b""
        self.found = False
        self.after = b""

    def feed(self, data: bytes) -> bytes:
        if self.found:
            self.after += data
            return b""
        data = self.pending + data
        index = data.find(self.marker)
        if index >= 0:
            self.found = True
            self.after = data[index + len(self.marker):]
            self.pending = b""
            return data[:index]
        keep = 0
        for size in range(min(len(self.marker) - 1, len(data)), 0, -1):
            if self.marker.startswith(data[-size:]):
                keep = size
                break
        self.pending = data[len(data) - keep:] if keep else b""
        return data[:len(data) - keep] if keep else data


class ShellSession:
    """The persistent shell of one container and the record of the cells run in it."""

    def __init__(self, engine: Engine, attrs: dict):
        self.engine = engine
        self.container_id = attrs["Id"]
        self.container_name = attrs.get("Name", "").lstrip("/")
        self.image = attrs.get("Config", {}).get("Image", "")
        self.shell: str | None = None
        self.initial_state: ShellState | None = None
        self.state: ShellState | None = None
        self.cells: list[CellRecord] = []
        self.restarts = 0
        self._exec_id = None
        self._socket = None
        self._sock = None
        self._reader: FrameReader | None = None
        self._pid: int | None = None

    # --- the shell process ---

    @property
    def alive(self) -> bool:
        if self._reader is None or self._reader.eof:
            return False
        try:
            return bool(self.engine.inspect_exec(self._exec_id).get("Running"))
        except (EngineRefused, NotFound):
            return False

    def _container_attrs(self) -> dict:
        try:
            return self.engine.inspect_container(self.container_id)
        except NotFound:
            raise ContainerNotRunning(
                f"Container {self.container_name!r} no longer exists. Start a new one with "
                f"%docker_start {self.image} --name {self.container_name}."
            ) from None

    def check_running(self) -> None:
        state = self._container_attrs().get("State", {})
        if not state.get("Running"):
            status = state.get("Status", "?")
            code = f", exit code {state.get('ExitCode')}" if status == "exited" else ""
            raise ContainerNotRunning(
                f"Container {self.container_name!r} is not running ({status}{code}), so no shell can run "
                f"in it. Restart it with docker start {self.container_name}, or start a new one with "
                f"%docker_start {self.image} --name NEW_NAME."
            )

    def open(self, stdout=None, stderr=None) -> None:
        """Start the shell (again, after it died: restoring the last recorded state)."""
        self.close()
        try:
            self._exec_id, self._socket = self.engine.exec_socket(self.container_id, SHELL_COMMAND)
        except (EngineRefused, NotFound) as error:
            raise EngineRefused(f"Could not start a shell in {self.container_name!r}: {error}") from None
        self._sock = self._socket.sock
        self._reader = FrameReader(self._sock)
        restore = self._restore_script(self.state) if self.state is not None else ""
        token = uuid.uuid4().hex
        lines = [SETUP_LINE]
        if restore:
            lines.append(f"eval {shell_quote(restore)} </dev/null >/dev/null 2>&1")
        lines.append(_state_line(token))
        try:
            self._send("\n".join(lines) + "\n")
            # The shell's greeting (busybox's banner, bash's "no job control") is not the user's: dropped.
            outcome = self._read_until_markers(token, writer=None, tail=None, deadline=START_TIMEOUT_SECONDS)
        except BaseException:
            # Half-started (an interrupt, a broken connection): drop it; the next cell starts afresh.
            self.close()
            raise
        if outcome is None:
            output = self._drain_text()
            self.close()
            raise DockmagicError(
                f"Could not start a shell in {self.container_name!r}: %%docker_shell needs /bin/sh in the "
                f"image. {output.strip()[:300]}"
            )
        _, pid, shell, state = outcome
        self._pid, self.shell = pid, shell
        if self.initial_state is None:
            self.initial_state = state
        else:
            self.restarts += 1
        self.state = state

    def _restore_script(self, state: ShellState) -> str:
        parts = [f"cd {shell_quote(state.cwd)}"]
        for key, value in state.env.items():
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                parts.append(f"export {key}={shell_quote(value)}")
        parts.extend(state.functions.values())
        return "\n".join(parts)

    def _drain_text(self) -> str:
        chunks = []
        while self._reader is not None:
            frame = self._reader.read(timeout=0.2)
            if frame is None:
                break
            chunks.append(frame[1])
        return b"".join(chunks).decode("utf-8", "replace")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = self._sock = self._reader = None

    def _send(self, text: str) -> None:
        # Blocking: the last read may have left the socket non-blocking (timeout 0), and a non-blocking
        # sendall can stop part-way (always possible over TLS).
        self._sock.settimeout(None)
        self._sock.sendall(text.encode("utf-8"))

    def _signal(self, script: str) -> None:
        """Run ``script`` in a second exec (the persistent shell is busy)."""
        try:
            self.engine.exec_run(self.container_id, ["/bin/sh", "-c", script])
        except (EngineRefused, NotFound):
            pass  # the container stopped meanwhile: the stream's end tells the rest

    def _kill_cell_processes(self) -> None:
        # Every process of the shell's group but the shell (fields after "(comm) ": state ppid pgrp).
        self._signal(
            f"for f in /proc/[0-9]*/stat; do s=$(cat $f 2>/dev/null) || continue; p=${{f#/proc/}}; "
            f"p=${{p%/stat}}; [ \"$p\" = {self._pid} ] && continue; set -- ${{s##*) }}; "
            f"[ \"$3\" = {self._pid} ] && kill -KILL $p 2>/dev/null; done; true"
        )

    # --- running a cell ---

    def _read_until_markers(self, token: str, writer, tail, deadline: float | None, on_tick=None):
        """Read both streams until the state dump of ``token`` and stderr's end marker. Returns the parsed
        state, or None if the stream ended first."""
        out = _MarkerSplitter(f"\x1eDMSTATE {token} ".encode())
        err = _MarkerSplitter(f"\x1eDMEND {token}\n".encode())
        end_out = f"\x1eDMEND {token}\n".encode()
        started = time.monotonic()
        while True:
            if out.found and end_out in out.after and err.found:
                break
            frame = self._reader.read(timeout=POLL_SECONDS)
            if frame is None:
                if self._reader.eof:
                    return None
                if deadline is not None and time.monotonic() - started > deadline:
                    return None
                if on_tick is not None:
                    on_tick()
                continue
            number, data = frame
            splitter = err if number == FrameReader.STDERR else out
            visible = splitter.feed(data)
            if visible:
                if tail is not None:
                    tail.add(visible)
                if writer is not None:
                    writer.write(number, visible, flush=not self._reader.buffered())
            if on_tick is not None:
                on_tick()
        header, _, body = out.after.partition(b"\n")
        end = body.index(end_out)
        # Whatever came after the end markers (a background job's output) is shown, not lost.
        late_out, body = body[end + len(end_out):], body[:end]
        if writer is not None:
            for number, late in ((FrameReader.STDOUT, late_out), (FrameReader.STDERR, err.after)):
                if late:
                    writer.write(number, late)
        return _parse_state(header, body)

    def run(self, script: str, stdout=None, stderr=None, check: bool = True,
            execution_count: int | None = None) -> CellRecord:
        """Run ``script`` in the shell, streaming its output; record and return the cell. Its exit status
        is its last command's, as with ``sh -c``.

        Raises :class:`ContainerError` when it exits non-zero or the shell exits in it (the shell stays
        usable; unless ``check`` is False: then the record says so), :class:`CellInterrupted` when
        interrupted, :class:`ContainerNotRunning` when the container is not running. Nothing is sent
        when the container is not running. The errors carry the cell's record as ``.record``.
        """
        self.check_running()
        writer = StreamWriter(stdout, stderr)
        restarted = False
        if not self.alive:
            restarted = self.state is not None
            self.open()
            if restarted:
                writer.streams[FrameReader.STDERR].write(
                    f"(the shell had ended: a new one was started in {self.state.cwd} with the recorded "
                    "exported variables" + (" and functions" if self.shell == "bash" else "") + ")\n")
        else:
            self._show_pending(writer)
        before = self.state
        token = uuid.uuid4().hex
        tail = OutputTail()
        started = time.monotonic()
        # While a cell runs, SIGINT only counts interrupts: the loop acts on them between reads, so no
        # byte of the stream is lost to an exception raised in the middle of a read.
        interrupts = DeferredInterrupts()
        escalation = {"level": 0, "since": 0.0}

        def on_tick():
            # Escalate: SIGINT to the group; then SIGKILL its processes but the shell; then the shell.
            level = escalation["level"]
            overdue = level and time.monotonic() - escalation["since"] > INTERRUPT_GRACE_SECONDS
            if interrupts.count > level or overdue:
                escalation["level"] = level + 1
                escalation["since"] = time.monotonic()
                if level == 0:
                    self._signal(f"kill -INT -{self._pid}")
                elif level == 1:
                    self._kill_cell_processes()
                else:
                    self._signal(f"kill -KILL {self._pid}")

        try:
            with interrupts:
                self._send(f"eval {shell_quote(script)} </dev/null\n{_state_line(token)}\n")
                outcome = self._read_until_markers(token, writer, tail, deadline=None, on_tick=on_tick)
        except BaseException:
            # Out of step with the shell (an exception in the middle of the protocol): stop the cell's
            # processes and drop this shell; the next cell starts a new one with the recorded state.
            if self._pid is not None:
                self._signal(f"kill -KILL -{self._pid}")
            self.close()
            raise
        finally:
            writer.close()
        seconds = round(time.monotonic() - started, 3)
        interrupted = escalation["level"] > 0

        if outcome is None:
            exit_code = self._exec_exit_code()
            record = CellRecord(script, exit_code, before, None, seconds, interrupted=interrupted,
                                shell_exited=True, execution_count=execution_count)
            self.cells.append(record)
            self.close()
            self.check_running()
            restored = "exported variables and functions" if self.shell == "bash" else "exported variables"
            if interrupted:
                raise _with_record(CellInterrupted(
                    f"Interrupted: the cell did not stop, so its shell was killed. The container keeps "
                    f"running; the next cell starts a new shell in the last directory with the {restored} "
                    "restored.", exit_code=exit_code, output=tail.text()), record)
            if not check:
                return record
            raise _with_record(ContainerError(
                f"The shell in {self.container_name!r} exited during the cell (exit code {exit_code}), e.g. "
                "by `exit` or `set -e`. The container keeps running; the next cell starts a new shell in "
                f"the last directory with the {restored} restored.",
                exit_code=exit_code, output=tail.text(),
            ), record)
        exit_code, _, _, after = outcome
        self.state = after
        record = CellRecord(script, exit_code, before, after, seconds, interrupted=interrupted,
                            execution_count=execution_count)
        self.cells.append(record)
        note = " (in a new shell: the previous one had ended)" if restarted else ""
        if interrupted:
            raise _with_record(CellInterrupted(
                f"Interrupted: the cell's command was stopped{note}. The shell in {self.container_name!r} "
                "and the container keep running, with the state they had.",
                exit_code=exit_code, output=tail.text(),
            ), record)
        if exit_code != 0 and check:
            raise _with_record(ContainerError(
                f"The cell failed with exit code {exit_code} in {self.container_name!r}{note}. The shell "
                "keeps its state (directory, variables, functions): fix the cell and run it again.",
                exit_code=exit_code, output=tail.text(),
            ), record)
        return record

    def _show_pending(self, writer) -> None:
        # Output of background jobs that came between cells is shown now, as a terminal would.
        while True:
            frame = self._reader.read(timeout=0)
            if frame is None:
                return
            writer.write(*frame)

    def _exec_exit_code(self):
        try:
            return self.engine.inspect_exec(self._exec_id).get("ExitCode")
        except (EngineRefused, NotFound):
            return None


def _with_record(error: ContainerError, record: CellRecord) -> ContainerError:
    error.record = record
    return error


# Sessions by (engine address, container id): one shell per container, for the life of this process.
_sessions: dict[tuple[str, str], ShellSession] = {}


def session_for(name: str, engine: Engine | None = None) -> ShellSession:
    """The session of container ``name`` (created on first use). Raises NotFound for an unknown
    container and :class:`ContainerNotRunning` for a stopped one, before anything runs."""
    engine = engine or connect()
    attrs = find_container(engine, name)
    key = (engine.address, attrs["Id"])
    session = _sessions.get(key)
    if session is None:
        session = ShellSession(engine, attrs)
        session.check_running()
        _sessions[key] = session
    else:
        session.engine = engine
    return session


def find_session(name: str, engine: Engine) -> ShellSession | None:
    """The recorded session of container ``name`` (by id, or by name if the container is gone)."""
    try:
        attrs = engine.inspect_container(name)
    except NotFound:
        attrs = None
    if attrs is not None:
        return _sessions.get((engine.address, attrs["Id"]))
    matches = [s for (address, _), s in _sessions.items()
               if address == engine.address and s.container_name == name]
    return matches[-1] if matches else None


def run_cell(name: str, script: str, *, engine: Engine | None = None, stdout=None, stderr=None,
             check: bool = True, execution_count: int | None = None) -> CellRecord:
    """Run ``script`` in the persistent shell of container ``name`` (see :class:`ShellSession.run`)."""
    return session_for(name, engine).run(script, stdout=stdout, stderr=stderr, check=check,
                                         execution_count=execution_count)
