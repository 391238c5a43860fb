"""Notices: one line for the user, written to stderr (or the stream given) and shown at once."""

from __future__ import annotations

import sys


def notify(text: str, stream=None) -> None:
    """Write ``text`` as a line (or lines) to ``stream`` (default ``sys.stderr``) and flush it, so it shows
    before whatever slow work follows."""
    stream = stream or sys.stderr
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()
