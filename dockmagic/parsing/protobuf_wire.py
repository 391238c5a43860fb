"""The protobuf wire format, read and written by hand for the few small messages dockmagic exchanges with
BuildKit (its build trace, and the file-sync packets of a build session).

Why not the ``protobuf`` runtime with generated code: generated ``_pb2`` modules are tied to the runtime's
major version, which would pin a dependency every notebook environment shares, for a dozen scalar fields.
Only what proto3 uses is here: varints (wire type 0), length-delimited fields (2), fixed 64/32-bit (1, 5).
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, LENGTH_DELIMITED = 0, 2


class WireDecodeError(ValueError):
    """The bytes are not a protobuf message this reader can read (truncated, bad wire type, ...)."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    if pos < len(data) and data[pos] < 0x80:  # one byte: most keys and lengths
        return data[pos], pos + 1
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireDecodeError("a varint runs past the end of the message")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireDecodeError("a varint is longer than 10 bytes")


def fields(data: bytes) -> Iterator[tuple[int, object]]:
    """(field number, value) of each field: an int for varint and fixed fields, bytes for the others."""
    pos, end = 0, len(data)
    while pos < end:
        key = data[pos]  # one byte for field numbers up to 15: read here, as most lengths below
        if key < 0x80:
            pos += 1
        else:
            key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireDecodeError("field number 0")
        if wire == LENGTH_DELIMITED:
            if pos < end and data[pos] < 0x80:
                size, pos = data[pos], pos + 1
            else:
                size, pos = read_varint(data, pos)
            if pos + size > end:
                raise WireDecodeError(f"field {number} claims {size} bytes, {end - pos} are left")
            value, pos = data[pos:pos + size], pos + size
        elif wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire == 1 or wire == 5:
            width = 8 if wire == 1 else 4
            if pos + width > end:
                raise WireDecodeError(f"fixed field {number} runs past the end of the message")
            value, pos = int.from_bytes(data[pos:pos + width], "little"), pos + width
        else:
            raise WireDecodeError(f"field {number} has wire type {wire}, which proto3 does not use")
        yield number, value


def int64(value: object) -> int:
    """A varint field read as a signed 64-bit integer (two's complement, as protobuf writes negatives)."""
    if not isinstance(value, int):
        raise WireDecodeError("an integer field is length-delimited")
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= 1 << 63 else value


def varint(value: int) -> bytes:
    """``value`` as a varint; a negative one as its 64-bit two's complement (10 bytes), as protobuf does."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def integer_field(number: int, value: int) -> bytes:
    """An integer or enum field; nothing for 0, which proto3 leaves out."""
    return varint(number << 3 | VARINT) + varint(value) if value else b""


def bytes_field(number: int, value: bytes) -> bytes:
    """A string, bytes or embedded-message field (always written, even empty: a present empty message)."""
    return varint(number << 3 | LENGTH_DELIMITED) + varint(len(value)) + value
