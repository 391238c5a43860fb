"""The second lesson, for real: FROM / RUN / CMD built from Python and from a cell, against the engine."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

import dockmagic
from dockmagic import BuildCancelled, DockerBuildError, DockerfileError, EngineUnavailable
from dockmagic.errors import BuildContextError, DockmagicError

from .conftest import docker_cli

pytestmark = [pytest.mark.engine, pytest.mark.integration]

LESSON = 'FROM busybox\nRUN echo "hello from the build" && echo "a warning" >&2\nCMD ["echo", "hi"]\n'


@pytest.fixture
def image_names(unique_name):
    """Tags to use in a test; every image they name is removed afterwards."""
    made = []

    def make():
        made.append(unique_name("dmbuild"))
        return made[-1]

    yield make
    for name in made:
        docker_cli("rmi", "-f", name, check=False)


def test_three_step_build_runs_like_the_lesson(image_names, engine):
    tag = image_names()
    # The legacy builder's steps: numbered 1/3..3/3, a layer each (BuildKit's: tests/test_buildkit.py).
    result = dockmagic.build(LESSON, tags=[tag], no_cache=True, builder="legacy")

    assert result.ok and result.state == "done" and result.builder == "legacy"
    assert result.image_id.startswith("sha256:") and len(result.image_id) == 71
    assert result.tags == [f"{tag}:latest"] or result.tags == [tag]
    assert [s.instruction for s in result.steps] == [
        "FROM busybox", 'RUN echo "hello from the build" && echo "a warning" >&2', 'CMD ["echo", "hi"]']
    assert [(s.number, s.total) for s in result.steps] == [(1, 3), (2, 3), (3, 3)]
    assert not any(s.cached for s in result.steps)
    assert all(s.layer_id for s in result.steps)
    run_step = result.steps[1]
    assert "hello from the build" in run_step.log and "a warning" in run_step.log
    # Docker marks a RUN step's stderr in its stream; Podman sends stdout and stderr as one unmarked text.
    assert ("a warning", not engine.is_podman) in run_step._tail
    assert ("hello from the build", False) in run_step._tail
    assert result.size and result.size > 100_000
    # The image is what the engine says it is, and runs.
    assert docker_cli("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip() == result.image_id
    assert docker_cli("run", "--rm", tag).stdout == "hi\n"
    text = str(result)
    assert "Build done" in text and "3/3 steps" in text and tag in text


def test_rebuild_is_served_from_cache_and_matches_the_cli(image_names, tmp_path):
    tag = image_names()
    first = dockmagic.build(LESSON, tags=[tag], builder="legacy")
    again = dockmagic.build(LESSON, tags=[tag], builder="legacy")
    assert [s.cached for s in again.steps] == [False, True, True]
    assert again.cached_steps == 2
    assert again.image_id == first.image_id

    # The docker CLI, same engine, same Dockerfile and context, legacy builder as the Engine API uses.
    (tmp_path / "Dockerfile").write_text(LESSON)
    cli = subprocess.run(["docker", "build", "-q", str(tmp_path)], capture_output=True, text=True,
                         env=dict(os.environ, DOCKER_BUILDKIT="0"), check=True)
    # Docker's CLI prints the id as sha256:<hex>; on Podman's API it prints the bare hex.
    cli_id = cli.stdout.strip().splitlines()[-1]
    assert cli_id.removeprefix("sha256:") == again.image_id.removeprefix("sha256:")


def test_no_cache_runs_every_step(image_names):
    tag = image_names()
    dockmagic.build(LESSON, tags=[tag])
    fresh = dockmagic.build(LESSON, tags=[tag], no_cache=True)
    assert not any(s.cached for s in fresh.steps if not s.instruction.startswith("FROM"))
    assert "hello from the build" in fresh.steps[1].log


def test_failing_run_reports_step_and_exit_code_and_tags_nothing(image_names, all_container_ids):
    tag = image_names()
    before = all_container_ids()
    with pytest.raises(DockerBuildError) as caught:
        dockmagic.build("FROM busybox\nRUN echo before the failure; exit 3\nCMD [\"true\"]\n", tags=[tag],
                        builder="legacy")
    error = caught.value
    assert "Step 2/3" in str(error) and "exit code 3" in str(error)
    assert "RUN echo before the failure; exit 3" in str(error)
    result = error.result
    assert not result.ok and result.exit_code == 3
    assert result.failed_step.number == 2 and result.failed_step.state == "failed"
    assert "before the failure" in result.failed_step.log
    assert "exit code 3" in str(result) and "before the failure" in str(result)
    assert docker_cli("image", "inspect", tag, check=False).returncode != 0, "a failed build was tagged"
    assert all_container_ids() == before


def test_failed_build_can_return_its_result_without_raising():
    result = dockmagic.build("FROM busybox\nRUN exit 7\n", check=False)
    assert not result.ok and result.exit_code == 7 and result.error


def test_build_args_reach_the_run_step(image_names):
    result = dockmagic.build("FROM busybox\nARG GREETING=hello\nRUN echo \"greeting: $GREETING\"\n",
                             tags=[image_names()], build_args={"GREETING": "ciao"}, no_cache=True)
    assert "greeting: ciao" in result.steps[2].log


def test_two_stage_build_stops_at_target(image_names):
    dockerfile = (
        "FROM busybox AS tools\nRUN echo made-in-stage-one > /artifact\n"
        "FROM busybox\nCOPY --from=tools /artifact /artifact\nCMD [\"cat\", \"/artifact\"]\n"
    )
    full_tag, tools_tag = image_names(), image_names()
    full = dockmagic.build(dockerfile, tags=[full_tag])
    assert len(full.steps) == 5
    assert docker_cli("run", "--rm", full_tag).stdout == "made-in-stage-one\n"
    tools = dockmagic.build(dockerfile, tags=[tools_tag], target="tools")
    # BuildKit lists the instructions of the stages the target does not need, as skipped.
    assert [s.instruction for s in tools.steps if s.state != "skipped"] == [
        "FROM busybox AS tools", "RUN echo made-in-stage-one > /artifact"]
    assert docker_cli("run", "--rm", tools_tag, "cat", "/artifact").stdout == "made-in-stage-one\n"


def test_unknown_target_is_a_clear_error():
    with pytest.raises(DockerfileError, match="names no stage"):
        dockmagic.build("FROM busybox AS base\nRUN true\n", target="nope")


def test_context_folder_honours_dockerignore(image_names, tmp_path):
    (tmp_path / "data.txt").write_text("shipped\n")
    (tmp_path / "secret.txt").write_text("must not be sent\n")
    (tmp_path / ".dockerignore").write_text("# not in the image\nsecret.txt\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")  # the cell's Dockerfile wins over this one
    tag = image_names()
    result = dockmagic.build("FROM busybox\nCOPY . /ctx/\nRUN ls -a /ctx\n", tags=[tag], context=str(tmp_path),
                             no_cache=True)
    listing = result.steps[2].log.split()
    assert "data.txt" in listing and "secret.txt" not in listing
    assert docker_cli("run", "--rm", tag, "cat", "/ctx/data.txt").stdout == "shipped\n"


def test_missing_context_folder_is_a_clear_error(tmp_path):
    with pytest.raises(BuildContextError, match="does not exist"):
        dockmagic.build("FROM busybox\n", context=str(tmp_path / "nowhere"))


@pytest.mark.parametrize(
    "dockerfile, message",
    [
        ("", "The cell is empty"),
        ("RUN echo no base\n", "No FROM before the first instruction (line 1 is RUN)"),
        ("FROM busybox\nRUN true\nFOO bar\n", "Line 3: unknown instruction FOO"),
    ],
)
def test_bad_dockerfiles_are_named_before_anything_is_sent(dockerfile, message):
    with pytest.raises(DockerfileError) as caught:
        dockmagic.build(dockerfile, engine=object())  # an engine that would break if it were used
    assert message in str(caught.value)


def test_missing_base_image_names_the_image():
    with pytest.raises(DockerBuildError) as caught:
        dockmagic.build("FROM dmtest-no-such-base:1\nRUN true\n")
    message = str(caught.value)
    assert "'dmtest-no-such-base:1' is not on this engine and could not be pulled" in message
    assert "busybox:latest" in message  # what the user can use instead


def test_invalid_tag_is_refused_before_sending():
    with pytest.raises(DockmagicError, match="not a valid tag"):
        dockmagic.build("FROM busybox\n", tags=["Bad Name!"], engine=object())


def test_no_engine_fails_fast_and_says_what_was_tried(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as caught:
        dockmagic.build("FROM busybox\n")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "DOCKER_HOST" in message and "unix:///tmp/dockmagic-no-engine.sock" in message
    assert "Start Docker" in message


def test_interrupt_cancels_the_build_and_leaves_no_container(image_names, all_container_ids, engine):
    tag = image_names()
    before = all_container_ids()
    main_thread = threading.main_thread().ident
    seen = {}

    def interrupt_when_running(progress):
        def watch():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                step = progress.current_step
                # Docker names the step's container ("Running in <id>"); Podman's stream names none.
                announced = step is not None and (step.container_id or engine.is_podman)
                if announced and step.line_count >= 1:
                    seen["container"] = step.container_id
                    signal.pthread_kill(main_thread, signal.SIGINT)
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()

    started = time.monotonic()
    with pytest.raises(BuildCancelled) as caught:
        dockmagic.build("FROM busybox\nRUN echo started; sleep 60\nCMD [\"true\"]\n", tags=[tag],
                        no_cache=True, watch=interrupt_when_running, builder="legacy")
    assert time.monotonic() - started < 30
    assert caught.value.result.state == "cancelled"
    assert caught.value.result.steps[1].state == "cancelled"
    assert isinstance(caught.value, KeyboardInterrupt)
    assert "nothing was tagged" in str(caught.value)
    if engine.is_podman:
        assert "when the running step's command has ended" in str(caught.value)
    else:
        assert seen["container"]
    assert all_container_ids() == before
    assert docker_cli("image", "inspect", tag, check=False).returncode != 0


def engine_name_from_version_endpoint() -> str:
    """What the engine the docker CLI talks to calls itself (/version's first component), as the views
    should name it ("Engine" is Docker's, "Podman Engine" Podman's)."""
    name = docker_cli("version", "--format", "{{(index .Server.Components 0).Name}}").stdout.strip()
    return "Docker Engine" if name == "Engine" else name


def test_docker_info_names_the_engine_or_says_why_none(ipython_shell, monkeypatch, engine):
    info = ipython_shell.run_line_magic("docker_info", "")
    name = engine_name_from_version_endpoint()
    assert info.available and info.name == name and info.version and info.address
    assert str(info).startswith(f"{name} {info.version} (API ") and engine.address in str(info)
    assert name in info._repr_mimebundle_()["text/html"]
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    missing = ipython_shell.run_line_magic("docker_info", "")
    assert not missing.available
    assert "unix:///tmp/dockmagic-no-engine.sock" in str(missing) and "No engine" in str(missing)


def test_pull_with_no_registry_says_to_use_the_local_copy():
    with pytest.raises(DockerBuildError) as caught:
        dockmagic.build("FROM busybox\nRUN true\n", pull=True)
    message = str(caught.value)
    assert "--pull could not fetch a newer 'busybox'" in message
    assert "build without --pull to use it" in message


def test_build_views_name_the_engine_they_talk_to(image_names, engine):
    """The text summary and the widget's header say which engine built the image, and where it is."""
    from dockmagic.views.build_widget import LiveBuildView

    name = engine_name_from_version_endpoint()
    assert name in ("Docker Engine", "Podman Engine")
    assert engine.name == name and engine.is_podman == (name == "Podman Engine")
    views = []
    result = dockmagic.build("FROM busybox\nCMD [\"true\"]\n", tags=[image_names()],
                             watch=lambda progress: views.append(LiveBuildView(progress)))
    described = f"{name} {engine.version} at {engine.address}"
    assert result.engine == engine.describe() == described
    assert f"  engine: {described} · builder: {result.builder}" in str(result).splitlines()
    assert described in result._repr_mimebundle_()["text/html"]
    assert views[0].widget.header["engine"] == described  # the view flushed when the build finished
