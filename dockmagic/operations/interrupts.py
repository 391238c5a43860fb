"""Deferring Ctrl-C while a request must not be cut in the middle."""

from __future__ import annotations

import signal
import threading


class DeferredInterrupts:
    """In a ``with`` block, SIGINT (Ctrl-C, the notebook's stop button) only counts: ``count`` says how
    many came, and the code inside decides when to act on them. With ``raise_after=N``, interrupt
    number N+1 raises KeyboardInterrupt after all (a user who insists is not ignored). Outside the main
    thread, where no signal handler can be set, nothing changes."""

    def __init__(self, raise_after: int | None = None):
        self.raise_after = raise_after
        self.count = 0
        self._previous = None

    def _handle(self, signum, frame):
        self.count += 1
        if self.raise_after is not None and self.count > self.raise_after:
            raise KeyboardInterrupt

    def __enter__(self) -> DeferredInterrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> bool:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
