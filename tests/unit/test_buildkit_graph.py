"""The BuildKit model (steps per Dockerfile instruction, skipped stages, critical path, failure, clipped
logs) and its --progress=plain rendering, on real recorded streams (tests/streams/buildkit); and, under
fuzzing, the same final steps however the engine splits and orders its deltas."""

from __future__ import annotations

import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockmagic.models.buildkit_graph import (
    CACHED,
    CANCELLED,
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    SKIPPED,
    BuildKitGraph,
    dockerfile_stages,
    graph_from_lines,
    needed_stages,
)
from dockmagic.parsing.buildkit_trace import (
    BuildError,
    BuiltImage,
    StatusResponse,
    StreamText,
    TraceStatus,
    UndecodableTrace,
    Vertex,
    VertexLog,
    VertexStatus,
    parse_buildkit_event,
)
from dockmagic.views.buildkit_plain import render_plain

STREAMS = pathlib.Path(__file__).resolve().parent.parent / "streams" / "buildkit"
SCENARIOS = json.loads((STREAMS / "scenarios.json").read_text())


def lines_of(name: str) -> list[dict]:
    with (STREAMS / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def stages_of(name: str):
    return dockerfile_stages(SCENARIOS[name]["dockerfile"])


def graph(name: str, **options) -> BuildKitGraph:
    return graph_from_lines(lines_of(name), stages_of(name), SCENARIOS[name]["options"].get("target"), **options)


def rows(name: str) -> list[tuple[str, str, str]]:
    """(label, instruction, state) of each row."""
    return [(s.label, s.instruction, s.state) for s in graph(name).steps()]


# -- the Dockerfile's stages ---------------------------------------------------------------------------

def test_stages_and_what_a_target_needs():
    text = ("ARG BASE=busybox\nFROM busybox AS tools\nRUN echo t\nFROM busybox AS data\nRUN echo \\\n  d\n"
            "FROM busybox AS unused\nRUN true\nFROM tools AS final\nCOPY --from=1 /x /y\n"
            "RUN --mount=type=bind,from=tools,target=/t true\n")
    stages = dockerfile_stages(text)
    assert [(s.index, s.name, s.label) for s in stages] == [
        (0, "tools", "tools"), (1, "data", "data"), (2, "unused", "unused"), (3, "final", "final")]
    assert stages[1].instructions == ("FROM busybox AS data", "RUN echo   d")
    assert needed_stages(stages) == {0, 1, 3}
    assert needed_stages(stages, "data") == {1}
    assert needed_stages(stages, "TOOLS") == {0}
    assert needed_stages(dockerfile_stages("FROM busybox\nRUN true\n")) == {0}


# -- steps from recorded streams -----------------------------------------------------------------------

def test_a_simple_build_has_a_row_per_instruction_between_the_internal_ones():
    assert rows("simple") == [
        ("", "[internal] load remote build context", DONE),
        ("", "copy /context /", DONE),
        ("", "[internal] load metadata for docker.io/library/busybox:latest", DONE),
        ("[1/2]", "FROM docker.io/library/busybox", DONE),
        ("[2/2]", "RUN echo hello && echo oops >&2", DONE),
        ("", 'CMD ["echo","hi"]', DONE),
        ("", "exporting to image", DONE),
    ]
    run = graph("simple").steps()[4]
    assert (run.number, run.total, run.stage, run.cached, run.layer_id) == (2, 2, "", False, None)
    assert sorted(run.tail) == [("hello", False), ("oops", True)]
    assert run.started is not None and run.seconds > 0


def test_a_cached_rebuild_shows_the_run_step_cached():
    steps = {s.instruction: s for s in graph("simple_cached").steps()}
    assert steps["RUN echo hello && echo oops >&2"].state == CACHED
    assert steps["RUN echo hello && echo oops >&2"].cached
    assert steps["RUN echo hello && echo oops >&2"].log == ()


def test_parallel_stages_keep_their_order_share_the_base_and_overlap_in_time():
    built = graph("parallel_stages")
    assert [(s.label, s.state) for s in built.steps() if not s.internal] == [
        ("[left 1/2]", CACHED), ("[left 2/2]", DONE),
        ("[right 1/2]", CACHED), ("[right 2/2]", DONE),
        ("[stage-2 1/4]", CACHED), ("[stage-2 2/4]", DONE), ("[stage-2 3/4]", DONE), ("[stage-2 4/4]", DONE),
    ]
    steps = {s.label: s for s in built.steps()}
    left, right = steps["[left 2/2]"], steps["[right 2/2]"]
    assert left.started < right.completed and right.started < left.completed
    critical = built.critical_path()
    assert critical[-1].label == "[stage-2 4/4]"
    assert {"[left 2/2]", "[right 2/2]"} & {s.label for s in critical}
    assert sum(s.seconds for s in critical) >= 3


def test_a_stage_the_target_does_not_need_is_skipped():
    assert [(s.label, s.instruction, s.state) for s in graph("target_skip").steps() if not s.internal] == [
        ("[tools 1/2]", "FROM docker.io/library/busybox", CACHED),
        ("[tools 2/2]", "RUN echo tools > /tools.txt", DONE),
        ("[unused 1/2]", "FROM busybox AS unused", SKIPPED),
        ("[unused 2/2]", "RUN echo never-built", SKIPPED),
        ("[final]", "FROM tools AS final", DONE),
        ("[final 1/1]", "RUN cat /tools.txt", DONE),
    ]


def test_config_only_instructions_are_rows_without_a_number():
    steps = [s for s in graph("debian_steps").steps() if not s.internal]
    assert [(s.number, s.total, s.instruction, s.state) for s in steps] == [
        (1, 3, "FROM docker.io/library/debian:bookworm", DONE),
        (2, 3, "WORKDIR /app", DONE),
        (0, 3, "ENV GREETING=hello", DONE),
        (3, 3, "RUN echo hello from $(cat /etc/debian_version)", DONE),  # BuildKit expands ENV in names
    ]
    assert steps[3].log == ("hello from 12.15",)


def test_a_failing_run_names_the_step_its_exit_code_and_its_last_lines():
    built = graph("failing_run")
    assert built.state == FAILED and built.exit_code == 3
    assert [(s.label, s.state) for s in built.steps() if not s.internal] == [
        ("[1/4]", CACHED), ("[2/4]", DONE), ("[3/4]", FAILED), ("[4/4]", SKIPPED)]
    failure = built.failure()
    assert failure.step.label == "[3/4]"
    assert failure.exit_code == 3
    assert "exit code: 3" in failure.error
    assert sorted(failure.last_lines) == ["bad thing happened", "some output"]


def test_a_cancelled_build_shows_the_running_step_cancelled():
    built = graph("cancelled")
    assert built.state == CANCELLED
    run = next(s for s in built.steps() if s.label == "[2/2]")
    assert run.state == CANCELLED and run.log == ("starting",)
    assert built.failure().error == "context canceled"


def test_a_dockerfile_the_engine_cannot_parse_fails_with_no_step():
    built = graph("heredoc")
    failure = built.failure()
    assert failure.step is None and "unknown instruction: ECHO" in failure.error
    assert {s.state for s in built.steps() if not s.internal} == {SKIPPED}


def test_a_secret_mount_without_a_session_fails_its_step():
    failure = graph("secret_mount").failure()
    assert failure.step.instruction.startswith("RUN --mount=type=secret")
    assert failure.error == "no active sessions" and failure.exit_code is None


@pytest.mark.parametrize("name", ["many_lines", "million_lines"])
def test_a_clipped_log_is_noticed_and_memory_stays_bounded(name):
    run = next(s for s in graph(name, tail_lines=100).steps() if s.instruction.startswith("RUN seq"))
    assert run.clipped
    assert len(run.tail) == 100
    assert run.log[-1] == "[output clipped, log limit 200KiB/s reached]"
    assert run.line_count > 35000
    other = [s for s in graph(name).steps() if not s.instruction.startswith("RUN seq")]
    assert not any(s.clipped for s in other)


def test_a_long_unclipped_log_keeps_its_tail_and_counts_every_line():
    run = next(s for s in graph("slow_printer").steps() if s.instruction.startswith("RUN for"))
    assert not run.clipped
    # Six rounds of `seq 100000 140000 | head -c 180000`: each ends inside a line, which the next continues.
    assert run.line_count == 6 * (180000 // 7) + 1
    assert len(run.tail) == 1000 and run.log[-1] == "12"


def test_without_the_dockerfile_the_rows_are_the_vertices():
    built = graph_from_lines(lines_of("failing_run"))
    assert [s.label for s in built.steps() if not s.internal] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert built.failure().step.label == "[3/4]"


def test_a_build_in_progress_has_running_and_pending_steps():
    lines = lines_of("parallel_stages")
    partial = BuildKitGraph(stages_of("parallel_stages"), clock=lambda: 2e9)
    for line in lines:
        partial.apply(parse_buildkit_event(line))
        states = {s.label: s.state for s in partial.steps()}
        if states.get("[left 2/2]") == RUNNING:
            break
    assert states["[stage-2 4/4]"] == PENDING
    assert not partial.finished and partial.failure() is None


# -- fuzzing: split and reordered deltas ---------------------------------------------------------------

def _items(name: str):
    """The recording's vertex, status and log items in order, and its other lines."""
    items, others = [], []
    for line in lines_of(name):
        event = parse_buildkit_event(line)
        if isinstance(event, TraceStatus):
            items += [("v", v) for v in event.status.vertexes] + [("s", s) for s in event.status.statuses]
            items += [("l", log) for log in event.status.logs]
        else:
            others.append(event)
    return items, others


def _messages(chunks):
    for chunk in chunks:
        yield TraceStatus(StatusResponse(
            vertexes=tuple(x for k, x in chunk if k == "v"), statuses=tuple(x for k, x in chunk if k == "s"),
            logs=tuple(x for k, x in chunk if k == "l")))


def _final_steps(name, events):
    built = BuildKitGraph(stages_of(name), SCENARIOS[name]["options"].get("target"))
    for event in events:
        built.apply(event)
    built.finish()
    return built.steps(), built.failure(), [s.digest for s in built.critical_path()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["simple", "parallel_stages", "failing_run", "target_skip", "cancelled", "many_lines"]),
       st.data())
def test_the_same_final_steps_however_deltas_are_split_and_ordered(name, data):
    items, others = _items(name)
    # Vertices and statuses may come in any order; a vertex's log chunks keep theirs.
    keys = data.draw(st.lists(st.floats(0, 1), min_size=len(items), max_size=len(items)))
    log_slots = sorted(k for (kind, _), k in zip(items, keys, strict=True) if kind == "l")
    slots = iter(log_slots)
    keys = [next(slots) if kind == "l" else k for (kind, _), k in zip(items, keys, strict=True)]
    shuffled = [item for _, item in sorted(zip(keys, items, strict=True), key=lambda pair: pair[0])]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=8)))
    chunks = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    as_recorded = _final_steps(name, [parse_buildkit_event(line) for line in lines_of(name)])
    assert _final_steps(name, [*_messages(chunks), *others]) == as_recorded


# -- the plain text view -------------------------------------------------------------------------------

def test_plain_text_of_a_failing_build_reads_like_buildx():
    text = render_plain(graph("failing_run"))
    blocks = text.split("\n\n")
    assert blocks[0] == "#1 [internal] load remote build context\n#1 DONE 0.0s"
    run = next(b for b in blocks if "] RUN echo some output" in b).splitlines()
    number = run[0].split()[0]
    assert run[0] == f"{number} [3/4] RUN echo some output; echo bad thing happened >&2; exit 3"
    assert sorted(line.split(" ", 2)[2] for line in run[1:3]) == ["bad thing happened", "some output"]
    assert run[-1] == (f"{number} ERROR: executor failed running [/bin/sh -c echo some output; "
                       "echo bad thing happened >&2; exit 3]: exit code: 3")
    assert "[4/4]" not in text  # never started: buildx does not show it
    assert blocks[-1].splitlines()[0] == "------"
    assert blocks[-1].splitlines()[1] == " > [3/4] RUN echo some output; echo bad thing happened >&2; exit 3:"
    assert blocks[-1].splitlines()[-1].startswith("ERROR: executor failed running")


def test_plain_text_of_a_cached_build_and_of_the_export():
    text = render_plain(graph("simple_cached"))
    run = next(b for b in text.split("\n\n") if "RUN echo hello" in b).splitlines()
    assert run[-1].endswith(" CACHED")
    assert "naming to docker.io/library/dmrec-bk-simple-cached 0.0s done" in text
    assert "ERROR" not in text


def test_plain_text_shows_the_clipping_line():
    text = render_plain(graph("many_lines", tail_lines=5))
    run = next(b for b in text.split("\n\n") if "RUN seq" in b).splitlines()
    assert len(run) == 1 + 5 + 1
    assert run[-2].endswith(" [output clipped, log limit 200KiB/s reached]")
    assert run[-1].split()[1:] == ["DONE", "0.1s"]


# -- fuzzing: whatever the engine sends ---------------------------------------------------------------

DIGESTS = [f"sha256:{c * 64}" for c in "abcde"]
NAMES = ["[internal] load metadata for docker.io/library/busybox:latest", "[1/2] FROM docker.io/library/busybox",
         "[2/2] RUN echo hi", "[stage-0 2/2] RUN x", "[other 1/1] COPY a b", "[3/2] RUN odd", "exporting to image",
         "[] broken", "", "[x 0/0] "]
moments = st.none() | st.floats(1.7e9, 1.8e9)
fuzz_vertices = st.builds(Vertex, st.sampled_from(DIGESTS), st.lists(st.sampled_from(DIGESTS), max_size=3).map(tuple),
                          st.sampled_from(NAMES) | st.text(max_size=10), st.booleans(), moments, moments,
                          st.sampled_from(["", "context canceled", "boom: exit code: 4"]))
fuzz_logs = st.builds(VertexLog, st.sampled_from(DIGESTS + ["sha256:unknown"]), moments, st.sampled_from([0, 1, 2]),
                      st.binary(max_size=30) | st.sampled_from([b"\n", b"a\r\n", b"\xe2\x82", b"\xac\n",
                                                                 b"[output clipped, log limit 1MiB reached]\n"]))
fuzz_statuses = st.builds(VertexStatus, st.sampled_from(["a", "b"]), st.sampled_from(DIGESTS), st.text(max_size=5),
                          st.integers(-5, 10**9), st.integers(-5, 10**9), moments, moments, moments)
fuzz_messages = st.builds(StatusResponse, st.lists(fuzz_vertices, max_size=4).map(tuple),
                          st.lists(fuzz_statuses, max_size=2).map(tuple), st.lists(fuzz_logs, max_size=4).map(tuple))
fuzz_ends = st.sampled_from([BuildError("context canceled"), BuildError("x: exit code: 9", 9),
                             BuiltImage("sha256:" + "f" * 64), StreamText("Successfully tagged a:latest\n"),
                             UndecodableTrace("broken")])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(fuzz_messages, max_size=8), st.lists(fuzz_ends, max_size=2), st.integers(1, 5),
       st.sampled_from(["", "FROM busybox\nRUN echo hi\n", "FROM busybox AS other\nCOPY a b\nFROM other\nRUN x\n"]))
def test_whatever_the_engine_sends_the_model_and_view_hold(messages, ends, tail_lines, dockerfile):
    built = BuildKitGraph(dockerfile_stages(dockerfile), tail_lines=tail_lines, clock=lambda: 1.9e9)
    for message in messages:
        built.apply(TraceStatus(message))
        built.steps()
    for end in ends:
        built.apply(end)
    built.finish()
    steps = built.steps()
    assert built.state in {DONE, FAILED, CANCELLED}
    assert all(s.state in {PENDING, RUNNING, CACHED, DONE, FAILED, SKIPPED, CANCELLED} for s in steps)
    assert all(s.seconds >= 0 and len(s.tail) <= tail_lines + 2 for s in steps)
    assert len({s.key for s in steps}) == len(steps)
    assert set(built.vertices) <= {s.digest for s in steps}  # every vertex has a row
    for digest, tail in built.logs.items():
        printed = {}
        for message in messages:
            for log in message.logs:
                if log.vertex == digest:
                    printed[log.stream] = printed.get(log.stream, b"") + log.data
        expected = sum(data.count(b"\n") + (not data.endswith(b"\n") and bool(data)) for data in printed.values())
        assert tail.line_count == expected
    chain = built.critical_path()
    assert len({s.key for s in chain}) == len(chain)
    assert (built.failure() is None) == (built.state == DONE)
    text = render_plain(built)
    assert isinstance(text, str) and "\x1b" not in text


def test_the_critical_path_of_a_long_chain_and_of_a_cycle():
    chain = [Vertex(f"sha256:{i:064d}", (f"sha256:{i - 1:064d}",) if i else (), f"[1/1] RUN {i}", False,
                    1.8e9 + i, 1.8e9 + i + 1) for i in range(5000)]
    built = BuildKitGraph()
    built.apply(TraceStatus(StatusResponse(vertexes=tuple(chain))))
    assert len(built.critical_path()) == 5000
    a, b = DIGESTS[:2]
    cycle = BuildKitGraph()
    cycle.apply(TraceStatus(StatusResponse(vertexes=(Vertex(a, (b,), "x", False, 1.8e9, 1.8e9 + 2),
                                                     Vertex(b, (a,), "y", False, 1.8e9, 1.8e9 + 1)))))
    assert [s.digest for s in cycle.critical_path()] in ([a, b], [b, a])


def test_byte_progress_of_a_status_merges_and_shows_in_the_plain_text():
    # This engine sends byte counts only with a client session (context transfer, pulls): none in the
    # recordings, whose statuses are the export's, 0 of 0 bytes. The shape is BuildKit's.
    vertex = Vertex(DIGESTS[0], (), "[internal] load build context", False, 1.8e9, None)
    built = BuildKitGraph()
    for current, completed in [(1_000_000, None), (4_000_000, 1.8e9 + 2), (2_500_000, None)]:
        status = VertexStatus("transferring context", DIGESTS[0], "", current, 4_000_000, None, 1.8e9, completed)
        built.apply(TraceStatus(StatusResponse(vertexes=(vertex,), statuses=(status,))))
    (step,) = built.steps()
    assert [(s.current, s.total, s.completed) for s in step.statuses] == [(4_000_000, 4_000_000, 1.8e9 + 2)]
    assert "#1 transferring context 4.00MB / 4.00MB 2.0s done" in render_plain(built)


def test_two_vertices_reporting_under_one_status_id_keep_their_own_bytes():
    # Through a build session the engine reports both the .dockerignore's transfer and the context's as
    # "transferring context:" (as seen on Engine 20.10): each belongs to its own vertex.
    ignore = Vertex(DIGESTS[0], (), "[internal] load .dockerignore", False, 1.8e9, 1.8e9 + 0.01)
    context = Vertex(DIGESTS[1], (), "[internal] load build context", False, 1.8e9 + 0.02, 1.8e9 + 0.5)
    built = BuildKitGraph()
    built.apply(TraceStatus(StatusResponse(vertexes=(ignore, context), statuses=(
        VertexStatus("transferring context:", DIGESTS[0], "transferring", 57, 0, None, 1.8e9, 1.8e9 + 0.01),
        VertexStatus("transferring context:", DIGESTS[1], "transferring", 2_097_350, 0, None, 1.8e9, 1.8e9 + 0.5)))))
    by_name = {step.instruction: [s.current for s in step.statuses] for step in built.steps()}
    assert by_name == {"[internal] load .dockerignore": [57], "[internal] load build context": [2_097_350]}


def test_workdir_slash_takes_no_number_so_later_steps_keep_their_vertices():
    # As Engine 20.10's BuildKit names them for jupyterhub/binderhub's final stage (tests/corpus): WORKDIR /
    # is counted in the total (5 here) but makes no vertex, and the numbers after it do not move.
    text = "FROM busybox AS build\nRUN true\nFROM busybox\nWORKDIR /\nCOPY --from=build /a .\nRUN one\nRUN two\n"
    names = ["[build 1/2] FROM docker.io/library/busybox:latest", "[build 2/2] RUN true",
             "[stage-1 2/5] COPY --from=build /a .", "[stage-1 3/5] RUN one", "[stage-1 4/5] RUN two"]
    built = BuildKitGraph(dockerfile_stages(text))
    built.apply(TraceStatus(StatusResponse(vertexes=tuple(
        Vertex(DIGESTS[i], (), name, name.endswith("RUN one"), 1.8e9 + i, 1.8e9 + i + 0.5)
        for i, name in enumerate(names)))))
    final_stage = [(s.label, s.instruction, s.state) for s in built.steps() if s.stage == "stage-1"]
    assert final_stage[2:] == [("[stage-1 2/5]", "COPY --from=build /a .", DONE), ("[stage-1 3/5]", "RUN one", CACHED),
                               ("[stage-1 4/5]", "RUN two", DONE)], final_stage


def test_colour_sequences_and_carriage_returns_are_shown_as_a_terminal_leaves_them():
    vertex = Vertex(DIGESTS[0], (), "[2/2] RUN pip install x", False, 1.8e9, None)
    built = BuildKitGraph()
    chunk = (b"\x1b[33mWARNING: Running pip as the 'root' user\x1b[0m\n"
             b"Downloading 10%\rDownloading 100%\n" b"a bell \x07 here\n")
    built.apply(TraceStatus(StatusResponse(vertexes=(vertex,), logs=(VertexLog(DIGESTS[0], 1.8e9, 2, chunk),))))
    (step,) = built.steps()
    assert [text for text, _ in step.tail] == ["WARNING: Running pip as the 'root' user", "Downloading 100%",
                                               "a bell \u2407 here"]
