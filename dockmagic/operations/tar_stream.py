"""Reading the tar streams the engine sends (exports, archives, saved images) as they come, without
keeping them: a file object over the chunks, and member names as paths."""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator


def member_path(name: str) -> str:
    """A tar member's name as a path relative to the archive's root: no "./", no leading or trailing "/"."""
    if name.startswith(("./", "/")) or name.endswith("/") or name == "." or "/./" in name:
        name = posixpath.normpath(name).lstrip("/")
    return "" if name == "." else name


# Files the engine bind-mounts into every container: `docker diff` leaves them out, and Podman commits
# them (empty) into layers.
ENGINE_MOUNT_POINTS = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/.dockerenv", "/run/.containerenv")

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def layer_entry(name: str) -> tuple[str, str] | None:
    """What a layer tar's member stands for, by the OCI layer rules: ("opaque", folder) hides the folder's
    lower contents, ("whiteout", path) deletes a lower path, ("path", path) is a file or folder itself;
    None for the root and for bookkeeping entries (.wh..wh.plnk and such). Paths are absolute."""
    relative = member_path(name)
    if not relative:
        return None
    path = "/" + relative
    directory, _, base = path.rpartition("/")
    if not base.startswith(WHITEOUT):
        return ("path", path)
    if base == OPAQUE:
        return ("opaque", directory or "/")
    if base.startswith(WHITEOUT + WHITEOUT):
        return None
    return ("whiteout", directory + "/" + base[len(WHITEOUT):])


class ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks (docker-py's streams), for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = iter(chunks)
        self._buffer = memoryview(b"")
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while self._position >= len(self._buffer):
            try:
                self._buffer = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            self._position = 0
        count = min(len(target), len(self._buffer) - self._position)
        target[:count] = self._buffer[self._position:self._position + count]
        self._position += count
        return count

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()
