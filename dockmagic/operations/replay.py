"""Recordings read back: a build's raw stream (``%%dockerfile --record``) into a :class:`BuildProgress`, and
a container's change list (``%docker_diff --record``) into a :class:`ContainerDiff`, each marked as a
replay with the time it was recorded."""

from __future__ import annotations

import json
import os
import time

from ..errors import InvalidInput
from ..models.build import BuildProgress
from ..models.build_buildkit import BuildKitProgress
from ..parsing.build_stream import build_events
from .build_logs import new_log_folder


def read_recording(path: str) -> tuple[dict, list]:
    """The header and the ``(seconds, message)`` pairs of a recording."""
    if not os.path.exists(path):
        raise InvalidInput(f"No recording at {path!r}. Make one with %%dockerfile --record FILE.")
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    header = _header(path, lines)
    messages = []
    for number, line in enumerate(lines[1:], 2):
        try:
            entry = json.loads(line)
            messages.append((float(entry.get("t", 0.0)), entry["message"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(f"{path!r}, line {number}: not a recorded message. The file may be damaged.") from None
    return header, messages


def diff_summary(diff) -> dict:
    """What a recording keeps of a diff besides its changes (the container, its image, the engine)."""
    return {"engine": diff.engine, "container": diff.container, "container_id": diff.container_id,
            "image": diff.image, "sizes": diff.sizes is not None}


def diff_from_recording(summary: dict, changes, recorded_at: str):
    """The :class:`ContainerDiff` a recording holds: its :func:`diff_summary` and its ``(kind, path, size)``
    changes, in the order the engine gave them, marked as a replay of ``recorded_at``."""
    from .diff import Change, ContainerDiff

    changes = [Change(kind, path, size) for kind, path, size in changes]
    sizes = {c.path: c.size for c in changes if c.size is not None} if summary.get("sizes") else None
    return ContainerDiff(container=summary.get("container", "?"), container_id=summary.get("container_id", ""),
                         image=summary.get("image", ""), changes=changes, sizes=sizes,
                         engine=f"{summary.get('engine', '')} (replay of a diff recorded {recorded_at})")


def record_diff(diff, path: str) -> None:
    """Write a diff's change list as JSON lines: a header, then one change a line."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    header = {"dockmagic_recording": 1, "kind": "diff", **diff_summary(diff),
              "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(header) + "\n")
        for change in diff.changes:
            handle.write(json.dumps({"kind": change.kind, "path": change.path, "size": change.size}) + "\n")


def replay_diff(path: str):
    """The diff recorded in ``path`` (by :func:`record_diff`)."""
    if not os.path.exists(path):
        raise InvalidInput(f"No recording at {path!r}. Make one with %docker_diff --record FILE CONTAINER.")
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    header = _header(path, lines)
    if header.get("kind") != "diff":
        raise InvalidInput(f"{path!r} records a {header.get('kind')!r}, not a diff.")
    try:
        changes = [(entry["kind"], entry["path"], entry.get("size")) for entry in map(json.loads, lines[1:])]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(f"{path!r}: a line is not a recorded change. The file may be damaged.") from None
    return diff_from_recording(header, changes, header.get("recorded_at"))


def recording_kind(path: str) -> str:
    """"build" or "diff": what a recording holds."""
    if not os.path.exists(path):
        raise InvalidInput(f"No recording at {path!r}. Make one with %%dockerfile --record FILE "
                             "or %docker_diff --record FILE CONTAINER.")
    with open(path, encoding="utf-8") as handle:
        return _header(path, [handle.readline()]).get("kind", "")


def _header(path: str, lines: list) -> dict:
    try:
        header = json.loads(lines[0]) if lines else {}
    except ValueError:
        header = {}
    if not isinstance(header, dict) or header.get("dockmagic_recording") != 1:
        raise InvalidInput(f"{path!r} is not a dockmagic recording (its first line has no dockmagic_recording header).")
    return header


def replay_build(path: str, log_dir: str | None = None) -> BuildProgress:
    """The recorded build's final state, rebuilt from its stream exactly as the live view built it, by
    the parser and model of the builder the header names (``legacy`` when it names none: older recordings)."""
    header, timed = read_recording(path)
    if header.get("kind") != "build":
        raise InvalidInput(f"{path!r} records a {header.get('kind')!r}, not a build.")
    log_dir = new_log_folder(log_dir)
    builder = header.get("builder") or "legacy"
    if builder == "buildkit":
        # BuildKit's messages carry the engine's own times: the replay's clock is the build's.
        first = [None]
        progress = BuildKitProgress(log_dir, str(header.get("dockerfile") or ""), header.get("target"),
                                    engine=header.get("engine", ""), clock=lambda: first[0] or 0.0)
        parse = _buildkit_events
    elif builder == "legacy":
        now = [0.0]  # the recording's clock: seconds since the build started
        progress = BuildProgress(log_dir, engine=header.get("engine", ""), clock=lambda: now[0])
        parse = build_events
    else:
        raise InvalidInput(f"{path!r} records a build by {builder!r}, a builder this version does not know.")
    progress.replay_of = header.get("recorded_at", "at an unknown time")

    def messages():
        for offset, message in timed:
            if builder == "legacy":
                now[0] = offset
            yield message

    for event in parse(messages()):
        if builder == "buildkit":
            _follow_engine_clock(first, progress, event)
        progress.apply(event)
    progress.finish()
    return progress


def _buildkit_events(messages):
    from ..parsing.buildkit_trace import parse_buildkit_event

    return map(parse_buildkit_event, messages)


def _follow_engine_clock(clock: list, progress, event) -> None:
    """A BuildKit replay's clock: the latest time the engine's messages name (the first sets the start)."""
    from ..parsing.buildkit_trace import TraceStatus

    if not isinstance(event, TraceStatus):
        return
    times = [t for v in event.status.vertexes for t in (v.started, v.completed) if t is not None]
    times += [log.timestamp for log in event.status.logs if log.timestamp is not None]
    if times:
        if clock[0] is None:
            progress.started_at = min(times)
        clock[0] = max(max(times), clock[0] or 0.0)
