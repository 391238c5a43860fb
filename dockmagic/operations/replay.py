"""Replaying a recorded build: a JSON-lines file written by ``build(record=...)`` (``%%dockerfile --record``)
read back into a :class:`BuildProgress`, marked as a replay with the time it was recorded."""

from __future__ import annotations

import json
import os
import tempfile

from ..errors import DockmagicError
from ..models.build import BuildProgress
from ..parsing.build_stream import build_events


def read_recording(path: str) -> tuple[dict, list]:
    """The header and the ``(seconds, message)`` pairs of a recording."""
    if not os.path.exists(path):
        raise DockmagicError(f"No recording at {path!r}. Make one with %%dockerfile --record FILE.")
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    try:
        header = json.loads(lines[0]) if lines else {}
    except ValueError:
        header = {}
    if not isinstance(header, dict) or header.get("dockmagic_recording") != 1:
        raise DockmagicError(f"{path!r} is not a dockmagic recording (its first line has no dockmagic_recording header).")
    messages = []
    for number, line in enumerate(lines[1:], 2):
        try:
            entry = json.loads(line)
            messages.append((float(entry.get("t", 0.0)), entry["message"]))
        except (ValueError, KeyError, TypeError):
            raise DockmagicError(f"{path!r}, line {number}: not a recorded message. The file may be damaged.") from None
    return header, messages


def replay_build(path: str, log_dir: str | None = None) -> BuildProgress:
    """The recorded build's final state, rebuilt from its stream exactly as the live view built it."""
    header, timed = read_recording(path)
    if header.get("kind") != "build":
        raise DockmagicError(f"{path!r} records a {header.get('kind')!r}, not a build.")
    now = [0.0]  # the recording's clock: seconds since the build started
    progress = BuildProgress(log_dir or tempfile.mkdtemp(prefix="dockmagic-replay-"),
                             engine=header.get("engine", ""), clock=lambda: now[0])
    progress.replay_of = header.get("recorded_at", "at an unknown time")

    def messages():
        for offset, message in timed:
            now[0] = offset
            yield message

    for event in build_events(messages()):
        progress.apply(event)
    progress.finish()
    return progress
