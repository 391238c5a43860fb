"""A BuildKit build as ``docker buildx build --progress=plain`` prints it, from the model's state::

    #1 [internal] load remote build context
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
        out.append(f"#{number} {max(0.0, offset):.3f} {displayable(text)}")
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
    failure = graph.failure()
    if failure is not None:
        ending = []
        if failure.step is not None and failure.step.digest and failure.step.state == FAILED:
            vertex = graph.vertices[failure.step.digest]
            ending += ["------", f" > {displayable(vertex.name)}:"]
            ending += _log_lines(graph, numbers[vertex.digest], vertex.digest, vertex.started, FAILURE_LINES)
            ending.append("------")
        ending.append(f"ERROR: {displayable(failure.error)}")
        blocks.append("\n".join(ending))
    return "\n\n".join(blocks)
