"""A BuildKit build as the build views read a build: :class:`BuildKitProgress` wraps a
:class:`~dockmagic.models.buildkit_graph.BuildKitGraph` and presents what
:class:`~dockmagic.models.build.BuildProgress` presents (subscribe, state, steps with number, label,
instruction, state, times, tail, log file...), so that one widget, one text view and one HTML snapshot
serve both builders.

Why a wrapper and not BuildProgress itself: the legacy model is a sequence (a step ends when the next one
starts), BuildKit's a graph merged from deltas (vertices run in parallel, rows are derived from the
Dockerfile's stages). The two share the views' vocabulary, not their updating.

Each vertex's whole output goes to a file of its own in the build's log folder (``vertex-<digest>.log``);
the model keeps only the last lines in memory. The rows carry BuildKit's extras for the views: ``stage``,
``internal``, ``digest``, ``critical`` (on the critical path), ``statuses`` (byte progress), ``clipped``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from ..parsing.buildkit_trace import BuildError, TraceStatus, VertexStatus
from ..parsing.dockerfile import dockerfile_stages
from .build import LogDirMaker, ObservedBuild
from .buildkit_graph import BUILDING, CACHED, CANCELLED, DONE, FAILED, RUNNING, BuildKitGraph, BuildKitStep

BUILDKIT = "buildkit"
# The context's row: "load build context" when a session serves it, "load remote build context" for a tar.
CONTEXT_VERTICES = ("[internal] load build context", "[internal] load remote build context")
# Where the limit of a clipped log is set: the engine's environment, read by its BuildKit at start.
CLIPPED_LOG_ADVICE = ("the limit is the engine's: dockerd's environment variables BUILDKIT_STEP_LOG_MAX_SPEED "
                      "(bytes a second) and BUILDKIT_STEP_LOG_MAX_SIZE (bytes), -1 for none; the full output "
                      "never left the engine")


class BuildKitStepProgress:
    """One row of a BuildKit build (an instruction, or an internal vertex), with the names the legacy
    step has: ``number``, ``total``, ``label``, ``instruction``, ``state``, ``started_at``,
    ``finished_at``, ``seconds``, ``layer_id``, ``log_path``, ``line_count``, ``tail``."""

    container_id = None  # BuildKit runs its steps in no container the engine lists

    def __init__(self, step: BuildKitStep, log_path: str, critical: bool, clipped_at: str | None,
                 clock: Callable[[], float]):
        self.key = step.key
        self.number = step.number
        self.total = step.total
        self.stage = step.stage
        self.instruction = step.instruction
        self.state = step.state
        self.started_at = step.started
        self.finished_at = step.completed
        self.digest = step.digest
        self.internal = step.internal
        self.error = step.error
        self.layer_id = step.layer_id
        self.log_path = log_path
        self.line_count = step.line_count
        self.tail = list(step.tail)
        self.clipped = step.clipped
        self.clipped_at = clipped_at
        self.statuses = step.statuses
        self.critical = critical
        self.label = step.label
        self._seconds = step.seconds
        self._clock = clock

    @property
    def cached(self) -> bool:
        return self.state == CACHED

    @property
    def seconds(self) -> float:
        if self.state == RUNNING and self.started_at is not None:
            return max(0.0, self._clock() - self.started_at)
        return self._seconds

    def tail_text(self, lines: int = 20) -> str:
        return "\n".join(text for text, _ in self.tail[-lines:])


class BuildKitProgress(ObservedBuild):
    """A BuildKit build's state, updated by :meth:`apply` with BuildKit events; read by the build views
    as they read a :class:`~dockmagic.models.build.BuildProgress`."""

    builder = BUILDKIT

    def __init__(self, log_dir: str, dockerfile: str = "", target: str | None = None, engine: str = "",
                 tail_lines: int = 1000, clock: Callable[[], float] = time.time,
                 before_first_log: Callable[[], None] | None = None):
        self.clock = clock
        self.log_dir = log_dir
        self.log_dir_maker = LogDirMaker(log_dir, before_first_log)
        self.engine = engine
        self.graph = BuildKitGraph(dockerfile_stages(dockerfile) if dockerfile.strip() else (), target,
                                   tail_lines=tail_lines, clock=clock)
        self.started_at = clock()
        self.finished_at: float | None = None
        self.requested_tags: list[str] = []
        self.size: int | None = None
        self.warnings: list[str] = []
        self.progress_line = ""
        self.containers: list[str] = []
        self.replay_of: str | None = None
        self.version = 0
        self._error: str | None = None  # set by fail(): a reason the operation found, not the stream
        self._upload: tuple[int, int | None] | None = None
        self._listeners: list[Callable] = []
        self._lock = threading.RLock()
        self._log_files: dict[str, object] = {}
        self._rows: list[BuildKitStepProgress] = []
        # The rows are made again only after a change to the build itself, not after a touch (the image
        # size, the cache explanations), which the views read without new rows.
        self._row_changes = 0
        self._rows_version = -1

    # -- what the views read ---------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.graph.state

    @property
    def finished(self) -> bool:
        return self.graph.state != BUILDING

    @property
    def image_id(self) -> str | None:
        return self.graph.image_id

    @property
    def tags(self) -> list[str]:
        return self.graph.tags

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self.graph.tags = list(value)

    @property
    def error(self) -> str | None:
        return self._error or self.graph.error

    @error.setter
    def error(self, value: str | None) -> None:
        self._error = value

    @property
    def exit_code(self) -> int | None:
        failure = self.graph.failure()
        return failure.exit_code if failure else self.graph.exit_code

    @property
    def steps(self) -> list[BuildKitStepProgress]:
        """All rows: internal vertices and the Dockerfile's instructions (skipped ones included)."""
        with self._lock:
            if self._rows_version != self._row_changes:
                critical = set(self.graph.critical_digests()) if self.finished else set()
                rows = []
                for step in self.graph.steps():
                    tail = self.graph.logs.get(step.digest) if step.digest else None
                    if step.internal and step.instruction in CONTEXT_VERTICES and self._upload:
                        step = _with_upload(step, self._upload)
                    row = BuildKitStepProgress(step, self._log_path(step.digest), step.digest in critical,
                                               tail.clipped_at if tail else None, self.clock)
                    row.stage = self._stage_name(step)
                    if step.key.startswith("stage:"):  # the instruction as the Dockerfile says it
                        _, stage, position = step.key.split(":")
                        row.instruction = self.graph.stages[int(stage)].instructions[int(position)]
                    rows.append(row)
                self._rows, self._rows_version = rows, self._row_changes
            return self._rows

    def _stage_name(self, step: BuildKitStep) -> str:
        """The stage's name, or its index for an unnamed one ("" for internal rows)."""
        if not step.key.startswith("stage:"):
            return step.stage
        stage = self.graph.stages[int(step.key.split(":")[1])]
        return stage.name or str(stage.index)

    @property
    def instruction_steps(self) -> list[BuildKitStepProgress]:
        """One row per Dockerfile instruction, in file order, stage by stage."""
        return [step for step in self.steps if not step.internal]

    @property
    def current_step(self) -> BuildKitStepProgress | None:
        running = [s for s in self.instruction_steps if s.state == RUNNING]
        if running:
            return running[-1]
        started = [s for s in self.instruction_steps if s.started_at is not None]
        return max(started, key=lambda s: s.started_at) if started else None

    @property
    def total_steps(self) -> int:
        return max((s.total for s in self.steps), default=0)

    @property
    def cached_count(self) -> int:
        return sum(1 for s in self.instruction_steps if s.cached)

    @property
    def failed_step(self) -> BuildKitStepProgress | None:
        failure = self.graph.failure()
        if failure is None or failure.step is None:
            return None
        return next((s for s in self.steps if s.key == failure.step.key), None)

    @property
    def clipped_steps(self) -> list[BuildKitStepProgress]:
        return [s for s in self.steps if s.clipped]

    # -- updates ---------------------------------------------------------------------------------
    def apply(self, event) -> None:
        """Update the state from one BuildKit event, writing its log bytes to the vertices' files."""
        with self._lock:
            self._row_changes += 1
            if isinstance(event, TraceStatus) and not self.finished:
                for log in event.status.logs:
                    self._log_file(log.vertex).write(log.data)
            self.graph.apply(event)
            if self.finished:
                self._end()
        self._changed()

    def upload(self, sent: int, total: int | None) -> None:
        """The client sent ``sent`` bytes of the context (of ``total``): BuildKit says nothing of this
        without a session, so the operation counts it and shows it on the context's row."""
        with self._lock:
            self._row_changes += 1
            self._upload = (sent, total)
            self.progress_line = f"sending the build context: {sent} bytes" + (f" of {total}" if total else "")
        self._changed()

    def finish(self) -> None:
        """The stream ended: done if it named an image, failed otherwise (unless it said why already)."""
        with self._lock:
            self._row_changes += 1
            self.graph.finish()
            self._end()
            for step in self.clipped_steps:
                self.warnings.append(
                    f"The engine clipped the output of {step.label or step.instruction} "
                    f"({step.instruction[:60]}) at its log limit ({step.clipped_at}): the step ran on, "
                    f"but the rest of its output was not sent; {CLIPPED_LOG_ADVICE}.")
        self._changed()

    def fail(self, message: str, exit_code: int | None = None) -> None:
        with self._lock:
            self._row_changes += 1
            if self.graph.state == BUILDING:
                self.graph.apply(BuildError(message, exit_code))
                self._end()
            else:
                self._error = message
                self.graph.state = FAILED
        self._changed()

    def cancel(self) -> None:
        with self._lock:
            self._row_changes += 1
            if self.graph.state in (BUILDING, FAILED):
                self.graph.state = CANCELLED
                self.graph._close_logs()
            self._end()
        self._changed()

    # -- log files -------------------------------------------------------------------------------
    def _log_path(self, digest: str | None) -> str:
        name = digest.split(":")[-1][:16] if digest else "none"
        return os.path.join(self.log_dir, f"vertex-{name}.log")

    def _log_file(self, digest: str):
        handle = self._log_files.get(digest)
        if handle is None:
            self.log_dir_maker()
            handle = self._log_files[digest] = open(self._log_path(digest), "ab")
        return handle

    def _end(self) -> None:
        if self.finished_at is None:
            self.finished_at = self.clock()
        for handle in self._log_files.values():
            handle.close()
        self._log_files.clear()


def _with_upload(step: BuildKitStep, upload: tuple[int, int | None]) -> BuildKitStep:
    """The context's row with the bytes the client sent as its first status."""
    sent, total = upload
    status = VertexStatus(id="upload", vertex=step.digest or "", name="sending the build context",
                          current=sent, total=total or 0, started=step.started,
                          completed=step.completed if step.state in (DONE, CACHED) else None)
    return replace(step, statuses=(status, *step.statuses))
