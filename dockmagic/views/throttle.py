"""At most one widget update an interval: the rule every live view follows (a stream can change its model
thousands of times a second; a page needs ~10 updates)."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import traceback
from collections.abc import Callable

MAX_SPACING = 0.5  # seconds: the longest a flush waits for the previous one to be an interval old


class Call:
    """A call :func:`call_later` will make, unless cancelled first."""

    def __init__(self, when: float, function, args):
        self.when, self.function, self.args = when, function, args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _Later:
    """One thread that makes calls at their time (a build's view 0.2 s in, the views' trailing flushes):
    starting a thread for each cost more than a cached rebuild's whole view. Started on first use; a daemon."""

    def __init__(self):
        self._condition = threading.Condition()
        self._calls: list[tuple[float, int, Call]] = []  # a heap, soonest first
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def call(self, delay: float, function, *args) -> Call:
        entry = Call(time.monotonic() + delay, function, args)
        with self._condition:
            heapq.heappush(self._calls, (entry.when, next(self._count), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dockmagic-later", daemon=True)
                self._thread.start()
            elif self._calls[0][2] is entry:  # sooner than what the thread waits for
                self._condition.notify()
        return entry

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._calls or self._calls[0][0] > time.monotonic():
                    self._condition.wait(self._calls[0][0] - time.monotonic() if self._calls else None)
                _, _, entry = heapq.heappop(self._calls)
            if not entry.cancelled:
                try:
                    entry.function(*entry.args)
                except Exception:  # noqa: BLE001 (one failed call must not stop the others)
                    traceback.print_exc()


_later = _Later()


def call_later(delay: float, function, *args) -> Call:
    """Call ``function(*args)`` on the views' one timer thread in ``delay`` seconds (``.cancel()`` to drop it)."""
    return _later.call(delay, function, *args)


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
        self._timer: Call | None = None

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
                self._timer = call_later(wait, self._timed_flush)
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
