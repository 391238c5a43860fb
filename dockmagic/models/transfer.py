"""The state of a pull or a push, updated from the events of :mod:`dockmagic.parsing.transfer_stream`:
each layer's phase and bytes, the totals, the speed, and the lines the docker CLI would print."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..parsing.transfer_stream import (
    ALREADY_EXISTS,
    DONE,
    DOWNLOADING,
    EXTRACTING,
    PUSHING,
    LayerProgress,
    TransferDigest,
    TransferFailed,
    TransferNote,
)

PULL = "pull"
PUSH = "push"


@dataclass
class LayerState:
    """One layer: its phase, the engine's last words for it, and its bytes.

    ``size`` is the layer's size as the transfer counts it (compressed for a pull, as sent for a push),
    ``moved`` the bytes downloaded or pushed so far, ``extracted`` the bytes unpacked (pull only)."""

    id: str
    phase: str
    status: str
    size: int | None = None
    moved: int = 0
    extracted: int = 0

    @property
    def already_existed(self) -> bool:
        return self.phase == ALREADY_EXISTS

    @property
    def finished(self) -> bool:
        return self.phase in (DONE, ALREADY_EXISTS)


@dataclass
class TransferProgress:
    """A pull or push as it goes. Views subscribe with :meth:`subscribe`; every :meth:`apply` calls them."""

    kind: str
    reference: str
    clock: Callable[[], float] = time.monotonic
    layers: dict[str, LayerState] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    digest: str = ""
    error: str = ""
    started: float | None = None
    ended: float | None = None
    version: int = 0

    def __post_init__(self):
        self._listeners: list[Callable[[TransferProgress], None]] = []
        self._lock = threading.Lock()
        # The CLI's order: the first note, then the layers as they appear, then the later notes.
        self._lines: list[tuple[str, str]] = []

    # -- updates -----------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[TransferProgress], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        self.version += 1
        for listener in self._listeners:
            listener(self)

    def start(self) -> None:
        self.started = self.clock()
        self._changed()

    def apply(self, event) -> None:
        """Update the state from one parsed event (None is ignored)."""
        if event is None:
            return
        with self._lock:
            if self.started is None:
                self.started = self.clock()
            if isinstance(event, LayerProgress):
                self._apply_layer(event)
            elif isinstance(event, TransferDigest):
                self.digest = event.digest
                if event.line:
                    self._lines.append(("note", event.line))
            elif isinstance(event, TransferNote):
                self.notes.append(event.text)
                self._lines.append(("note", event.text))
            elif isinstance(event, TransferFailed):
                self.error = event.message
        self._changed()

    def _apply_layer(self, event: LayerProgress) -> None:
        layer = self.layers.get(event.layer)
        if layer is None:
            layer = self.layers[event.layer] = LayerState(event.layer, event.phase, event.status)
            self._lines.append(("layer", event.layer))
        layer.phase, layer.status = event.phase, event.status
        if event.phase in (DOWNLOADING, PUSHING):
            if event.total:
                layer.size = event.total
            if event.current is not None:
                # A push's last "current" can pass its total (framing): count no more than the layer.
                layer.moved = min(event.current, layer.size) if layer.size else event.current
        elif event.phase == EXTRACTING:
            if event.total:
                layer.size = layer.size or event.total
                layer.moved = layer.size
            if event.current is not None:
                layer.extracted = event.current
        elif event.phase == DONE and layer.size:
            layer.moved = layer.size
            if self.kind == PULL:
                layer.extracted = layer.size

    def finish(self, error: str = "") -> None:
        """The transfer ended (with ``error``, the reason it failed, if it did)."""
        with self._lock:
            if error:
                self.error = error
            self.ended = self.clock()
        self._changed()

    # -- derived -----------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.ended is not None

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else self.clock()) - self.started

    @property
    def moved_bytes(self) -> int:
        """Bytes downloaded (pull) or sent (push) so far, over every layer."""
        return sum(layer.moved for layer in self.layers.values())

    @property
    def total_bytes(self) -> int:
        """The bytes to move, over the layers whose size is known (not those that already existed)."""
        return sum(layer.size or 0 for layer in self.layers.values() if not layer.already_existed)

    @property
    def speed(self) -> float:
        """Bytes a second since the transfer started (0 before anything moved)."""
        elapsed = self.elapsed
        return self.moved_bytes / elapsed if elapsed > 0 else 0.0

    @property
    def existing_layers(self) -> list[LayerState]:
        return [layer for layer in self.layers.values() if layer.already_existed]

    def lines(self) -> list[tuple[str, str]]:
        """``("note", text)`` and ``("layer", id)`` in the order the docker CLI prints them."""
        with self._lock:
            return list(self._lines)
