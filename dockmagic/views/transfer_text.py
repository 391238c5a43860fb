"""The text of a pull or push, as the docker CLI prints it, and its one-line summary."""

from __future__ import annotations

from ..models.transfer import PULL, LayerState, TransferProgress
from ..parsing.transfer_stream import DOWNLOADING, EXTRACTING, PUSHING, cli_progress_size
from .units import human_size

BAR_WIDTH = 50


def layer_line(layer: LayerState) -> str:
    """``eb3ed31c7b1a: Downloading [=====>    ]  7.58MB/20.01MB`` while bytes move, else the engine's
    last words for the layer (``Pull complete``, ``Already exists``, ``Pushed``)."""
    if layer.phase in (DOWNLOADING, PUSHING, EXTRACTING) and layer.size:
        done = layer.extracted if layer.phase == EXTRACTING else layer.moved
        sizes = f"{cli_progress_size(done)}/{cli_progress_size(layer.size)}"
        return f"{layer.id}: {layer.status} {progress_bar(done, layer.size)} {sizes}"
    return f"{layer.id}: {layer.status}"


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """The CLI's bar: ``[=====>     ]``."""
    filled = min(width, int(width * done / total)) if total else 0
    arrow = ">" if filled < width else "="
    return "[" + "=" * filled + (arrow + " " * (width - filled - 1) if filled < width else "") + "]"


def transfer_text(progress: TransferProgress) -> str:
    """Every line the docker CLI shows for this pull or push, then the summary (and the error, if any)."""
    lines = []
    for kind, value in progress.lines():
        if kind == "layer":
            lines.append(layer_line(progress.layers[value]))
        else:
            lines.append(value)
    lines.append(transfer_summary(progress))
    return "\n".join(lines)


def transfer_summary(progress: TransferProgress) -> str:
    """``Pulled 127.0.0.1:5000/x:1: 20MB in 1.2 s (16.7MB/s); 1 layer already existed.``"""
    verb = "Pull" if progress.kind == PULL else "Push"
    existing = len(progress.existing_layers)
    existed = f"; {existing} layer{'s' if existing != 1 else ''} already existed" if existing else ""
    moved = f"{human_size(progress.moved_bytes)}"
    if progress.total_bytes and not progress.finished:
        moved += f" of {human_size(progress.total_bytes)}"
    timing = f"in {progress.elapsed:.1f} s ({human_size(int(progress.speed))}/s)"
    if progress.error:
        return f"{verb} of {progress.reference} failed after {moved} {timing}: {progress.error}"
    if not progress.finished:
        return f"{verb}ing {progress.reference}: {moved} {timing}{existed}"
    if not progress.moved_bytes:
        nothing = "nothing to download" if progress.kind == PULL else "nothing to send"
        return f"{verb}ed {progress.reference} in {progress.elapsed:.1f} s: {nothing}{existed}."
    return f"{verb}ed {progress.reference}: {moved} {timing}{existed}."
