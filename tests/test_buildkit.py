"""BuildKit builds through the Engine API, for real: mounts, --chmod, stages in parallel, a failure, an
interrupt, the network of a bridge-less engine, what this engine's BuildKit cannot do; and on Podman, the
buildah path that takes the same Dockerfile features."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import threading
import time
import uuid

import pytest

import dockmagic
from dockmagic import BuildCancelled, DockerBuildError, DockerfileError
from dockmagic.errors import InvalidInput
from dockmagic.operations.replay import replay_build

from . import test_build
from .conftest import docker_cli, engine_is_podman

image_names = test_build.image_names  # the fixture: the tags a test makes are removed after it

pytestmark = [pytest.mark.engine, pytest.mark.integration]
ON_PODMAN = engine_is_podman()
buildkit_only = pytest.mark.skipif(ON_PODMAN, reason="Podman builds with buildah: BuildKit does not apply")
podman_only = pytest.mark.skipif(not ON_PODMAN, reason="the buildah path is Podman's")


def log_of(result, instruction_start: str) -> str:
    return next(step for step in result.steps if step.instruction.startswith(instruction_start)).log


@buildkit_only
def test_default_build_is_buildkit_one_step_per_instruction(image_names, engine):
    tag = image_names()
    result = dockmagic.build("FROM busybox\nRUN echo hello && echo oops >&2\nCMD [\"echo\", \"hi\"]\n",
                             tags=[tag], no_cache=True)
    assert result.ok and result.builder == "buildkit"
    assert [s.instruction.split()[0] for s in result.steps] == ["FROM", "RUN", "CMD"]
    run = result.steps[1]
    assert run.label == "[2/2]" and run.stage == "0" and run.started and run.state == "done"
    assert "hello" in run.log and "oops" in run.log
    assert any(row.internal and row.instruction == "exporting to image" for row in result.rows)
    assert "builder: buildkit" in str(result)
    assert docker_cli("run", "--rm", tag).stdout.strip() == "hi"


@buildkit_only
def test_legacy_builder_on_request(image_names, engine, monkeypatch):
    result = dockmagic.build("FROM busybox\nRUN echo legacy\n", tags=[image_names()], builder="legacy",
                             no_cache=True)
    assert result.builder == "legacy" and result.steps[1].label == "Step 2/2"
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")
    assert dockmagic.build("FROM busybox\nRUN true\n", builder_setting="buildkit").builder == "legacy"
    monkeypatch.setenv("DOCKER_BUILDKIT", "1")
    assert dockmagic.build("FROM busybox\nRUN true\n", builder_setting="legacy").builder == "buildkit"
    # The build's own option comes first, as the CLI's.
    assert dockmagic.build("FROM busybox\nRUN true\n", builder="legacy").builder == "legacy"


@buildkit_only
def test_cache_mount_is_kept_across_builds(engine):
    cache = uuid.uuid4().hex[:12]

    def dockerfile(run: int) -> str:  # each RUN's text differs, so that the step runs again
        return (f"FROM busybox\nRUN --mount=type=cache,id={cache},target=/cache echo run {run}; "
                "date >> /cache/runs && wc -l < /cache/runs\n")

    first = dockmagic.build(dockerfile(1), no_cache=True)
    second = dockmagic.build(dockerfile(2))
    assert log_of(first, "RUN").split()[-1] == "1"
    assert log_of(second, "RUN").split()[-1] == "2"  # the second found what the first left there
    # BuildKit's --no-cache starts cache mounts empty too (its design since 2019, moby/buildkit#4250).
    third = dockmagic.build(dockerfile(3), no_cache=True)
    assert log_of(third, "RUN").split()[-1] == "1"


@buildkit_only
def test_bind_mount_from_another_stage(engine):
    result = dockmagic.build("FROM busybox AS src\nRUN echo from-src > /data.txt\n\nFROM busybox\n"
                             "RUN --mount=type=bind,from=src,target=/src cat /src/data.txt\n", no_cache=True)
    assert "from-src" in result.steps[-1].log
    assert [s.stage for s in result.steps] == ["src", "src", "1", "1"]


def test_copy_chmod(tmp_path, engine):
    (tmp_path / "hello.sh").write_text("#!/bin/sh\necho hello from the script\n")
    os.chmod(tmp_path / "hello.sh", 0o644)
    result = dockmagic.build("FROM busybox\nCOPY --chmod=755 hello.sh /hello.sh\nRUN ls -l /hello.sh && /hello.sh\n",
                             context=str(tmp_path), no_cache=True)
    log = log_of(result, "RUN")
    assert "-rwxr-xr-x" in log and "hello from the script" in log


@buildkit_only
def test_targetarch_is_set(engine):
    result = dockmagic.build("FROM busybox\nARG TARGETARCH\nRUN echo arch=$TARGETARCH\n", no_cache=True)
    expected = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    assert f"arch={expected}" in log_of(result, "RUN")


@buildkit_only
def test_independent_stages_run_side_by_side(engine):
    result = dockmagic.build("FROM busybox AS left\nRUN sleep 2 && echo left > /left\n"
                             "FROM busybox AS right\nRUN sleep 2 && echo right > /right\n"
                             "FROM busybox\nCOPY --from=left /left /left\nCOPY --from=right /right /right\n",
                             no_cache=True)
    left = next(s for s in result.steps if s.stage == "left" and s.instruction.startswith("RUN"))
    right = next(s for s in result.steps if s.stage == "right" and s.instruction.startswith("RUN"))
    # Each started before the other ended.
    assert left.started < right.started + right.seconds
    assert right.started < left.started + left.seconds


@buildkit_only
def test_failure_names_the_step_its_exit_code_and_last_lines(image_names, engine):
    tag = image_names()
    with pytest.raises(DockerBuildError) as caught:
        dockmagic.build("FROM busybox\nRUN echo before\nRUN echo some output; echo bad >&2; exit 3\nRUN echo never\n",
                        tags=[tag], no_cache=True)
    result = caught.value.result
    assert result.exit_code == 3 and result.builder == "buildkit"
    assert result.failed_step.instruction.startswith("RUN echo some output")
    assert "some output" in result.failed_step.log
    assert result.steps[-1].state == "skipped"
    assert "exit code 3" in str(caught.value)
    assert docker_cli("image", "inspect", tag, check=False).returncode != 0


def processes_with(marker: str) -> list[str]:
    lines = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in lines if marker in line and "ps -eo" not in line]


@buildkit_only
def test_interrupt_cancels_the_build_and_its_process(image_names, engine):
    if not engine.is_on_this_machine:
        pytest.skip("the step's process is looked for on this machine")
    tag = image_names()
    marker = f"marker-{uuid.uuid4().hex[:10]}"
    main_thread = threading.main_thread().ident
    seen = {}

    def interrupt_when_running(progress):
        def watch():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if processes_with(marker) and any(s.line_count for s in progress.steps if not s.internal):
                    seen["process"] = processes_with(marker)
                    signal.pthread_kill(main_thread, signal.SIGINT)
                    return
                time.sleep(0.1)

        threading.Thread(target=watch, daemon=True).start()

    with pytest.raises(BuildCancelled) as caught:
        dockmagic.build(f"FROM busybox\nRUN echo started {marker}; sleep 300; echo {marker}\n", tags=[tag],
                        no_cache=True, watch=interrupt_when_running)
    assert seen["process"]
    result = caught.value.result
    assert result.state == "cancelled" and result.steps[-1].state == "cancelled"
    assert "nothing was tagged" in str(caught.value)
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == []
    assert docker_cli("image", "inspect", tag, check=False).returncode != 0
    # The engine builds again at once.
    assert dockmagic.build("FROM busybox\nRUN true\n").ok


@buildkit_only
def test_bridgeless_engine_builds_with_network_none_and_says_so_once(engine, capsys):
    if engine.has_network("bridge"):
        pytest.skip("this engine has a bridge network")
    result = dockmagic.build("FROM busybox\nRUN cat /proc/net/dev\n", no_cache=True)
    notes = [w for w in result.warnings if "no bridge network" in w]
    assert len(notes) == 1 and "--network none" in notes[0] and "--network host" in notes[0]
    assert capsys.readouterr().err.count("no bridge network") == 1
    assert "lo:" in log_of(result, "RUN")
    host = dockmagic.build("FROM busybox\nRUN echo on-host\n", network="host", no_cache=True)
    assert not [w for w in host.warnings if "no bridge network" in w]


@buildkit_only
def test_network_buildkit_refuses_gets_a_sentence(engine):
    with pytest.raises(InvalidInput) as caught:
        dockmagic.build("FROM busybox\nRUN true\n", network="bridge")
    assert "host or none" in str(caught.value)


@buildkit_only
def test_heredoc_and_ssh_mount_get_sentences_before_the_build(engine):
    if engine.version.split(".")[0].isdigit() and int(engine.version.split(".")[0]) >= 23:
        pytest.skip("this engine reads heredocs")
    with pytest.raises(DockerfileError) as caught:
        dockmagic.build("FROM busybox\nRUN <<EOF\necho hi\nEOF\n")
    assert "Docker Engine 23 or newer" in str(caught.value) and engine.version in str(caught.value)
    # Secrets are served (tests/test_build_secrets.py); an ssh agent is not yet.
    with pytest.raises(DockerfileError) as caught:
        dockmagic.build("FROM busybox\nRUN --mount=type=ssh ssh-add -l\n")
    assert str(caught.value).startswith("Line 2: RUN --mount=type=ssh needs the client session to forward an ssh "
                                        "agent, which dockmagic's does not do yet")


@buildkit_only
def test_missing_base_image_gets_the_legacy_sentence(engine):
    with pytest.raises(DockerBuildError) as caught:
        dockmagic.build("FROM dockmagic-no-such-base:1\nRUN true\n")
    assert caught.value.result.builder == "buildkit"
    assert "'dockmagic-no-such-base:1' is not on this engine and could not be pulled" in str(caught.value)


@buildkit_only
def test_unchanged_context_rebuild_is_fully_cached(tmp_path, engine):
    (tmp_path / "a.txt").write_text("a\n")
    dockerfile = "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt\n"
    first = dockmagic.build(dockerfile, context=str(tmp_path))
    again = dockmagic.build(dockerfile, context=str(tmp_path))
    assert again.builder == "buildkit" and again.image_id == first.image_id
    # The FROM of an image already on the engine is resolved again (done at once), the rest served from cache.
    assert [s.state for s in again.steps][1:] == ["cached", "cached"]


@buildkit_only
def test_record_and_replay(tmp_path, engine):
    path = str(tmp_path / "bk.jsonl")
    built = dockmagic.build("FROM busybox AS a\nRUN echo one\nFROM busybox\nRUN echo two\n", target="a",
                            record=path, no_cache=True)
    replayed = replay_build(path)
    assert replayed.builder == "buildkit" and replayed.replay_of
    assert [(s.instruction, s.state) for s in replayed.instruction_steps] == [
        (s.instruction, s.state) for s in built.steps]
    assert [s.state for s in built.steps][2:] == ["skipped", "skipped"]


@buildkit_only
def test_cell_prints_buildx_plain_in_a_terminal(ipython_shell, capsys, engine):
    ipython_shell.run_cell_magic("dockerfile", "-o built", "FROM busybox\nRUN echo in-a-terminal\n")
    out = capsys.readouterr().out
    assert "#1 [internal] load remote build context" in out  # no context folder: the Dockerfile is uploaded
    assert "in-a-terminal" in out and "DONE" in out
    assert ipython_shell.user_ns["built"].builder == "buildkit"
    ipython_shell.run_cell_magic("dockerfile", "--builder legacy -o built", "FROM busybox\nRUN echo legacy-cell\n")
    assert "Step 2/2 : RUN echo legacy-cell" in capsys.readouterr().out


@podman_only
def test_podman_buildah_takes_cache_mounts_and_chmod(tmp_path, engine):
    (tmp_path / "hello.sh").write_text("#!/bin/sh\necho hello from buildah\n")
    cache = uuid.uuid4().hex[:12]
    result = dockmagic.build(f"FROM busybox\nCOPY --chmod=755 hello.sh /hello.sh\n"
                             f"RUN --mount=type=cache,id={cache},target=/cache /hello.sh && ls -l /hello.sh\n",
                             context=str(tmp_path), no_cache=True)
    assert result.builder == "legacy"
    assert "hello from buildah" in result.steps[-1].log and "-rwxr-xr-x" in result.steps[-1].log
    with pytest.raises(InvalidInput) as caught:
        dockmagic.build("FROM busybox\n", builder="buildkit")
    assert "buildah" in str(caught.value) and "legacy" in str(caught.value)
