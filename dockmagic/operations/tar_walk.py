"""A fast walk over a tar stream held in chunks, and over tars inside it (``docker save``'s layer tars).

``tarfile``'s stream mode copies every byte through several Python-level buffers (a layer tar inside a
save's tar: two tarfile streams, one inside the other). Here one buffer over the engine's chunks serves
both levels: headers are parsed by ``tarfile.TarInfo.frombuf`` (ustar, GNU and base-256 numbers), pax and
GNU long-name records are applied, and a member's contents are either handed over as memoryviews (to
hash them, never joined) or skipped. Nothing is kept but what the caller keeps.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Callable, Iterator

BLOCK = 512


class ChunkBuffer:
    """Reads over an iterator of byte chunks: exact reads, peeks, skips and views handed to a sink."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._chunk = memoryview(b"")
        self._offset = 0

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._chunk, self._offset = memoryview(chunk), 0
                return True
        return False

    def feed(self, count: int, sink: Callable[[memoryview], None] | None) -> int:
        """Pass the next ``count`` bytes to ``sink`` (or drop them); the bytes there were."""
        done = 0
        while done < count:
            if self._offset >= len(self._chunk) and not self._fill():
                break
            take = min(count - done, len(self._chunk) - self._offset)
            if sink is not None:
                sink(self._chunk[self._offset:self._offset + take])
            self._offset += take
            done += take
        return done

    def read(self, count: int) -> bytes:
        parts: list[bytes] = []
        self.feed(count, lambda view: parts.append(bytes(view)))
        return b"".join(parts)


class Member:
    """A tar member's header fields, and its contents not yet read (``read``, ``feed``)."""

    __slots__ = ("name", "type", "size", "mode", "uid", "gid", "linkname", "_source", "_left")

    def __init__(self, info: tarfile.TarInfo, source):
        self.name, self.type, self.size = info.name, info.type, info.size
        self.mode, self.uid, self.gid, self.linkname = info.mode, info.uid, info.gid, info.linkname
        self._source, self._left = source, info.size if info.type in tarfile.REGULAR_TYPES else 0

    def isreg(self) -> bool:
        return self.type in tarfile.REGULAR_TYPES

    def feed(self, count: int, sink) -> int:
        done = self._source.feed(min(count, self._left), sink)
        self._left -= done
        return done

    def read(self, count: int | None = None) -> bytes:
        parts: list[bytes] = []
        self.feed(self._left if count is None else count, lambda view: parts.append(bytes(view)))
        return b"".join(parts)


class Prefixed:
    """A source whose first bytes were already read (a member's first block, read to see what it is)."""

    def __init__(self, head: bytes, rest):
        self._head, self._rest = memoryview(head), rest

    def feed(self, count: int, sink) -> int:
        done = 0
        if self._head:
            take = min(count, len(self._head))
            if sink is not None:
                sink(self._head[:take])
            self._head, done = self._head[take:], take
        if done < count:
            done += self._rest.feed(count - done, sink)
        return done

    def read(self, count: int) -> bytes:
        parts: list[bytes] = []
        self.feed(count, lambda view: parts.append(bytes(view)))
        return b"".join(parts)


class Gunzipped:
    """A gzip-compressed source, decompressed as it is read (a layer tar saved compressed)."""

    def __init__(self, source, block: int = 1 << 20):
        self._source, self._block = source, block
        self._buffer = ChunkBuffer(self._chunks())

    def _chunks(self):
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while True:
            data = self._source.read(self._block)
            if not data:
                yield decompressor.flush()
                return
            yield decompressor.decompress(data)

    def feed(self, count: int, sink) -> int:
        return self._buffer.feed(count, sink)

    def read(self, count: int) -> bytes:
        return self._buffer.read(count)


def walk(source) -> Iterator[Member]:
    """The members of the tar in ``source`` (anything with ``read`` and ``feed``), in order. Contents a
    caller leaves unread are skipped when it asks for the next member."""
    pending: dict[str, str] = {}
    while True:
        block = source.read(BLOCK)
        if len(block) < BLOCK or not block.strip(b"\0"):
            return  # end of archive (or a truncated stream: what was read is what there is)
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as error:
            raise tarfile.ReadError(f"bad tar header: {error}") from None
        padded = -(-info.size // BLOCK) * BLOCK
        if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE):
            data = source.read(padded)[:info.size]
            if info.type != tarfile.XGLTYPE:
                pending.update(_pax_records(data))
            continue
        if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            text = source.read(padded)[:info.size].rstrip(b"\0").decode("utf-8", "surrogateescape")
            pending["path" if info.type == tarfile.GNUTYPE_LONGNAME else "linkpath"] = text
            continue
        if pending:
            info.name = pending.get("path", info.name)
            info.linkname = pending.get("linkpath", info.linkname)
            for key in ("size", "uid", "gid"):
                if key in pending:
                    setattr(info, key, int(pending[key]))
            padded = -(-info.size // BLOCK) * BLOCK
            pending = {}
        member = Member(info, source)
        yield member
        # Skip what the caller left unread, then the padding to the next block.
        left = member._left
        source.feed(left + (padded - info.size if info.type in tarfile.REGULAR_TYPES else padded), None)


def _pax_records(data: bytes) -> dict[str, str]:
    """A pax extended header's records ("LEN key=value\\n" each)."""
    records, position = {}, 0
    while position < len(data):
        space = data.find(b" ", position)
        if space < 0:
            break
        try:
            length = int(data[position:space])
        except ValueError:
            break
        if length <= 0:
            break
        record = data[space + 1:position + length - 1]
        key, _, value = record.partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        position += length
    return records
