"""The live view of a pull or push: an anywidget fed from a :class:`TransferProgress`, at most ~10
updates a second (a 200 MB pull sends thousands of progress messages; the page needs a few a second)."""

from __future__ import annotations

import pathlib

import anywidget
import traitlets

from ..models.transfer import TransferProgress
from .display import escape, widget_bundle
from .throttle import Throttle
from .transfer_text import transfer_summary, transfer_text
from .widget_scripts import widget_script

STATIC = pathlib.Path(__file__).parent / "static"
# At most 8 updates a second while it runs: with the two that the transfer's end sends at once, never more than
# the 10 a second a view may send.
FLUSH_INTERVAL_SECONDS = 0.125


class TransferWidget(anywidget.AnyWidget):
    """A header with the totals and speed, then one row per layer with its bar (download or push, and
    extract for a pull); layers that already existed say so."""

    _esm = widget_script("transfer_view.js")
    _css = STATIC / "transfer_view.css"

    header = traitlets.Dict().tag(sync=True)
    layers = traitlets.List().tag(sync=True)


def header_state(progress: TransferProgress) -> dict:
    """What the widget's header shows: kind, reference, state, bytes, speed, digest, error, summary."""
    if progress.error:
        state = "failed"
    elif progress.finished:
        state = "done"
    else:
        state = "running"
    return {
        "kind": progress.kind,
        "reference": progress.reference,
        "state": state,
        "moved": progress.moved_bytes,
        "total": progress.total_bytes,
        "speed": progress.speed,
        "elapsed": progress.elapsed,
        "existing": len(progress.existing_layers),
        "digest": progress.digest,
        "error": progress.error,
        "summary": transfer_summary(progress),
    }


def layer_states(progress: TransferProgress) -> list[dict]:
    """One dict per layer, in the order the layers appeared."""
    return [{"id": layer.id, "phase": layer.phase, "status": layer.status, "size": layer.size,
             "moved": layer.moved, "extracted": layer.extracted} for layer in list(progress.layers.values())]


class LiveTransferView:
    """Keeps a :class:`TransferWidget` in step with a :class:`TransferProgress`, throttled."""

    def __init__(self, progress: TransferProgress, widget: TransferWidget | None = None,
                 interval: float = FLUSH_INTERVAL_SECONDS):
        self.progress = progress
        self.widget = widget or TransferWidget(header=header_state(progress), layers=layer_states(progress))
        self._throttle = Throttle(self._send, interval)
        progress.subscribe(lambda model: self._throttle.changed(final=model.finished))

    @property
    def flushes(self) -> int:
        return self._throttle.flushes

    def flush(self) -> None:
        """Send the header and the layers now, in one message, if they changed."""
        self._throttle.flush(final=True)

    def _send(self) -> None:
        header, layers = header_state(self.progress), layer_states(self.progress)
        with self.widget.hold_sync():
            if header != self.widget.header:
                self.widget.header = header
            if layers != self.widget.layers:
                self.widget.layers = layers

    def close(self) -> None:
        self._throttle.cancel()

    def _repr_mimebundle_(self, include=None, exclude=None):
        text = transfer_text(self.progress)
        return widget_bundle(self.widget, text, f"<pre>{escape(text)}</pre>")
