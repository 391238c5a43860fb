"""The BuildKit stream decoder on real recorded streams (tests/streams/buildkit, made by
tests/streams/record_buildkit.py on Docker Engine 20.10) and under fuzzing: a round trip through a
test-side protobuf encoder, and arbitrary bytes, which must never raise anything but TraceDecodeError."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockmagic.parsing.buildkit_trace import (
    BuildError,
    BuiltImage,
    StatusResponse,
    StreamText,
    TraceDecodeError,
    TraceStatus,
    UndecodableTrace,
    UnrecognizedLine,
    Vertex,
    VertexLog,
    VertexStatus,
    VertexWarning,
    decode_status,
    exit_code_in,
    parse_buildkit_event,
)

STREAMS = pathlib.Path(__file__).resolve().parent.parent / "streams" / "buildkit"
RECORDED = sorted(p.stem for p in STREAMS.glob("*.jsonl"))


def events(name: str) -> list:
    with (STREAMS / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [parse_buildkit_event(json.loads(line)) for line in fh]


def vertices(name: str) -> list[Vertex]:
    return [v for e in events(name) if isinstance(e, TraceStatus) for v in e.status.vertexes]


def logs(name: str) -> list[VertexLog]:
    return [log for e in events(name) if isinstance(e, TraceStatus) for log in e.status.logs]


# -- recorded streams -------------------------------------------------------------------------------------

def test_every_recording_is_there():
    assert {"simple", "simple_cached", "parallel_stages", "cache_mount", "bind_mount", "copy_chmod", "targetarch",
            "failing_run", "many_lines", "million_lines", "target_skip", "heredoc", "secret_mount", "syntax_line",
            "cancelled", "debian_steps", "slow_printer", "stage_name_case"} <= set(RECORDED)


@pytest.mark.parametrize("name", RECORDED)
def test_every_trace_message_decodes(name):
    decoded = events(name)
    assert decoded
    assert not [e for e in decoded if isinstance(e, (UndecodableTrace, UnrecognizedLine))]
    for vertex in vertices(name):
        assert vertex.digest.startswith("sha256:") and len(vertex.digest) == 71
        assert all(i.startswith("sha256:") for i in vertex.inputs)
        for moment in (vertex.started, vertex.completed):
            assert moment is None or 1.7e9 < moment < 2.5e9  # Unix seconds of the recording, not Go's zero


def test_simple_build_names_its_steps_prints_its_output_and_names_the_image():
    names = [v.name for v in vertices("simple")]
    assert "[1/2] FROM docker.io/library/busybox" in names
    assert "[2/2] RUN echo hello && echo oops >&2" in names
    assert "exporting to image" in names
    printed = {(log.stream, log.data) for log in logs("simple")}
    assert (1, b"hello\n") in printed and (2, b"oops\n") in printed
    decoded = events("simple")
    assert isinstance(decoded[-2], BuiltImage) and decoded[-2].image_id.startswith("sha256:")
    assert decoded[-1] == StreamText("Successfully tagged dmrec-bk-simple:latest\n")


def test_a_cached_rebuild_marks_the_run_step_cached_and_prints_nothing():
    run = [v for v in vertices("simple_cached") if v.name.startswith("[2/2] RUN")]
    assert run[-1].cached and run[-1].completed is not None
    assert logs("simple_cached") == []


def test_a_vertex_not_started_yet_has_no_times():
    first = vertices("simple")[0]
    assert first.started is None and first.completed is None  # sent as Go's zero time or left out


def test_exporting_reports_statuses_named_in_their_id():
    statuses = [s for e in events("simple") if isinstance(e, TraceStatus) for s in e.status.statuses]
    ids = {s.id for s in statuses}
    assert "exporting layers" in ids
    assert any(i.startswith("writing image sha256:") for i in ids)
    assert "naming to docker.io/library/dmrec-bk-simple" in ids


def test_a_failing_run_ends_with_the_error_and_its_exit_code():
    last = events("failing_run")[-1]
    assert isinstance(last, BuildError)
    assert last.exit_code == 3
    assert "exit code: 3" in last.message
    failed = [v for v in vertices("failing_run") if v.error]
    assert [v.name for v in failed] == ["[3/4] RUN echo some output; echo bad thing happened >&2; exit 3"]
    assert (2, b"bad thing happened\n") in {(log.stream, log.data) for log in logs("failing_run")}


def test_two_independent_stages_run_at_the_same_time():
    final = {v.name: v for v in vertices("parallel_stages")}
    left = final["[left 2/2] RUN sleep 3 && echo left > /left.txt"]
    right = final["[right 2/2] RUN sleep 3 && echo right > /right.txt"]
    assert left.started < right.completed and right.started < left.completed
    assert left.completed - left.started >= 3 and right.completed - right.started >= 3


@pytest.mark.parametrize("name", ["many_lines", "million_lines"])
def test_a_fast_printer_is_clipped_by_the_engine(name):
    output = b"".join(log.data for log in logs(name))
    assert output.startswith(b"1\n2\n3\n")
    assert output.endswith(b"\n[output clipped, log limit 200KiB/s reached]\n")
    assert 200 * 1024 <= len(output) < 220 * 1024


def test_a_printer_under_the_rate_limit_is_not_clipped_past_one_mebibyte():
    output = b"".join(log.data for log in logs("slow_printer"))
    assert len(output) == 6 * 180000 > 1024 * 1024
    assert b"clipped" not in output


@pytest.mark.parametrize("name, text", [
    ("heredoc", "unknown instruction: ECHO"),
    ("stage_name_case", 'failed to parse stage name "Tools"'),
    ("secret_mount", "no active sessions"),
    ("syntax_line", "docker/dockerfile"),
    ("cancelled", "context canceled"),
])
def test_what_this_engine_cannot_build_fails_with_the_engines_reason(name, text):
    last = events(name)[-1]
    assert isinstance(last, BuildError) and text in last.message


def test_a_cancelled_run_step_carries_the_kill():
    run = [v for v in vertices("cancelled") if v.error]
    assert run and "exit code: 137" in run[-1].error and exit_code_in(run[-1].error) == 137


def test_mounts_chmod_and_targetarch_builds_print_what_they_did():
    assert b"from-src\n" in {log.data for log in logs("bind_mount")}
    assert b"arch=amd64\n" in {log.data for log in logs("targetarch")}
    assert any(log.data.startswith(b"-rwxr-xr-x") for log in logs("copy_chmod"))
    assert any(v.name.startswith("[stage-0 2/2] RUN --mount=type=cache,target=/cache") for v in vertices("cache_mount"))


# -- malformed lines -----------------------------------------------------------------------------------

@pytest.mark.parametrize("line, kind", [
    ({"id": "moby.buildkit.trace", "aux": "not base64!"}, UndecodableTrace),
    ({"id": "moby.buildkit.trace", "aux": base64.b64encode(b"\x0a\xff").decode()}, UndecodableTrace),
    ({"id": "moby.buildkit.trace", "aux": {"x": 1}}, UndecodableTrace),
    ({"id": "moby.buildkit.trace"}, UndecodableTrace),
    ({"id": "moby.image.id", "aux": "sha256:x"}, UnrecognizedLine),
    ("a string", UnrecognizedLine),
    ({"something": "else"}, UnrecognizedLine),
    ({"errorDetail": {"message": "boom: exit code: 7"}}, BuildError),
])
def test_malformed_lines_become_typed_events(line, kind):
    event = parse_buildkit_event(line)
    assert isinstance(event, kind)
    if isinstance(event, UndecodableTrace):
        assert "trace message" in event.reason
    if isinstance(event, BuildError):
        assert event.message == "boom: exit code: 7" and event.exit_code == 7


def test_an_empty_message_is_an_empty_status():
    assert decode_status(b"") == StatusResponse()


# -- fuzzing -------------------------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _len(number: int, data: bytes) -> bytes:
    return _key(number, 2) + _varint(len(data)) + data


def _int(number: int, value: int) -> bytes:
    return _key(number, 0) + _varint(value) if value else b""  # proto3 leaves zero out


def _str(number: int, text: str) -> bytes:
    return _len(number, text.encode()) if text else b""


GO_ZERO = -62135596800


def _time(number: int, moment: tuple[int, int] | None) -> bytes:
    seconds, nanos = moment if moment is not None else (GO_ZERO, 0)
    return _len(number, _int(1, seconds) + _int(2, nanos))


def _as_float(moment):
    return None if moment is None else moment[0] + moment[1] / 1e9


# An unknown field of every wire type: what a newer engine may add.
UNKNOWN = _int(15, 3) + _key(16, 1) + b"\0" * 8 + _key(17, 5) + b"\0" * 4 + _len(18, b"\x08\x01")

texts = st.text(max_size=20)
moments = st.none() | st.tuples(st.integers(0, 4_000_000_000), st.integers(0, 999_999_999))
int64s = st.integers(-(2**63), 2**63 - 1)


@st.composite
def status_responses(draw):
    encoded, vertexes, statuses, logs_, warnings = b"", [], [], [], []
    for _ in range(draw(st.integers(0, 3))):
        digest, inputs, name, error = draw(texts), draw(st.lists(texts, max_size=3)), draw(texts), draw(texts)
        cached, started, completed = draw(st.booleans()), draw(moments), draw(moments)
        body = (_str(1, digest) + b"".join(_len(2, i.encode()) for i in inputs) + _str(3, name) + _int(4, cached)
                + _time(5, started) + _time(6, completed) + _str(7, error) + _len(8, b"\x0a\x01x") + UNKNOWN)
        encoded += _len(1, body)
        vertexes.append(Vertex(digest, tuple(inputs), name, cached, _as_float(started), _as_float(completed), error))
    for _ in range(draw(st.integers(0, 3))):
        ident, vertex, name = draw(texts), draw(texts), draw(texts)
        current, total = draw(int64s), draw(int64s)
        stamp, started, completed = draw(moments), draw(moments), draw(moments)
        body = (_str(1, ident) + _str(2, vertex) + _str(3, name) + _int(4, current) + _int(5, total)
                + _time(6, stamp) + _time(7, started) + _time(8, completed) + UNKNOWN)
        encoded += _len(2, body)
        statuses.append(VertexStatus(ident, vertex, name, current, total, _as_float(stamp), _as_float(started),
                                     _as_float(completed)))
    for _ in range(draw(st.integers(0, 3))):
        vertex, stamp, stream, data = draw(texts), draw(moments), draw(st.sampled_from([0, 1, 2])), draw(st.binary())
        encoded += _len(3, _str(1, vertex) + _time(2, stamp) + _int(3, stream)
                        + (_len(4, data) if data else b"") + UNKNOWN)
        logs_.append(VertexLog(vertex, _as_float(stamp), stream, data))
    for _ in range(draw(st.integers(0, 2))):
        vertex, level, short = draw(texts), draw(st.integers(0, 3)), draw(texts)
        encoded += _len(4, _str(1, vertex) + _int(2, level) + _str(3, short) + _len(4, b"detail"))
        warnings.append(VertexWarning(vertex, level, short))
    return encoded + UNKNOWN, StatusResponse(tuple(vertexes), tuple(statuses), tuple(logs_), tuple(warnings))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(status_responses())
def test_round_trip(pair):
    encoded, expected = pair
    assert decode_status(encoded) == expected
    event = parse_buildkit_event({"id": "moby.buildkit.trace", "aux": base64.b64encode(encoded).decode()})
    assert event == TraceStatus(expected)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_the_decoders_error(data):
    try:
        decoded = decode_status(data)
    except TraceDecodeError as exc:
        assert str(exc)
    else:
        assert isinstance(decoded, StatusResponse)
    event = parse_buildkit_event({"id": "moby.buildkit.trace", "aux": base64.b64encode(data).decode()})
    assert isinstance(event, (TraceStatus, UndecodableTrace))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(status_responses(), st.integers(0, 400), st.binary(max_size=8))
def test_a_corrupted_message_raises_only_the_decoders_error(pair, cut, junk):
    encoded, _ = pair
    broken = encoded[:cut] + junk + encoded[cut + len(junk):]
    try:
        decode_status(broken)
    except TraceDecodeError:
        pass
