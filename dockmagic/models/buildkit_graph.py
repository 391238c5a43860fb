"""The state of one BuildKit build, merged from the stream's deltas, and the rows a view shows.

BuildKit reports a graph, not a sequence: vertices (one per Dockerfile instruction that does work, plus
internal ones such as ``[internal] load metadata ...`` and ``exporting to image``) arrive and are repeated
with more fields set (started, completed, cached, error); statuses (byte progress of a sub-task) are
repeated by ID; logs arrive in chunks per vertex. :class:`BuildKitGraph` merges them so that the result
does not depend on how the engine split or ordered its messages (fields only grow: a vertex's start is the
earliest one seen, its end the latest, ``cached`` once set stays set), and derives:

- :meth:`BuildKitGraph.steps`: one :class:`BuildKitStep` per Dockerfile instruction, in file order stage
  by stage (mapped from vertex names such as ``[tools 2/3] RUN ...``), internal vertices as rows before
  and after them, instructions of stages the target does not need as ``skipped``;
- :meth:`BuildKitGraph.critical_path`: the longest chain of vertices by time;
- :meth:`BuildKitGraph.failure`: the failing step, its error, exit code and last log lines.

Memory stays bounded: each vertex keeps its last ``tail_lines`` lines, each cut at ``MAX_LINE_CHARS``.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat

from ..parsing.buildkit_trace import (
    STDERR,
    BuildError,
    BuildKitEvent,
    BuiltImage,
    StatusResponse,
    StreamText,
    TraceStatus,
    UndecodableTrace,
    Vertex,
    VertexLog,
    VertexStatus,
    exit_code_in,
)
from ..parsing.dockerfile import (  # noqa: F401 (dockerfile_stages and needed_stages: this model's inputs)
    DockerfileStage,
    dockerfile_stages,
    needed_stages,
    stage_index,
    target_index,
)
from .build import MAX_LINE_CHARS, displayable

# Step states (the first four as the legacy model spells them).
PENDING, RUNNING, CACHED, DONE = "pending", "running", "cached", "done"
FAILED, SKIPPED, CANCELLED = "failed", "skipped", "cancelled"
# Build states.
BUILDING = "building"

_CANCELED = "context canceled"
_CLIPPED = re.compile(r"^\[output clipped, log limit (.+) reached\]$")
_NUMBERED_NAME = re.compile(r"^\[(?:(?P<prefix>[^\]]*) )?(?P<number>\d+)/(?P<total>\d+)\] (?P<text>.*)$", re.DOTALL)
_TAGGED = re.compile(r"^Successfully tagged (\S+)")
# Instructions BuildKit turns into a vertex of their own and numbers ``[stage k/N]`` (FROM only when its
# base is an image, not an earlier stage or scratch). ENV, ARG, CMD, LABEL... only change the image config.
_NUMBERED_KINDS = {"RUN", "COPY", "ADD", "WORKDIR"}


# -- the Dockerfile's stages (read by parsing/dockerfile.py, the one reader of stages) --------------------

def _makes_no_vertex(instruction: str) -> bool:
    """``WORKDIR /``: BuildKit counts it in a stage's total but makes no vertex and gives it no number (there
    is nothing to create), so the numbers of the instructions after it do not move."""
    parts = instruction.split(None, 1)
    return len(parts) == 2 and parts[0].upper() == "WORKDIR" and posixpath.normpath(parts[1].strip()) in ("/", "//")


def _is_numbered(instruction: str, stage: DockerfileStage, stages: Sequence[DockerfileStage]) -> bool:
    kind = instruction.split(None, 1)[0].upper() if instruction else ""
    if kind == "FROM":
        return stage.base.lower() != "scratch" and stage_index(stages, stage.base, stage.index) is None
    return kind in _NUMBERED_KINDS


# -- logs ----------------------------------------------------------------------------------------------

# A kept log line: (text, printed on stderr, when the engine sent it). Plain tuples: a fast printer's
# chunks hold thousands of lines, and the tail takes them without building an object per line.
LogLine = tuple  # tuple[str, bool, float | None]


def _cut(line: str, dropped: int = 0) -> str:
    """A line as the views show it (:func:`~dockmagic.models.build.displayable`: no colour sequences, other
    control characters as symbols, no longer than MAX_LINE_CHARS, saying how much was left out)."""
    return displayable(line, dropped)


# What makes a line need more than cutting: control characters (ESC, CR...) and lone surrogates.
_NEEDS_CLEANING = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


class _OpenLine:
    """The line a stream is printing, not ended yet: bounded, counting what it drops."""

    __slots__ = ("decoder", "dropped", "parts", "size", "timestamp")

    def __init__(self, timestamp: float | None):
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.timestamp = timestamp

    def grow(self, text: str) -> None:
        room = MAX_LINE_CHARS + 1 - self.size
        if len(text) > room:
            self.dropped += len(text) - max(room, 0)
            text = text[:max(room, 0)]
        if text:
            self.parts.append(text)
            self.size += len(text)

    def take(self) -> tuple[str, int]:
        text, dropped = "".join(self.parts), self.dropped
        self.parts, self.size, self.dropped = [], 0, 0
        return text, dropped


class VertexLogTail:
    """What one vertex printed: its last lines (bounded), how many there were, whether the engine clipped.

    BuildKit sends output in chunks that do not follow lines, stdout and stderr apart: each stream keeps
    its open line (and its UTF-8 decoder: a character can be split between chunks)."""

    def __init__(self, tail_lines: int):
        self.lines: deque[LogLine] = deque(maxlen=max(tail_lines, 1))
        self.line_count = 0
        self.byte_count = 0
        self.clipped_at: str | None = None  # the engine's limit, as its clipping line says ("200KiB/s")
        self._open: dict[int, _OpenLine] = {}

    def add(self, log: VertexLog) -> None:
        self.byte_count += len(log.data)
        current = self._open.get(log.stream)
        if current is None:
            current = self._open[log.stream] = _OpenLine(log.timestamp)
        text = current.decoder.decode(log.data)
        if "\n" not in text:
            current.grow(text)
            return
        pieces = text.split("\n")
        current.grow(pieces[0])
        first, dropped = current.take()
        middle = pieces[1:-1]
        self.line_count += 1 + len(middle)
        stderr = log.stream == STDERR
        keep = self.lines.maxlen
        if len(middle) < keep:
            self.lines.append((_cut(first, dropped), stderr, current.timestamp))
        middle = middle[-keep:]
        # The common chunk (plain lines of ordinary length) is kept as it came, without a look at each line.
        if middle and (max(map(len, middle)) > MAX_LINE_CHARS or _NEEDS_CLEANING.search(text)):
            middle = [_cut(line) for line in middle]
        self.lines.extend(zip(middle, repeat(stderr), repeat(log.timestamp)))
        match = _CLIPPED.match(middle[-1] if middle else first)  # the engine's last line says it clipped
        if match:
            self.clipped_at = match[1]
        current.timestamp = log.timestamp
        current.grow(pieces[-1])

    def close(self) -> None:
        """The vertex ended: a last line left open (no newline) becomes a line."""
        for stream, current in self._open.items():
            current.grow(current.decoder.decode(b"", final=True))
            text, dropped = current.take()
            if text or dropped:
                self.line_count += 1
                self.lines.append((_cut(text, dropped), stream == STDERR, current.timestamp))
        self._open.clear()

    def open_lines(self) -> list[LogLine]:
        """The lines being printed (one a stream at most), not ended by a newline yet."""
        return [(_cut("".join(c.parts), c.dropped), s == STDERR, c.timestamp)
                for s, c in self._open.items() if c.parts or c.dropped]

    def all_lines(self) -> list[LogLine]:
        """The kept lines and the open ones, at most ``tail_lines + 2``."""
        return [*self.lines, *self.open_lines()]


# -- the rows ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildKitStep:
    """One row of the build view: a Dockerfile instruction or an internal vertex.

    The fields the legacy builder's steps have (number, total, instruction, cached, seconds, layer_id,
    log, state) plus the stage, the start and end times (Unix seconds) and BuildKit's own."""

    key: str  # stable: "stage:<stage index>:<instruction index>" or "vertex:<digest>"
    stage: str  # the stage's label ("" for internal rows)
    number: int  # k of BuildKit's [stage k/N]; 0 for rows BuildKit does not number
    total: int
    instruction: str
    state: str
    started: float | None
    completed: float | None
    seconds: float
    digest: str | None = None
    internal: bool = False
    error: str = ""
    tail: tuple[tuple[str, bool], ...] = ()  # the last lines: (text, printed on stderr)
    line_count: int = 0
    clipped: bool = False
    statuses: tuple[VertexStatus, ...] = ()
    layer_id: str | None = None  # BuildKit names no layer per step

    @property
    def cached(self) -> bool:
        return self.state == CACHED

    @property
    def log(self) -> tuple[str, ...]:
        return tuple(text for text, _ in self.tail)

    @property
    def label(self) -> str:
        """``[tools 2/3]`` or ``[2/3]`` as BuildKit prefixes its vertex names, ``[final]`` for an unnumbered
        instruction of a stage, empty for internal rows and unnumbered ones of a single-stage build."""
        if self.internal:
            return ""
        if not self.number:
            return f"[{self.stage}]" if self.stage else ""
        stage = f"{self.stage} " if self.stage else ""
        return f"[{stage}{self.number}/{self.total}]"

    # The legacy views' names for the times.
    @property
    def started_at(self) -> float | None:
        return self.started

    @property
    def finished_at(self) -> float | None:
        return self.completed

    def tail_text(self, lines: int = 20) -> str:
        return "\n".join(self.log[-lines:])


@dataclass(frozen=True)
class BuildKitFailure:
    """Why the build failed: the failing step (None when the Dockerfile never became a graph, a parse
    error say), the engine's error text, the exit code of the failing process and its last lines."""

    step: BuildKitStep | None
    error: str
    exit_code: int | None
    last_lines: tuple[str, ...] = ()


# -- the model -----------------------------------------------------------------------------------------

def _merge_vertex(old: Vertex | None, new: Vertex) -> Vertex:
    if old is None:
        return new
    return Vertex(
        digest=old.digest,
        inputs=max(old.inputs, new.inputs, key=lambda i: (len(i), i)),
        name=max(old.name, new.name, key=lambda n: (len(n), n)),
        cached=old.cached or new.cached,
        started=_earliest(old.started, new.started),
        completed=_latest(old.completed, new.completed),
        error=max(old.error, new.error, key=lambda e: (len(e), e)),
    )


def _merge_status(old: VertexStatus | None, new: VertexStatus) -> VertexStatus:
    if old is None:
        return new
    return VertexStatus(
        id=old.id,
        vertex=old.vertex or new.vertex,
        name=max(old.name, new.name, key=lambda n: (len(n), n)),
        current=max(old.current, new.current),
        total=max(old.total, new.total),
        timestamp=_latest(old.timestamp, new.timestamp),
        started=_earliest(old.started, new.started),
        completed=_latest(old.completed, new.completed),
    )


def _earliest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class _Row:
    """A Dockerfile instruction while rows are derived."""

    stage: DockerfileStage
    position: int  # index among the stage's instructions
    instruction: str
    number: int
    total: int
    digest: str | None = None
    needed: bool = True


class BuildKitGraph:
    """A BuildKit build's state, updated by :meth:`apply` with the events of
    :func:`dockmagic.parsing.buildkit_trace.parse_buildkit_event`; :meth:`finish` when the stream ends.

    ``stages`` (from :func:`dockerfile_stages`) and ``target`` let the rows follow the Dockerfile; without
    them the rows are the vertices BuildKit reported."""

    def __init__(self, stages: Sequence[DockerfileStage] = (), target: str | None = None, tail_lines: int = 1000,
                 clock: Callable[[], float] = time.time):
        self.stages = tuple(stages)
        self.target = target
        self.tail_lines = tail_lines
        self.clock = clock
        self._needed = needed_stages(self.stages, target)
        self._target = target_index(self.stages, target)
        self.vertices: dict[str, Vertex] = {}  # by digest, in the order first seen
        # By vertex and ID: two vertices may report under one ID ("transferring context:" for the
        # .dockerignore and for the context itself, through a session), as buildx keys them too.
        self.statuses: dict[tuple[str, str], VertexStatus] = {}
        self.logs: dict[str, VertexLogTail] = {}  # by vertex digest
        self.warnings: list[str] = []
        self.problems: list[str] = []  # trace messages that could not be decoded (the first few)
        self.problem_count = 0
        self.image_id: str | None = None
        self.tags: list[str] = []
        self.error: str | None = None
        self.exit_code: int | None = None
        self.state = BUILDING
        self.version = 0  # bumped by every apply, for views that redraw on change

    # -- updates ---------------------------------------------------------------------------------
    def apply(self, event: BuildKitEvent) -> None:
        self.version += 1
        if isinstance(event, TraceStatus):
            self.apply_status(event.status)
        elif isinstance(event, BuiltImage):
            self.image_id = event.image_id
        elif isinstance(event, StreamText):
            match = _TAGGED.match(event.text)
            if match and match[1] not in self.tags:
                self.tags.append(match[1])
        elif isinstance(event, BuildError):
            if self.state == BUILDING:
                self.error = event.message
                self.exit_code = event.exit_code
                self.state = CANCELLED if event.message.strip() == _CANCELED else FAILED
                self._close_logs()
        elif isinstance(event, UndecodableTrace):
            self.problem_count += 1
            if len(self.problems) < 10:
                self.problems.append(event.reason)

    def apply_status(self, status: StatusResponse) -> None:
        for vertex in status.vertexes:
            merged = _merge_vertex(self.vertices.get(vertex.digest), vertex)
            self.vertices[vertex.digest] = merged
        for item in status.statuses:
            key = (item.vertex, item.id)
            self.statuses[key] = _merge_status(self.statuses.get(key), item)
        for log in status.logs:
            tail = self.logs.get(log.vertex)
            if tail is None:
                tail = self.logs[log.vertex] = VertexLogTail(self.tail_lines)
            tail.add(log)
        for warning in status.warnings:
            if len(self.warnings) < 100:
                self.warnings.append(warning.short)

    def finish(self) -> None:
        """The stream ended: done if it named an image, failed otherwise (unless it said why already)."""
        if self.state == BUILDING:
            if self.image_id is None:
                self.error = "the engine closed the build stream without naming an image"
                self.state = FAILED
            else:
                self.state = DONE
        self._close_logs()

    def _close_logs(self) -> None:
        for tail in self.logs.values():
            tail.close()

    @property
    def finished(self) -> bool:
        return self.state != BUILDING

    # -- rows ------------------------------------------------------------------------------------
    def vertex_state(self, vertex: Vertex) -> str:
        if vertex.error:
            return CANCELLED if vertex.error.rstrip().endswith(_CANCELED) else FAILED
        if vertex.cached:
            return CACHED
        if vertex.completed is not None:
            return DONE
        if vertex.started is not None:
            return CANCELLED if self.finished else RUNNING
        return SKIPPED if self.finished else PENDING

    def steps(self) -> list[BuildKitStep]:
        """The rows, in order: internal vertices that come first, the Dockerfile's instructions stage by
        stage, numbered vertices the Dockerfile did not explain, then ``exporting ...``."""
        rows = self._dockerfile_rows()
        mapped = {row.digest for row in rows if row.digest}
        leading, trailing, unmapped = [], [], []
        for digest, vertex in self.vertices.items():
            if digest in mapped:
                continue
            step = self._vertex_step(vertex)
            if not step.internal:
                unmapped.append(step)
            elif vertex.name.startswith("exporting"):
                trailing.append(step)
            else:
                leading.append(step)
        leading.sort(key=_by_start)
        trailing.sort(key=_by_start)
        unmapped.sort(key=lambda s: (s.stage, s.number, s.instruction))
        return leading + self._steps_of(rows) + unmapped + trailing

    def _vertex_step(self, vertex: Vertex) -> BuildKitStep:
        match = _NUMBERED_NAME.match(vertex.name)
        if match:
            prefix = (match["prefix"] or "").split()
            stage = prefix[-1] if prefix else ""
            return self._step(f"vertex:{vertex.digest}", stage, int(match["number"]), int(match["total"]),
                              match["text"], vertex)
        return self._step(f"vertex:{vertex.digest}", "", 0, 0, vertex.name, vertex, internal=True)

    def _step(self, key: str, stage: str, number: int, total: int, instruction: str, vertex: Vertex | None,
              internal: bool = False, state: str | None = None) -> BuildKitStep:
        if vertex is None:
            return BuildKitStep(key, stage, number, total, instruction, state or PENDING, None, None, 0.0)
        tail = self.logs.get(vertex.digest)
        lines = tail.all_lines() if tail else []
        end = vertex.completed if vertex.completed is not None else (None if self.finished else self.clock())
        seconds = max(0.0, end - vertex.started) if vertex.started is not None and end is not None else 0.0
        return BuildKitStep(
            key=key, stage=stage, number=number, total=total, instruction=instruction,
            state=state or self.vertex_state(vertex), started=vertex.started, completed=vertex.completed,
            seconds=seconds, digest=vertex.digest, internal=internal, error=vertex.error,
            tail=tuple((text, stderr) for text, stderr, _ in lines[-self.tail_lines:]),
            line_count=tail.line_count if tail else 0, clipped=bool(tail and tail.clipped_at),
            statuses=self.statuses_of(vertex.digest),
        )

    def _dockerfile_rows(self) -> list[_Row]:
        numbered_vertices: dict[tuple[str, int], str] = {}
        for digest, vertex in self.vertices.items():
            match = _NUMBERED_NAME.match(vertex.name)
            if match:
                prefix = (match["prefix"] or "").split()
                numbered_vertices[(prefix[-1] if prefix else "", int(match["number"]))] = digest
        rows: list[_Row] = []
        for stage in self.stages:
            numbered = [_is_numbered(text, stage, self.stages) for text in stage.instructions]
            total = sum(numbered)
            # A single-stage build's vertices carry no stage name.
            labels = {stage.label} | ({""} if stage.index == self._target else set())
            number = 0
            stage_rows = []
            for position, (text, has_number) in enumerate(zip(stage.instructions, numbered, strict=True)):
                has_number = has_number and not _makes_no_vertex(text)
                number += has_number
                row = _Row(stage, position, text, number if has_number else 0, total,
                           needed=stage.index in self._needed)
                if has_number:
                    row.digest = next((numbered_vertices[(label, number)] for label in labels
                                       if (label, number) in numbered_vertices), None)
                stage_rows.append(row)
            self._share_base_vertex(stage_rows)
            rows.extend(stage_rows)
        return rows

    def _share_base_vertex(self, stage_rows: list[_Row]) -> None:
        """BuildKit merges identical vertices: two stages ``FROM busybox`` share one ``FROM`` vertex, named
        after one of them. The other stage's FROM is the first input of its next numbered vertex."""
        first = stage_rows[0] if stage_rows else None
        if first is None or not first.number or first.digest:
            return
        following = next((r for r in stage_rows[1:] if r.digest), None)
        vertex = self.vertices.get(following.digest) if following else None
        if vertex and vertex.inputs and vertex.inputs[0] in self.vertices:
            base = self.vertices[vertex.inputs[0]]
            if " FROM " in f" {_NUMBERED_NAME.sub(lambda m: m['text'], base.name)}":
                first.digest = base.digest

    def _steps_of(self, rows: list[_Row]) -> list[BuildKitStep]:
        steps = []
        for index, row in enumerate(rows):
            stage_label = row.stage.label if len(self.stages) > 1 else ""
            key = f"stage:{row.stage.index}:{row.position}"
            if not row.needed:
                steps.append(self._step(key, stage_label, row.number, row.total, row.instruction, None,
                                        state=SKIPPED))
            elif row.digest:
                vertex = self.vertices[row.digest]
                match = _NUMBERED_NAME.match(vertex.name)
                instruction = match["text"] if match and match["number"] == str(row.number) else row.instruction
                steps.append(self._step(key, stage_label, row.number, row.total, instruction, vertex))
            else:
                steps.append(self._step(key, stage_label, row.number, row.total, row.instruction, None,
                                        state=self._vertexless_state(row, rows[index + 1:])))
        return steps

    def _vertexless_state(self, row: _Row, later: list[_Row]) -> str:
        """An instruction with no vertex (ENV, CMD...: config only) is done once the build is, or once a
        later instruction of its stage has started."""
        if self.state == DONE:
            return DONE
        for other in later:
            if other.stage is not row.stage:
                break
            vertex = self.vertices.get(other.digest) if other.digest else None
            if vertex is not None and (vertex.started is not None or vertex.cached):
                return DONE
        return SKIPPED if self.finished else PENDING

    def statuses_of(self, digest: str) -> tuple[VertexStatus, ...]:
        """A vertex's statuses in the order they started."""
        found = [s for s in self.statuses.values() if s.vertex == digest]
        return tuple(sorted(found, key=lambda s: (s.started is None, s.started or 0.0, s.id)))

    # -- analyses --------------------------------------------------------------------------------
    def critical_path(self) -> list[BuildKitStep]:
        """The chain of vertices (following inputs) whose times add up to the most: what bounded the
        build's time. Rows in the order they ran."""
        chain = self.critical_digests()
        by_digest = {step.digest: step for step in self.steps() if step.digest}
        return [by_digest[d] for d in chain if d in by_digest]

    def critical_digests(self) -> list[str]:
        """The digests of :meth:`critical_path`'s vertices that ran, in order (no rows made)."""
        # Longest time ending at each vertex, and the input it came through; iterative, so a long chain
        # cannot exhaust Python's stack, and an input cycle (never sent by a sane engine) is cut.
        best: dict[str, tuple[float, str | None]] = {}
        on_path: set[str] = set()
        for root in self.vertices:
            stack = [(root, False)]
            while stack:
                digest, inputs_done = stack.pop()
                if digest in best:
                    continue
                inputs = [i for i in self.vertices[digest].inputs if i in self.vertices and i not in on_path]
                if not inputs_done:
                    on_path.add(digest)
                    stack.append((digest, True))
                    stack.extend((i, False) for i in inputs if i not in best)
                    continue
                on_path.discard(digest)
                came = max(((best[i][0], i) for i in inputs if i in best), default=(0.0, None))
                best[digest] = (came[0] + _duration(self.vertices[digest]), came[1])
        if not best:
            return []
        end = max(best, key=lambda d: (best[d][0], d))
        chain: list[str] = []
        while end is not None and end not in chain:
            chain.append(end)
            end = best[end][1]
        chain.reverse()
        return [d for d in chain if self.vertices[d].started is not None]

    def failure(self) -> BuildKitFailure | None:
        """Why the build failed, or None if it has not. The failing step is the vertex whose error is its
        own (not a ``context canceled`` passed on to its siblings), the earliest to end."""
        if self.state not in (FAILED, CANCELLED):
            return None
        steps = [s for s in self.steps() if s.state in (FAILED, CANCELLED) and s.error]
        own = [s for s in steps if s.state == FAILED] or steps
        own.sort(key=lambda s: (s.completed is None, s.completed or 0.0))
        step = own[0] if own else None
        error = self.error or (step.error if step else "")
        exit_code = self.exit_code if self.exit_code is not None else exit_code_in(step.error) if step else None
        return BuildKitFailure(step, error, exit_code, step.log[-20:] if step else ())


def _by_start(step: BuildKitStep) -> tuple:
    return step.started is None, step.started or 0.0, step.instruction


def _duration(vertex: Vertex) -> float:
    if vertex.started is None or vertex.completed is None:
        return 0.0
    return max(0.0, vertex.completed - vertex.started)


def graph_from_lines(lines: Iterable[dict], stages: Sequence[DockerfileStage] = (), target: str | None = None,
                     **options) -> BuildKitGraph:
    """A finished graph from a whole stream's decoded JSON lines (a recording, a test)."""
    from ..parsing.buildkit_trace import parse_buildkit_event

    graph = BuildKitGraph(stages, target, **options)
    for line in lines:
        graph.apply(parse_buildkit_event(line))
    graph.finish()
    return graph
