"""The build-stream parser and the build model, on streams recorded from real Docker and Podman builds
(tests/streams/record.py made them)."""

from __future__ import annotations

import json
import pathlib

import pytest

from dockmagic.models.build import BuildProgress
from dockmagic.parsing.build_stream import (
    BuildFailed,
    ImageBuilt,
    Output,
    StepLayer,
    StepStarted,
    StepUsedCache,
    Unrecognized,
    build_events,
    parse_build_event,
)

STREAMS = pathlib.Path(__file__).parents[1] / "streams"


def recorded(engine: str, scenario: str) -> list[dict]:
    path = STREAMS / engine / f"{scenario}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def replay(engine: str, scenario: str, tmp_path) -> BuildProgress:
    progress = BuildProgress(str(tmp_path))
    for event in build_events(recorded(engine, scenario)):
        progress.apply(event)
    progress.finish()
    return progress


def states(progress):
    return [(step.label, step.instruction, step.state) for step in progress.steps]


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_three_steps(engine, tmp_path):
    progress = replay(engine, "three_steps", tmp_path)
    assert progress.state == "done"
    assert states(progress) == [
        ("Step 1/3", "FROM busybox", "done"),
        ("Step 2/3", "RUN echo hello && echo oops >&2", "done"),
        ("Step 3/3", 'CMD ["echo","hi"]', "done"),
    ]
    assert progress.image_id.startswith("sha256:") and len(progress.image_id) == 71
    run = progress.steps[1]
    assert sorted(text for text, _ in run.tail) == ["hello", "oops"]
    assert run.layer_id and progress.steps[2].layer_id
    log = pathlib.Path(run.log_path).read_text()
    assert "hello" in log and "oops" in log
    # Podman tags twice (docker.io/library/dmrec-three-steps:latest, then dmrec-three-steps): one tag, as Docker's.
    assert progress.tags == ["dmrec-three-steps:latest"]


def test_docker_marks_stderr(tmp_path):
    progress = replay("docker", "three_steps", tmp_path)
    assert list(progress.steps[1].tail) == [("hello", False), ("oops", True)]
    # The header's newline is not output.
    assert progress.steps[0].line_count == 0


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_cached_rebuild(engine, tmp_path):
    progress = replay(engine, "three_steps_cached", tmp_path)
    assert [step.state for step in progress.steps] == ["done", "cached", "cached"]
    assert progress.cached_count == 2
    assert progress.state == "done"


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_failing_run(engine, tmp_path):
    progress = replay(engine, "failing_run", tmp_path)
    assert progress.state == "failed"
    assert progress.exit_code == 3
    failed = progress.failed_step
    assert failed.label == "Step 2/2" and failed.instruction == "RUN echo before; exit 3"
    assert [text for text, _ in failed.tail] == ["before"]
    assert progress.image_id is None


def test_docker_multistage_numbers_steps_across_stages(tmp_path):
    progress = replay("docker", "multistage", tmp_path)
    assert [step.label for step in progress.steps] == [f"Step {n}/5" for n in range(1, 6)]
    # Each stage names an image; the build's result is the last one.
    assert progress.image_id.startswith("sha256:c860606cd915")


def test_podman_multistage_keeps_stage_prefixes(tmp_path):
    progress = replay("podman", "multistage", tmp_path)
    assert [step.label for step in progress.steps] == [
        "[1/2] Step 1/2", "[1/2] Step 2/2", "[2/2] Step 1/3", "[2/2] Step 2/3", "[2/2] Step 3/3"]
    assert progress.state == "done"


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_target_stage(engine, tmp_path):
    progress = replay(engine, "multistage_target", tmp_path)
    assert [step.instruction for step in progress.steps] == [
        "FROM busybox AS base", "RUN echo made-in-base > /base.txt"]
    assert progress.state == "done"


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_missing_base_fails_at_from(engine, tmp_path):
    progress = replay(engine, "missing_base", tmp_path)
    assert progress.state == "failed"
    assert progress.failed_step.instruction == "FROM dmrec-no-such-image:1"
    assert "registry" in progress.error


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_many_lines_keep_a_bounded_tail(engine, tmp_path):
    progress = BuildProgress(str(tmp_path), tail_lines=100)
    for event in build_events(recorded(engine, "many_lines")):
        progress.apply(event)
    progress.finish()
    step = progress.steps[1]
    assert step.line_count == 2000
    assert len(step.tail) == 100 and step.tail[-1] == ("2000", False)
    assert pathlib.Path(step.log_path).read_text().split() == [str(n) for n in range(1, 2001)]


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_build_arg_and_multiline(engine, tmp_path):
    args = replay(engine, "build_arg", tmp_path / "a")
    assert any("ciao" in text for step in args.steps for text, _ in step.tail)
    multiline = replay(engine, "multiline_run", tmp_path / "m")
    assert multiline.state == "done" and len(multiline.steps) == 2


def test_single_messages():
    assert parse_build_event({"stream": "Step 2/3 : RUN echo hi"}) == [StepStarted(2, 3, "RUN echo hi")]
    assert parse_build_event({"stream": "STEP 2/3: RUN echo hi\n"}) == [StepStarted(2, 3, "RUN echo hi")]
    assert parse_build_event({"stream": " ---> Using cache\n"}) == [StepUsedCache()]
    assert parse_build_event({"stream": "--> Using cache " + "a" * 64 + "\n"}) == [StepUsedCache("a" * 12)]
    assert parse_build_event({"stream": " ---> 29886ca05035\n"}) == [StepLayer("29886ca05035")]
    assert parse_build_event({"stream": "\x1b[91moops\n\x1b[0m"}) == [Output("oops\n", stderr=True)]
    assert parse_build_event({"stream": "two\nlines\n"}) == [Output("two\nlines\n")]
    assert parse_build_event({"aux": {"ID": "sha256:" + "b" * 64}}) == [ImageBuilt("sha256:" + "b" * 64)]
    failed = parse_build_event({"errorDetail": {"code": 3, "message": "m"}, "error": "m"})
    assert failed == [BuildFailed("m", 3)]
    podman_failure = parse_build_event({"error": 'building at STEP "RUN x": while running runtime: exit status 9\n'})
    assert podman_failure[0].exit_code == 9
    assert parse_build_event("not a dict") == [Unrecognized("not a dict")]
    assert parse_build_event({"unexpected": 1}) == [Unrecognized({"unexpected": 1})]


def test_lone_newline_is_output_except_after_a_header():
    events = list(build_events([{"stream": "Step 1/1 : RUN echo"}, {"stream": "\n"}, {"stream": "\n"}]))
    assert events == [StepStarted(1, 1, "RUN echo"), Output("\n")]


def test_carriage_returns_ansi_and_nul_are_shown_safely(tmp_path):
    progress = BuildProgress(str(tmp_path))
    for event in build_events([
        {"stream": "Step 1/2 : RUN x"}, {"stream": "\n"},
        {"stream": "progress 10%\rprogress 50%\rprogress 100%\n"},
        {"stream": "\x1b[1;32mgreen\x1b[0m and\x00nul\n"},
        {"stream": "partial "}, {"stream": "line\n"},
    ]):
        progress.apply(event)
    lines = [text for text, _ in progress.steps[0].tail]
    assert lines == ["progress 100%", "green and\N{SYMBOL FOR NULL}nul", "partial line"]


@pytest.mark.parametrize("name, familiar", [
    ("docker.io/library/busybox:latest", "busybox:latest"), ("docker.io/team/tool:1", "team/tool:1"),
    ("busybox", "busybox"), ("localhost/mine:1", "localhost/mine:1"), ("quay.io/x/y", "quay.io/x/y"),
    ("docker.io/library/a/b", "library/a/b"), ("<none>:<none>", "<none>:<none>"),
])
def test_familiar_image_names_are_what_the_docker_cli_shows(name, familiar):
    from dockmagic.parsing.image_names import familiar_image_name, familiar_tag

    assert familiar_image_name(name) == familiar
    assert familiar_tag("docker.io/library/x") == familiar_tag("x") == familiar_tag("x:latest") == "x:latest"


def test_ids_are_written_as_docker_writes_them():
    from dockmagic.parsing.image_names import docker_image_id

    bare = "ab" * 32
    assert docker_image_id(bare) == docker_image_id("sha256:" + bare) == "sha256:" + bare
    assert docker_image_id("<missing>") == "<missing>" and docker_image_id("abc123") == "abc123"


def test_an_error_of_only_white_space_falls_back_to_a_sentence():
    from dockmagic.parsing.build_stream import BuildFailed, parse_build_event

    [event] = parse_build_event({"error": "\n", "errorDetail": {"message": "  "}})
    assert isinstance(event, BuildFailed)
    assert event.message == "the build failed"
    [event] = parse_build_event({"error": " ", "errorDetail": {"message": "exit code: 3\n"}})
    assert event.message == "exit code: 3"


def test_a_warning_the_engine_repeats_at_every_step_is_kept_once(tmp_path):
    progress = replay("docker", "multistage", tmp_path)  # "[Warning] IPv4 forwarding is disabled" at each RUN
    assert [w for w in progress.warnings if "IPv4 forwarding" in w] == [
        "IPv4 forwarding is disabled. Networking will not work."]
