"""A BuildKit build as ``docker buildx build --progress=plain`` prints it, from the model's state::

    #1 [internal] load build definition from Dockerfile
    #1 transferring dockerfile: 31B done
    #1 DONE 0.0s

    #5 [2/3] RUN echo hello
    #5 0.412 hello
    #5 DONE 0.1s

Vertices are numbered in the order the engine first reported them (as buildx numbers them) and shown in
the order they started; those that never started are left out, as buildx leaves them out. A failed build
ends with the failing step's last lines and the error, between buildx's ``------`` rules. Log lines are
shown as text with control characters made visible.
"""

from __future__ import annotations

from ..models.build import displayable
from ..models.buildkit_graph import CACHED, CANCELLED, FAILED, BuildKitGraph

FAILURE_LINES = 10


def _status_line(number: int, status) -> str:
    parts = [f"#{number} {displayable(status.name or status.id)}"]  # the engine names it in the ID
    if status.total:
        parts.append(f"{status.current / 1e6:.2f}MB / {status.total / 1e6:.2f}MB")
    elif status.current:
        parts.append(f"{status.current / 1e6:.2f}MB")
    if status.started is not None and status.completed is not None:
        parts.append(f"{max(0.0, status.completed - status.started):.1f}s done")
    return " ".join(parts)


def _log_lines(graph: BuildKitGraph, number: int, digest: str, started: float | None, last: int | None = None):
    tail = graph.logs.get(digest)
    if tail is None:
        return []
    lines = tail.all_lines()
    if last is not None:
        lines = lines[-last:]
    out = []
    for text, _, timestamp in lines:
        offset = timestamp - started if timestamp is not None and started is not None else 0.0
        out.append(f"#{number} {max(0.0, offset):.3f} {text}")  # the model keeps lines displayable
    return out


def render_plain(graph: BuildKitGraph) -> str:
    """The whole build so far, as text (no trailing newline)."""
    numbers = {digest: index for index, digest in enumerate(graph.vertices, start=1)}
    started = [v for v in graph.vertices.values() if v.started is not None or v.cached]
    started.sort(key=lambda v: (v.started is None, v.started or 0.0, numbers[v.digest]))
    blocks = []
    for vertex in started:
        number = numbers[vertex.digest]
        lines = [f"#{number} {displayable(vertex.name)}"]
        lines += _log_lines(graph, number, vertex.digest, vertex.started)
        lines += [_status_line(number, s) for s in graph.statuses_of(vertex.digest)]
        state = graph.vertex_state(vertex)
        if state == CACHED:
            lines.append(f"#{number} CACHED")
        elif state in (FAILED, CANCELLED) and vertex.error:
            lines.append(f"#{number} {'CANCELED' if state == CANCELLED else 'ERROR'}: {displayable(vertex.error)}")
        elif vertex.completed is not None:
            seconds = max(0.0, vertex.completed - vertex.started) if vertex.started is not None else 0.0
            lines.append(f"#{number} DONE {seconds:.1f}s")
        blocks.append("\n".join(lines))
    ending = failure_block(graph, numbers)
    if ending:
        blocks.append(ending)
    return "\n\n".join(blocks)


def failure_block(graph: BuildKitGraph, numbers: dict[str, int]) -> str:
    """buildx's ending of a failed build: the failing step's last lines between rules, then the error."""
    failure = graph.failure()
    if failure is None:
        return ""
    ending = []
    if failure.step is not None and failure.step.digest and failure.step.state == FAILED:
        vertex = graph.vertices[failure.step.digest]
        ending += ["------", f" > {displayable(vertex.name)}:"]
        ending += _log_lines(graph, numbers[vertex.digest], vertex.digest, vertex.started, FAILURE_LINES)
        ending.append("------")
    ending.append(f"ERROR: {displayable(failure.error)}")
    return "\n".join(ending)


class PlainPrinter:
    """Prints a BuildKit build as it comes, in ``docker buildx build --progress=plain``'s format: a vertex's
    ``#N name`` when it starts, its lines as they end, ``#N DONE 0.4s`` / ``CACHED`` / ``ERROR`` when it
    ends; at the end, a failure's last lines and error. Fed the same events as the model."""

    def __init__(self, write):
        self.graph = BuildKitGraph()
        self._write = write
        self._numbers: dict[str, int] = {}
        self._announced: set[str] = set()
        self._printed: dict[str, int] = {}
        self._statuses: set[str] = set()
        self._ended: set[str] = set()
        self._last: str | None = None

    def __call__(self, event) -> None:
        from ..parsing.buildkit_trace import TraceStatus

        self.graph.apply(event)
        if not isinstance(event, TraceStatus):
            return
        status = event.status
        for vertex in status.vertexes:
            self._numbers.setdefault(vertex.digest, len(self._numbers) + 1)
        touched = dict.fromkeys([v.digest for v in status.vertexes] + [log.vertex for log in status.logs]
                                + [s.vertex for s in status.statuses])
        for digest in touched:
            if digest in self.graph.vertices:
                self._show(digest)

    def _line(self, digest: str, text: str) -> None:
        if self._last is not None and self._last != digest:
            self._write("\n")
        self._last = digest
        self._write(text + "\n")

    def _show(self, digest: str) -> None:
        vertex = self.graph.vertices[digest]
        number = self._numbers[digest]
        if vertex.started is None and not vertex.cached:
            return
        if digest not in self._announced:
            self._announced.add(digest)
            self._line(digest, f"#{number} {displayable(vertex.name)}")
        tail = self.graph.logs.get(digest)
        if tail is not None:
            new = tail.line_count - self._printed.get(digest, 0)
            if new > 0:
                for text, _, timestamp in list(tail.lines)[-new:]:
                    offset = timestamp - vertex.started if timestamp is not None and vertex.started else 0.0
                    self._line(digest, f"#{number} {max(0.0, offset):.3f} {text}")
                self._printed[digest] = tail.line_count
        for status in self.graph.statuses_of(digest):
            if status.completed is not None and status.id not in self._statuses:
                self._statuses.add(status.id)
                self._line(digest, _status_line(number, status))
        if digest in self._ended:
            return
        state = self.graph.vertex_state(vertex)
        if state == CACHED:
            self._ended.add(digest)
            self._line(digest, f"#{number} CACHED")
        elif state in (FAILED, CANCELLED) and vertex.error:
            self._ended.add(digest)
            word = "CANCELED" if state == CANCELLED else "ERROR"
            self._line(digest, f"#{number} {word}: {displayable(vertex.error)}")
        elif vertex.completed is not None:
            self._ended.add(digest)
            seconds = max(0.0, vertex.completed - vertex.started) if vertex.started is not None else 0.0
            self._line(digest, f"#{number} DONE {seconds:.1f}s")

    def finish(self) -> None:
        """The stream ended: lines left open, and a failure's ending."""
        self.graph.finish()
        for digest in list(self._numbers):
            if digest in self.graph.vertices:
                self._show(digest)
        ending = failure_block(self.graph, self._numbers)
        if ending:
            self._write("\n" + ending + "\n")
