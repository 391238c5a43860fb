"""BuildKit's build stream (``POST /build?version=2``) turned into typed events.

The engine sends JSON lines::

    {"id": "moby.buildkit.trace", "aux": "<base64>"}       a protobuf moby.buildkit.v1.StatusResponse
    {"id": "moby.image.id", "aux": {"ID": "sha256:..."}}  the image built
    {"stream": "Successfully tagged name:latest\\n"}
    {"error": "...", "errorDetail": {"message": "..."}}    the build failed (or was cancelled)

:func:`parse_buildkit_event` maps one decoded line to one event and never raises: a trace message whose
base64 or protobuf is broken becomes :class:`UndecodableTrace` (the build goes on; the view can say so), a
line it does not know becomes :class:`UnrecognizedLine`.

Why a small wire-format decoder of our own rather than the ``protobuf`` runtime with generated code:
the schema is four small messages (below), of which we read a dozen scalar fields; generated ``_pb2``
modules are tied to the protobuf runtime's major version (code generated for 4.x refuses 3.x and the
other way round), which would pin a dependency every notebook environment shares; and the runtime would
copy each log's bytes into a message object before we copy them again. Decoding here is plain slicing of
the payload. The schema (package moby.buildkit.v1; unknown fields are skipped, proto3 leaves zero values
out, a Go zero time arrives as seconds = -62135596800 and means "not set")::

    StatusResponse {1 repeated Vertex vertexes; 2 repeated VertexStatus statuses; 3 repeated VertexLog logs;
                    4 repeated VertexWarning warnings}
    Vertex         {1 string digest; 2 repeated string inputs; 3 string name; 4 bool cached;
                    5 Timestamp started; 6 Timestamp completed; 7 string error; 8 ProgressGroup (skipped)}
    VertexStatus   {1 string ID; 2 string vertex; 3 string name; 4 int64 current; 5 int64 total;
                    6 Timestamp timestamp; 7 Timestamp started; 8 Timestamp completed}
    VertexLog      {1 string vertex; 2 Timestamp timestamp; 3 int64 stream; 4 bytes msg}
    VertexWarning  {1 string vertex; 2 int64 level; 3 bytes short; 4 repeated bytes detail; 5 string url; ...}
    Timestamp      {1 int64 seconds; 2 int32 nanos}

Times become Unix seconds as floats (``None`` when not set).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .protobuf_wire import WireDecodeError, fields, int64, read_varint

TRACE_ID = "moby.buildkit.trace"
IMAGE_ID = "moby.image.id"

# Go's zero time.Time, as BuildKit marshals it: "not set".
_GO_ZERO_SECONDS = -62135596800
_EXIT_CODE = re.compile(r"exit code: (-?\d+)")
STDOUT, STDERR = 1, 2


# The bytes are not a StatusResponse this decoder can read (truncated, bad wire type, ...).
TraceDecodeError = WireDecodeError


# -- the typed messages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Vertex:
    """One node of the build graph, as of this message (later messages repeat it with more set)."""

    digest: str = ""
    inputs: tuple[str, ...] = ()
    name: str = ""
    cached: bool = False
    started: float | None = None
    completed: float | None = None
    error: str = ""


@dataclass(frozen=True)
class VertexStatus:
    """Progress of a sub-task of a vertex: bytes of the context sent, of a layer exported..."""

    id: str = ""
    vertex: str = ""
    name: str = ""
    current: int = 0
    total: int = 0
    timestamp: float | None = None
    started: float | None = None
    completed: float | None = None


@dataclass(frozen=True)
class VertexLog:
    """A piece of what a vertex's process printed (``stream`` 1 stdout, 2 stderr); not split at lines."""

    vertex: str = ""
    timestamp: float | None = None
    stream: int = 0
    data: bytes = b""


@dataclass(frozen=True)
class VertexWarning:
    """A warning about a vertex (newer engines only): its level and short text; details are dropped."""

    vertex: str = ""
    level: int = 0
    short: str = ""


@dataclass(frozen=True)
class StatusResponse:
    vertexes: tuple[Vertex, ...] = ()
    statuses: tuple[VertexStatus, ...] = ()
    logs: tuple[VertexLog, ...] = ()
    warnings: tuple[VertexWarning, ...] = ()


# -- the stream's events -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TraceStatus:
    """A decoded ``moby.buildkit.trace`` message."""

    status: StatusResponse


@dataclass(frozen=True)
class UndecodableTrace:
    """A ``moby.buildkit.trace`` message that could not be decoded; ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class BuiltImage:
    image_id: str


@dataclass(frozen=True)
class StreamText:
    """Plain text the engine adds, such as ``Successfully tagged name:latest``."""

    text: str


@dataclass(frozen=True)
class BuildError:
    """The build failed or was cancelled. ``exit_code`` is the failing process's, when the text names it."""

    message: str
    exit_code: int | None = None


@dataclass(frozen=True)
class UnrecognizedLine:
    raw: object


BuildKitEvent = TraceStatus | UndecodableTrace | BuiltImage | StreamText | BuildError | UnrecognizedLine


def exit_code_in(message: str) -> int | None:
    """The exit code in ``... did not complete successfully: exit code: 2``, if there is one."""
    match = _EXIT_CODE.search(message)
    return int(match[1]) if match else None


def parse_buildkit_event(line: object) -> BuildKitEvent:
    """One decoded JSON line of the stream as a typed event. Never raises."""
    if not isinstance(line, dict):
        return UnrecognizedLine(line)
    if "error" in line or "errorDetail" in line:
        detail = line.get("errorDetail")
        message = line.get("error") or (detail.get("message") if isinstance(detail, dict) else None)
        message = str(message) if message else "the build failed (the engine gave no message)"
        return BuildError(message, exit_code_in(message))
    kind, aux = line.get("id"), line.get("aux")
    if kind == TRACE_ID:
        if not isinstance(aux, str):
            return UndecodableTrace(f"the trace message's aux is a {type(aux).__name__}, not base64 text")
        try:
            data = base64.b64decode(aux, validate=True)
        except (binascii.Error, ValueError) as exc:
            return UndecodableTrace(f"the trace message is not valid base64: {exc}")
        try:
            return TraceStatus(decode_status(data))
        except TraceDecodeError as exc:
            return UndecodableTrace(f"the trace message is not a StatusResponse: {exc}")
    if kind == IMAGE_ID and isinstance(aux, dict) and isinstance(aux.get("ID"), str):
        return BuiltImage(aux["ID"])
    if isinstance(line.get("stream"), str):
        return StreamText(line["stream"])
    return UnrecognizedLine(line)


# -- the wire format -----------------------------------------------------------------------------------

def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TraceDecodeError("a string or message field is not length-delimited")
    return value


def _text(value: object) -> str:
    return _bytes(value).decode("utf-8", "replace")


def _timestamp(value: object) -> float | None:
    data = _bytes(value)
    # The common shape, read directly (a few per vertex): 08 <seconds> 10 <nanos>, both fields present.
    if len(data) > 2 and data[0] == 0x08:
        seconds, pos = read_varint(data, 1)
        if pos < len(data) and data[pos] == 0x10:
            nanos, end = read_varint(data, pos + 1)
            if end == len(data) and seconds < 1 << 63 and nanos < 1 << 31:
                return None if seconds == _GO_ZERO_SECONDS else seconds + nanos / 1e9
    seconds = nanos = 0
    for number, field in fields(data):
        if number == 1:
            seconds = int64(field)
        elif number == 2:
            nanos = int64(field)
    if seconds == _GO_ZERO_SECONDS:
        return None
    return seconds + nanos / 1e9


def _flag(value: object) -> bool:
    return bool(int64(value))


# Each message as {field number: (dataclass field, how to read it, repeated)}; fields not listed are skipped.
_VERTEX = {1: ("digest", _text, False), 2: ("inputs", _text, True), 3: ("name", _text, False),
           4: ("cached", _flag, False), 5: ("started", _timestamp, False), 6: ("completed", _timestamp, False),
           7: ("error", _text, False)}
_STATUS = {1: ("id", _text, False), 2: ("vertex", _text, False), 3: ("name", _text, False),
           4: ("current", int64, False), 5: ("total", int64, False), 6: ("timestamp", _timestamp, False),
           7: ("started", _timestamp, False), 8: ("completed", _timestamp, False)}
_LOG = {1: ("vertex", _text, False), 2: ("timestamp", _timestamp, False), 3: ("stream", int64, False),
        4: ("data", _bytes, False)}
_WARNING = {1: ("vertex", _text, False), 2: ("level", int64, False), 3: ("short", _text, False)}


def _message(data: object, kind: type, layout: dict):
    values: dict = {}
    for number, value in fields(_bytes(data)):
        spec = layout.get(number)
        if spec is None:
            continue
        name, read, repeated = spec
        if repeated:
            values.setdefault(name, []).append(read(value))
        else:
            values[name] = read(value)
    for name, _, repeated in layout.values():
        if repeated and name in values:
            values[name] = tuple(values[name])
    return kind(**values)


_RESPONSE = {1: (Vertex, _VERTEX), 2: (VertexStatus, _STATUS), 3: (VertexLog, _LOG), 4: (VertexWarning, _WARNING)}


def decode_status(data: bytes) -> StatusResponse:
    """A StatusResponse from its protobuf bytes; raises :class:`TraceDecodeError` (only) if they are broken."""
    found: dict[int, list] = {1: [], 2: [], 3: [], 4: []}
    for number, value in fields(bytes(data)):
        if number in _RESPONSE:
            kind, layout = _RESPONSE[number]
            found[number].append(_message(value, kind, layout))
    return StatusResponse(tuple(found[1]), tuple(found[2]), tuple(found[3]), tuple(found[4]))
