"""The packets of BuildKit's file sync (``/moby.filesync.v1.FileSync/DiffCopy``), as the docker CLI sends a
build context: tonistiigi/fsutil's ``types.Packet`` and ``types.Stat``.

The client sends one STAT packet per file, folders before what they hold, then an empty STAT; the engine
asks for the files it lacks with REQ packets naming a file by its position among the stats; the client
answers each with DATA packets and an empty DATA; FIN ends it, from the engine and back::

    Packet {1 PacketType type; 2 Stat stat; 3 uint32 ID; 4 bytes data}
    Stat   {1 string path; 2 uint32 mode; 3 uint32 uid; 4 uint32 gid; 5 int64 size; 6 int64 modTime;
            7 string linkname; 8 int64 devmajor; 9 int64 devminor; 10 map<string, bytes> xattrs}

``mode`` is Go's ``os.FileMode`` (the file type in the high bits), ``modTime`` is in nanoseconds, and a
hard link to a file already sent carries that file's path as ``linkname`` and no size.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from .protobuf_wire import WireDecodeError, bytes_field, fields, int64, integer_field

STAT, REQUEST, DATA, FIN, ERROR = 0, 1, 2, 3, 4

# Go's os.FileMode type and special bits.
GO_DIR, GO_SYMLINK, GO_DEVICE, GO_PIPE, GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
GO_SETUID, GO_SETGID, GO_CHAR_DEVICE, GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20


def go_file_mode(st_mode: int) -> int:
    """A POSIX ``st_mode`` as Go's ``os.FileMode``."""
    mode = st_mode & 0o777
    if stat.S_ISDIR(st_mode):
        mode |= GO_DIR
    elif stat.S_ISLNK(st_mode):
        mode |= GO_SYMLINK
    elif stat.S_ISBLK(st_mode):
        mode |= GO_DEVICE
    elif stat.S_ISCHR(st_mode):
        mode |= GO_DEVICE | GO_CHAR_DEVICE
    elif stat.S_ISFIFO(st_mode):
        mode |= GO_PIPE
    elif stat.S_ISSOCK(st_mode):
        mode |= GO_SOCKET
    for posix, go in ((stat.S_ISUID, GO_SETUID), (stat.S_ISGID, GO_SETGID), (stat.S_ISVTX, GO_STICKY)):
        if st_mode & posix:
            mode |= go
    return mode


@dataclass(frozen=True)
class FileStat:
    """One file as the sender announces it."""
    path: str
    mode: int  # Go's os.FileMode
    size: int = 0
    mod_time_ns: int = 0
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0

    @property
    def has_data(self) -> bool:
        """Whether the engine may ask for this file's bytes: regular files only, as fsutil decides."""
        return self.mode & (GO_DIR | GO_SYMLINK | GO_DEVICE | GO_PIPE | GO_SOCKET | GO_CHAR_DEVICE) == 0

    def encode(self) -> bytes:
        link = bytes_field(7, self.linkname.encode("utf-8")) if self.linkname else b""
        return b"".join((bytes_field(1, self.path.encode("utf-8")), integer_field(2, self.mode),
                         integer_field(3, self.uid), integer_field(4, self.gid), integer_field(5, self.size),
                         integer_field(6, self.mod_time_ns), link, integer_field(8, self.devmajor),
                         integer_field(9, self.devminor)))


@dataclass(frozen=True)
class Packet:
    kind: int
    file_id: int = 0
    data: bytes = b""
    stat: FileStat | None = None


def stat_packet(file_stat: FileStat | None) -> bytes:
    """A STAT packet; ``None`` gives the empty one that ends the list."""
    return integer_field(1, STAT) + (bytes_field(2, file_stat.encode()) if file_stat is not None else b"")


def data_packet(file_id: int, data: bytes = b"") -> bytes:
    """A DATA packet; empty ``data`` ends the file."""
    return integer_field(1, DATA) + integer_field(3, file_id) + (bytes_field(4, data) if data else b"")


def fin_packet() -> bytes:
    return integer_field(1, FIN)


def error_packet(message: str) -> bytes:
    return integer_field(1, ERROR) + bytes_field(4, message.encode("utf-8"))


def decode_packet(data: bytes) -> Packet:
    """The packet the engine sent (REQ, FIN or ERR; a STAT's stat is left out). Raises
    :class:`~dockmagic.parsing.protobuf_wire.WireDecodeError` if the bytes are broken."""
    kind = file_id = 0
    payload = b""
    for number, value in fields(bytes(data)):
        if number == 1:
            kind = int64(value)
        elif number == 3:
            file_id = int64(value) & 0xFFFFFFFF
        elif number == 4:
            if not isinstance(value, bytes):
                raise WireDecodeError("a packet's data is not length-delimited")
            payload = value
    return Packet(kind, file_id, payload)
