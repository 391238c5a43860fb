"""At most one widget update an interval: the rule every live view follows (a stream can change its model
thousands of times a second; a page needs ~10 updates)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_SPACING = 0.5  # seconds: the longest a flush waits for the previous one to be an interval old


class Throttle:
    """Calls ``flush`` at most once per ``interval`` seconds: a change within the interval of the last
    flush arms one trailing flush that carries every change until then, so the last changes before a
    quiet spell are never held back. ``final`` flushes at once (the model finished)."""

    def __init__(self, flush: Callable[[], None], interval: float):
        self._flush = flush
        self.interval = interval
        self.flushes = 0
        self._last = time.monotonic()
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None

    def changed(self, final: bool = False) -> None:
        if final:
            self.cancel()
            self.flush(final=True)
            return
        with self._lock:
            if self._timer is not None:
                return  # a flush is already due; it will carry this change too
            wait = self.interval - (time.monotonic() - self._last)
            if wait > 0:
                self._timer = threading.Timer(wait, self._timed_flush)
                self._timer.daemon = True
                self._timer.start()
                return
        self.flush()

    def flush(self, final: bool = False) -> None:
        """Flush now, or once ``interval`` has passed since the last flush (capped at ``MAX_SPACING``: a
        view made with a long interval, as tests make them, never blocks its model for long). A ``final``
        flush (the model ended, the view is closing) goes at once: the cell must not wait on the view, and
        a flush that finds nothing new sends nothing (widgets sync only what changed)."""
        with self._lock:
            wait = min(self.interval, MAX_SPACING) - (time.monotonic() - self._last)
            if wait > 0 and not final:
                time.sleep(wait)
            self._flush()
            self.flushes += 1
            self._last = time.monotonic()

    def _timed_flush(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()

    def cancel(self) -> None:
        """Drop a flush that is due (the view is closing)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
