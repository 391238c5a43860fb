"""A container's output as the engine sends it: multiplexed frames read from a socket, written to text
streams as they come, with a bounded tail kept for the result."""

from __future__ import annotations

import codecs
import ssl
import struct
import sys
from collections import deque

# How much of a program's output a result keeps (the end of it): enough for any error message, bounded
# for a program that prints millions of lines. The whole output is still streamed to the cell.
OUTPUT_TAIL_BYTES = 256 * 1024


class FrameReader:
    """Reads the engine's multiplexed stream (8-byte header: stream number, size; then the payload) from
    a hijacked socket, in big reads: one ``recv`` often holds many frames."""

    STDOUT, STDERR = 1, 2

    def __init__(self, sock):
        self.sock = sock
        self._buffer = bytearray()
        self._start = 0
        self.eof = False

    def _frame_in_buffer(self):
        available = len(self._buffer) - self._start
        if available < 8:
            return None
        stream, size = struct.unpack_from(">BxxxL", self._buffer, self._start)
        if available < 8 + size:
            return None
        begin = self._start + 8
        payload = bytes(self._buffer[begin:begin + size])
        self._start = begin + size
        if self._start > 1 << 16:
            del self._buffer[:self._start]
            self._start = 0
        return stream, payload

    def buffered(self) -> bool:
        """True when a whole frame is already read and waiting (no need to flush what came before)."""
        available = len(self._buffer) - self._start
        if available < 8:
            return False
        return available >= 8 + struct.unpack_from(">BxxxL", self._buffer, self._start)[1]

    def read(self, timeout: float | None = None):
        """The next ``(stream, bytes)``; ``None`` when ``timeout`` seconds pass first or at end of stream
        (then ``.eof`` is True). Nothing read is lost when it times out."""
        while True:
            frame = self._frame_in_buffer()
            if frame is not None:
                return frame
            if self.eof:
                return None
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(1 << 16)
            except (TimeoutError, BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                # BlockingIOError (plain socket) or SSLWant*Error (a TLS engine): timeout 0 and nothing there.
                return None
            except OSError:  # the connection broke: as good as the end
                data = b""
            if not data:
                self.eof = True
                return None
            self._buffer += data


class OutputTail:
    """The last ``limit`` bytes of a stream, in bounded memory however much goes through."""

    def __init__(self, limit: int = OUTPUT_TAIL_BYTES):
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.truncated = False

    def add(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        while self._size - len(self._chunks[0]) >= self.limit:
            self._size -= len(self._chunks.popleft())
            self.truncated = True

    def text(self) -> str:
        data = b"".join(self._chunks)
        if len(data) > self.limit:
            data = data[-self.limit:]
            self.truncated = True
        return data.decode("utf-8", errors="replace")


class StreamWriter:
    """Writes a container's stdout/stderr bytes to text streams as they come (colours and partial lines
    kept), decoding UTF-8 that may be split across frames. Streams are flushed whenever the reader has
    nothing more waiting, so output shows at once but a burst costs one flush, not one per frame."""

    def __init__(self, stdout=None, stderr=None):
        self.streams = {FrameReader.STDOUT: stdout or sys.stdout, FrameReader.STDERR: stderr or sys.stderr}
        self.decoders = {number: codecs.getincrementaldecoder("utf-8")(errors="replace")
                         for number in self.streams}
        self._unflushed: set[int] = set()

    def write(self, stream_number: int, data: bytes, flush: bool = True) -> None:
        number = stream_number if stream_number in self.streams else FrameReader.STDOUT
        text = self.decoders[number].decode(data)
        if text:
            self.streams[number].write(text)
            self._unflushed.add(number)
        if flush:
            self.flush()

    def flush(self) -> None:
        for number in self._unflushed:
            self.streams[number].flush()
        self._unflushed.clear()

    def close(self) -> None:
        for number, decoder in self.decoders.items():
            rest = decoder.decode(b"", final=True)
            if rest:
                self.streams[number].write(rest)
                self._unflushed.add(number)
        self.flush()
