"""The engine's pull and push progress messages as typed events: pure functions over the decoded dicts.

A pull (``POST /images/create``) and a push (``POST /images/{name}/push``) stream the same dialect:
``{"status": "Downloading", "progressDetail": {"current": 203776, "total": 20006291}, "id": "eb3ed31c7b1a"}``
for a layer, ``{"status": "Digest: sha256:..."}`` and ``{"status": "Status: Downloaded newer image for ..."}``
for the whole image, ``{"aux": {"Tag", "Digest", "Size"}}`` at the end of a push, and
``{"error": ..., "errorDetail": {"message": ...}}`` for a failure. Podman speaks a subset of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a layer is doing, from the engine's words. Each phase is a column the views understand.
WAITING = "waiting"          # Pulling fs layer, Waiting, Preparing
DOWNLOADING = "downloading"
VERIFYING = "verifying"      # Verifying Checksum, Download complete
EXTRACTING = "extracting"
PUSHING = "pushing"
DONE = "done"                # Pull complete, Pushed, Mounted from ...
ALREADY_EXISTS = "already exists"  # Already exists (pull), Layer already exists (push)
RETRYING = "retrying"        # Retrying in N seconds

LAYER_PHASES = {
    "Pulling fs layer": WAITING,
    "Waiting": WAITING,
    "Preparing": WAITING,
    "Downloading": DOWNLOADING,
    "Verifying Checksum": VERIFYING,
    "Download complete": VERIFYING,
    "Extracting": EXTRACTING,
    "Pushing": PUSHING,
    "Pull complete": DONE,
    "Pushed": DONE,
    "Already exists": ALREADY_EXISTS,
    "Layer already exists": ALREADY_EXISTS,
}

_LAYER_ID = re.compile(r"^[0-9a-f]{12,64}$")
_PUSH_DIGEST = re.compile(r"^(?P<tag>\S+): digest: (?P<digest>sha256:[0-9a-f]{64}) size: (?P<size>\d+)$")


@dataclass(frozen=True)
class LayerProgress:
    """A layer moved on: its ``phase`` (one of the constants above), the engine's ``status`` words, and
    the bytes done of that phase (``current`` of ``total``, None when the message gave none)."""

    layer: str
    phase: str
    status: str
    current: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class TransferNote:
    """A line about the whole image: ``Pulling from library/busybox``, ``The push refers to ...``,
    ``Status: Downloaded newer image for ...``."""

    text: str


@dataclass(frozen=True)
class TransferDigest:
    """The image's manifest digest (``Digest: sha256:...`` of a pull, the ``aux`` of a push); ``line``
    is the engine's own line for it (empty for the ``aux`` that repeats a push's digest)."""

    digest: str
    size: int | None = None
    line: str = ""


@dataclass(frozen=True)
class TransferFailed:
    """The engine reported an error; ``message`` is its own words."""

    message: str


TransferEvent = LayerProgress | TransferNote | TransferDigest | TransferFailed


def parse_transfer_message(message: object) -> TransferEvent | None:
    """One decoded progress message as an event; None for a message that says nothing new (an empty
    ``aux`` echo, a non-dict)."""
    if not isinstance(message, dict):
        return None
    if message.get("error") or message.get("errorDetail"):
        detail = message.get("errorDetail") or {}
        text = message.get("error") or (detail.get("message") if isinstance(detail, dict) else "") or ""
        return TransferFailed(str(text).strip())
    aux = message.get("aux")
    if isinstance(aux, dict) and aux.get("Digest"):
        size = aux.get("Size")
        return TransferDigest(str(aux["Digest"]), size if isinstance(size, int) else None)
    status = str(message.get("status") or "").strip()
    if not status:
        return None
    layer = str(message.get("id") or "")
    if layer and _LAYER_ID.match(layer):
        return _layer_event(layer, status, message.get("progressDetail"))
    if status.startswith("Digest: "):
        return TransferDigest(status[len("Digest: "):].strip(), line=status)
    pushed = _PUSH_DIGEST.match(status)
    if pushed:
        return TransferDigest(pushed["digest"], int(pushed["size"]), line=status)
    # "Pulling from X" carries the tag as its id: keep both, as the CLI prints them ("latest: Pulling from X").
    return TransferNote(f"{layer}: {status}" if layer else status)


def _layer_event(layer: str, status: str, detail) -> LayerProgress:
    phase = LAYER_PHASES.get(status)
    if phase is None:
        if status.startswith("Mounted from"):
            phase = DONE
        elif status.startswith("Retrying"):
            phase = RETRYING
        else:
            phase = WAITING
    current = total = None
    if isinstance(detail, dict):
        current = _count(detail.get("current"))
        total = _count(detail.get("total"))
    return LayerProgress(layer, phase, status, current, total)


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def cli_line(message: object) -> str:
    """One progress message as one line of the docker CLI's output: ``eb3ed31c7b1a: Downloading
    7.58MB/20.01MB``, ``Digest: sha256:...``; empty for a message the CLI does not print."""
    if not isinstance(message, dict):
        return ""
    event = parse_transfer_message(message)
    if event is None:
        return ""
    if isinstance(event, TransferFailed):
        return event.message
    if isinstance(event, TransferDigest):
        return event.line
    if isinstance(event, TransferNote):
        return event.text
    sizes = ""
    if event.current is not None and event.total:
        sizes = f" {cli_progress_size(event.current)}/{cli_progress_size(event.total)}"
    return f"{event.layer}: {event.status}{sizes}"


def cli_progress_size(size: int) -> str:
    """A size as the CLI's progress bars print it (go-units HumanSizeWithPrecision(size, 4)): 20.01MB."""
    units = ("B", "kB", "MB", "GB", "TB")
    value, index = float(size), 0
    while value >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{value:.4g}{units[index]}"
