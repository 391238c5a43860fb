"""Counting the bytes of a request body as they go out: the build context's upload, shown with its speed.

A build sends its whole context before the engine says a word; to a remote engine (TLS, ssh) a large context
takes a while, and without a count the user sees nothing move. :class:`CountingReader` wraps the context's
file object: whatever sends it (requests, for either builder) reads through it, and ``on_progress`` is told
how many bytes went and how fast, at most every ``interval`` seconds, and once more at the end.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..views.units import human_size

PROGRESS_INTERVAL_SECONDS = 0.25


@dataclass(frozen=True)
class UploadProgress:
    """How far an upload is: ``sent`` bytes of ``total`` (None when unknown) after ``seconds``; ``done``
    once the body was read to its end."""

    sent: int
    total: int | None
    seconds: float
    done: bool = False

    @property
    def bytes_per_second(self) -> float:
        """The mean speed so far (0.0 before any time passed)."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def fraction(self) -> float | None:
        """``sent / total`` between 0 and 1, or None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.sent / self.total)

    def __str__(self) -> str:
        """``"sent 12MB of 40MB (30%) at 5.1MB/s"``; ``"sent 40MB in 7.8 s (5.1MB/s)"`` when done."""
        speed = f"{human_size(self.bytes_per_second)}/s"
        if self.done:
            return f"sent {human_size(self.sent)} in {self.seconds:.1f} s ({speed})"
        of_total = f" of {human_size(self.total)} ({self.fraction:.0%})" if self.total else ""
        return f"sent {human_size(self.sent)}{of_total} at {speed}"


class CountingReader:
    """A binary file object reading ``fileobj`` from where it stands, telling ``on_progress`` how far it is.

    Args:
        fileobj: the body to send: a seekable binary file (the build context's tar) or bytes.
        on_progress: called with an :class:`UploadProgress`; at most every ``interval`` seconds while
            bytes go, and always once with ``done=True`` when the body was read to its end. An exception
            it raises goes to the sender (and so ends the upload).
        interval: the least time between two calls before the end.
        clock: the time source (monotonic seconds).

    ``len()`` is the bytes left to read, so requests sends a Content-Length, as for the file itself (with
    no ``tell``: requests would take a failing one for "length unknown" and send chunks).
    """

    def __init__(self, fileobj, on_progress: Callable[[UploadProgress], None],
                 interval: float = PROGRESS_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic):
        if isinstance(fileobj, (bytes, bytearray, memoryview)):
            fileobj = io.BytesIO(fileobj)
        self.total = _remaining_length(fileobj)
        if self.total is None:
            raise ValueError("CountingReader needs a seekable file or bytes, to know the upload's size")
        self._file = fileobj
        self._on_progress = on_progress
        self._interval = interval
        self._clock = clock
        self.sent = 0
        self._started: float | None = None
        self._last_report: float | None = None
        self._finished = False

    def readable(self) -> bool:
        return True

    def __len__(self) -> int:
        return max(0, self.total - self.sent)

    def read(self, size: int = -1) -> bytes:
        now = self._clock()
        if self._started is None:
            self._started = self._last_report = now
        chunk = self._file.read(size if size is not None else -1)
        self.sent += len(chunk)
        if not chunk or (size is None or size < 0) or self.sent >= self.total:
            self._finish()
        elif now - self._last_report >= self._interval:
            self._last_report = now
            self._on_progress(self.progress(now))
        return chunk

    def progress(self, now: float | None = None) -> UploadProgress:
        """Where the upload stands now."""
        now = self._clock() if now is None else now
        seconds = now - self._started if self._started is not None else 0.0
        return UploadProgress(self.sent, self.total, seconds, done=self._finished)

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._on_progress(self.progress())


def _remaining_length(fileobj) -> int | None:
    """Bytes from the file's position to its end, without moving it; None for a stream of unknown length."""
    try:
        position = fileobj.tell()
        end = fileobj.seek(0, os.SEEK_END)
        fileobj.seek(position)
        return end - position
    except (AttributeError, OSError, ValueError):
        return None
