"""The state of one build, updated from parsed stream events: steps, states, timings and logs.

Memory stays bounded whatever a step prints: each step keeps only the last ``tail_lines`` lines in
memory and writes its whole log to a file on disk (``StepProgress.log_path``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable

from ..parsing.build_stream import (
    BuildFailed,
    BuildWarning,
    Committed,
    ContainerRemoved,
    ImageBuilt,
    Output,
    Progress,
    StepContainer,
    StepLayer,
    StepStarted,
    StepUsedCache,
    Tagged,
)
from ..parsing.image_names import familiar_tag

BUILDING, DONE, FAILED, CANCELLED = "building", "done", "failed", "cancelled"
RUNNING, CACHED = "running", "cached"

# Colour and cursor sequences (and OSC ones, such as a terminal title) are kept in the log file but not in
# what the views show.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Other control characters (NUL, BEL, backspace, a stray ESC) show as their symbols: ␀ ␇ ␈ ␛.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Lone surrogates (a JSON stream may carry them) cannot be encoded for the frontend.
_SURROGATE = re.compile("[\ud800-\udfff]")
# A line longer than this is cut in the views (the file keeps all of it).
MAX_LINE_CHARS = 4000
# Characters of a line being printed that the model keeps; past them it only counts.
KEPT_LINE_CHARS = 2 * MAX_LINE_CHARS


def _control_picture(match: re.Match) -> str:
    code = ord(match[0])
    return "\N{SYMBOL FOR DELETE}" if code == 0x7F else chr(0x2400 + code)


def displayable(line: str, more: int = 0) -> str:
    """A log line as a view shows it: the last carriage-return segment (what a terminal leaves), no
    escape sequences, other control characters as visible symbols (␀ for NUL), cut at MAX_LINE_CHARS.
    ``more`` counts characters of the line that were not kept (beyond ``line``)."""
    if "\r" in line:
        segments = [s for s in line.split("\r") if s]
        line = segments[-1] if segments else ""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    line = _CONTROL.sub(_control_picture, line)
    if _SURROGATE.search(line):
        line = _SURROGATE.sub("\N{REPLACEMENT CHARACTER}", line)
    if len(line) + more > MAX_LINE_CHARS:
        shown = line[:MAX_LINE_CHARS]
        line = shown + f" … ({len(line) + more - len(shown)} more characters in the log file)"
    return line


class LineAccumulator:
    """A line arriving in pieces, kept bounded: a carriage return starts the line over (the segment before
    it stays shown until the new one has text, as a terminal shows a progress bar), and past
    KEPT_LINE_CHARS of a segment only its length is counted. ``line()`` is ``displayable`` of the whole
    line, however long and in however many pieces it came."""

    __slots__ = ("raw", "_kept", "_more", "_shown")

    def __init__(self):
        self.raw = 0  # characters fed since the line began
        self._kept = ""
        self._more = 0
        self._shown = ("", 0)

    def feed(self, text: str) -> None:
        """Add text that holds no newline."""
        self.raw += len(text)
        first, *rest = text.split("\r") if "\r" in text else (text,)
        self._grow(first)
        for segment in rest:
            if self._kept or self._more:
                self._shown = (self._kept, self._more)
            self._kept, self._more = "", 0
            self._grow(segment)

    def _grow(self, text: str) -> None:
        room = KEPT_LINE_CHARS - len(self._kept)
        if len(text) <= room:
            self._kept += text
        else:
            self._kept += text[:max(room, 0)]
            self._more += len(text) - max(room, 0)

    def line(self) -> str:
        kept, more = (self._kept, self._more) if self._kept or self._more else self._shown
        return displayable(kept, more)


def _displayable_line(line: str) -> str:
    """A whole line that came in one piece, shown exactly as if it had come in many: a long one is cut
    where a :class:`LineAccumulator` cuts it, so the count of characters left out does not depend on
    where the engine split its output."""
    if len(line) <= KEPT_LINE_CHARS:
        return displayable(line)
    accumulator = LineAccumulator()
    accumulator.feed(line)
    return accumulator.line()


class LogDirMaker:
    """Makes a build's log folder when its first log is written (a fully cached build writes none, and
    leaves no folder), after calling ``before`` once (where the operation removes the oldest folders)."""

    def __init__(self, log_dir: str, before: Callable[[], None] | None = None):
        self.log_dir = log_dir
        self._before = before
        self.made = False

    def __call__(self) -> None:
        if self.made:
            return
        self.made = True
        if self._before is not None:
            self._before()
        os.makedirs(self.log_dir, mode=0o700, exist_ok=True)


class StepProgress:
    """One build step as it runs: ``Step 2/3``, its instruction, state, time, layer and log."""

    def __init__(self, number: int, total: int, instruction: str, log_path: str, tail_lines: int,
                 stage: str = "", clock: Callable[[], float] = time.time,
                 make_log_dir: Callable[[], None] | None = None):
        self._clock = clock
        self._make_log_dir = make_log_dir
        self.number = number
        self.stage = stage
        self.total = total
        self.instruction = instruction
        self.state = RUNNING
        self.started_at = clock()
        self.finished_at: float | None = None
        self.layer_id: str | None = None
        self.container_id: str | None = None
        self.log_path = log_path
        self.line_count = 0
        self.tail: deque[tuple[str, bool]] = deque(maxlen=tail_lines)
        self._partial = LineAccumulator()
        self._partial_stderr = False
        self._log_file = None

    @property
    def cached(self) -> bool:
        return self.state == CACHED

    @property
    def label(self) -> str:
        """``Step 2/3``, or ``[2/2] Step 1/3`` for a stage of a Podman multi-stage build."""
        total = f"/{self.total}" if self.total else ""
        prefix = f"[{self.stage}] " if self.stage else ""
        return f"{prefix}Step {self.number}{total}"

    @property
    def seconds(self) -> float:
        end = self.finished_at if self.finished_at is not None else self._clock()
        return max(0.0, end - self.started_at)

    def add_output(self, text: str, stderr: bool) -> int:
        """Append printed text; returns how many complete lines it added."""
        if self._log_file is None:
            if self._make_log_dir is not None:
                self._make_log_dir()
            else:
                os.makedirs(os.path.dirname(self.log_path) or ".", mode=0o700, exist_ok=True)
            self._log_file = open(self.log_path, "a", encoding="utf-8", errors="replace")
        self._log_file.write(text)
        pieces = text.split("\n")
        # The first piece continues the line left open by the previous chunk; a line with no end in
        # sight stays one line, of which memory keeps a bounded part (the file keeps all of it).
        self._partial.feed(pieces[0])
        complete = len(pieces) - 1
        if complete:
            marked = stderr or self._partial_stderr
            keep = self.tail.maxlen
            shown = [self._partial.line()] if complete <= keep else []
            shown.extend(map(_displayable_line, pieces[1:-1][-keep:]))
            self.tail.extend((line, marked) for line in shown)
            self._partial = LineAccumulator()
            self._partial.feed(pieces[-1])
        self.line_count += complete
        self._partial_stderr = stderr if self._partial.raw else False
        return complete

    def finish(self, state: str) -> None:
        if self.state in (RUNNING,):
            self.state = state
        if self.finished_at is None:
            self.finished_at = self._clock()
        self.close_log()

    def close_log(self) -> None:
        if self._partial.raw:
            self.line_count += 1
            self.tail.append((self._partial.line(), self._partial_stderr))
            self._partial = LineAccumulator()
            if self._log_file is not None:
                self._log_file.write("\n")  # the file's lines stay the views' lines
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def tail_text(self, lines: int = 20) -> str:
        return "\n".join(text for text, _ in list(self.tail)[-lines:])


def row_key(row) -> str:
    """What names a row of the build view across updates: BuildKit's key, the legacy step's number."""
    return str(getattr(row, "key", "") or f"step:{row.number}")


class ObservedBuild:
    """What every builder's progress model shares: listeners told of each change (``version`` counts
    them), and the build's elapsed time on its clock. Needs ``clock``, ``started_at``, ``finished_at``,
    ``version`` and ``_listeners``."""

    # Why each row that ran missed the cache, and each row's layer size in the image built, by the row's key
    # (set once the build has ended).
    cache_misses: dict[str, str] = {}
    layer_sizes: dict[str, int] = {}
    # True when the build failed because the engine stopped answering.
    connection_lost = False

    @property
    def seconds(self) -> float:
        end = self.finished_at if self.finished_at is not None else self.clock()
        return max(0.0, end - self.started_at)

    def subscribe(self, listener: Callable) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        self.version += 1
        for listener in self._listeners:
            listener(self)

    def touch(self) -> None:
        """Tell the views that something outside the stream changed (the image size, say)."""
        self._changed()


class BuildProgress(ObservedBuild):
    """The whole build: state, steps, timings, result ids and the error, updated by :meth:`apply`.

    Views subscribe with :meth:`subscribe`; each :meth:`apply` bumps ``version`` and calls them.
    ``builder`` is ``legacy`` (BuildKit's builds have :class:`~dockmagic.models.build_buildkit.BuildKitProgress`).
    """

    builder = "legacy"

    def __init__(self, log_dir: str, tail_lines: int = 1000, engine: str = "",
                 clock: Callable[[], float] = time.time, before_first_log: Callable[[], None] | None = None):
        # The clock is the wall clock, except in a replay, where it is the recording's.
        self.clock = clock
        self.log_dir = log_dir
        self.log_dir_maker = LogDirMaker(log_dir, before_first_log)
        self.tail_lines = tail_lines
        self.engine = engine
        self.state = BUILDING
        self.started_at = clock()
        self.finished_at: float | None = None
        self.steps: list[StepProgress] = []
        self.image_id: str | None = None
        self.tags: list[str] = []
        self.requested_tags: list[str] = []
        self.size: int | None = None
        self.error: str | None = None
        self.exit_code: int | None = None
        self.warnings: list[str] = []
        self.progress_line = ""
        self.containers: list[str] = []
        self.version = 0
        self._listeners: list[Callable[[BuildProgress], None]] = []
        self._lock = threading.Lock()
        self.replay_of: str | None = None
        # The Dockerfile's instructions as written, known before the build starts: the views list the
        # steps still to come from them.
        self.planned_instructions: list[str] = []

    # -- derived ---------------------------------------------------------------------------------
    @property
    def current_step(self) -> StepProgress | None:
        return self.steps[-1] if self.steps else None

    @property
    def total_steps(self) -> int:
        return max((s.total for s in self.steps), default=0)

    @property
    def cached_count(self) -> int:
        return sum(1 for s in self.steps if s.cached)

    @property
    def failed_step(self) -> StepProgress | None:
        return next((s for s in self.steps if s.state == FAILED), None)

    @property
    def finished(self) -> bool:
        return self.state != BUILDING

    # -- updates ---------------------------------------------------------------------------------
    def apply(self, event) -> None:
        """Update the state from one parsed event."""
        with self._lock:
            self._apply(event)
        self._changed()

    def _apply(self, event) -> None:
        if self.state != BUILDING:
            return  # the build is over (failed or cancelled): what the stream still sends changes nothing
        step = self.current_step
        if isinstance(event, Output):
            if step is None:
                self.progress_line = displayable(event.text.strip())
            else:
                step.add_output(event.text, event.stderr)
        elif isinstance(event, StepStarted):
            if step is not None:
                step.finish(DONE)
            path = os.path.join(self.log_dir, f"step-{len(self.steps) + 1:03d}.log")
            self.steps.append(StepProgress(event.number, event.total, event.instruction, path,
                                           self.tail_lines, event.stage, self.clock, self.log_dir_maker))
        elif isinstance(event, StepUsedCache):
            if step is not None:
                step.state = CACHED
                if event.layer_id:
                    step.layer_id = event.layer_id
                    step.finish(CACHED)
        elif isinstance(event, StepContainer):
            self.containers.append(event.container_id)
            if step is not None:
                step.container_id = event.container_id
        elif isinstance(event, ContainerRemoved):
            if event.container_id in self.containers:
                self.containers.remove(event.container_id)
        elif isinstance(event, StepLayer):
            if step is not None:
                step.layer_id = event.layer_id
                step.finish(DONE)
        elif isinstance(event, BuildWarning):
            if event.text not in self.warnings:  # the engine repeats some at every step ("IPv4 forwarding")
                self.warnings.append(event.text)
        elif isinstance(event, Progress):
            self.progress_line = displayable(event.text)
            if step is not None and step.state == RUNNING:
                step.add_output(event.text + "\n", False)
        elif isinstance(event, ImageBuilt):
            self.image_id = event.image_id
        elif isinstance(event, Tagged):
            # Podman tags twice, docker.io/library/x:latest then x: both are x:latest, as Docker says.
            tag = familiar_tag(event.tag)
            if tag not in self.tags:
                self.tags.append(tag)
        elif isinstance(event, Committed):
            pass
        elif isinstance(event, BuildFailed):
            self.error = event.message
            self.exit_code = event.exit_code
            if step is not None and step.state in (RUNNING, CACHED) and step.finished_at is None:
                step.state = RUNNING
                step.finish(FAILED)
            elif step is not None and step.state != FAILED:
                # Podman reports a failure after the step's own lines; the last step is the one.
                step.state = FAILED
                step.close_log()
            self._end(FAILED)

    def _end(self, state: str) -> None:
        if self.state != BUILDING:
            return
        for step in self.steps:
            if step.finished_at is None:
                step.finish(state)
            step.close_log()
        self.state = state
        self.finished_at = self.clock()

    def finish(self) -> None:
        """The stream ended: done, unless it failed (or never said what it built)."""
        with self._lock:
            if self.state == BUILDING:
                if self.image_id is None and self.error is None:
                    self.error = "the engine closed the build stream without naming an image"
                    self._end(FAILED)
                else:
                    self._end(DONE)
        self._changed()

    def fail(self, message: str, exit_code: int | None = None) -> None:
        self.apply(BuildFailed(message, exit_code))

    def cancel(self) -> None:
        with self._lock:
            for step in self.steps:
                if step.finished_at is None:
                    step.state = CANCELLED
                    step.finish(CANCELLED)
            self._end(CANCELLED)
        self._changed()
