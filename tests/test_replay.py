"""Record a real build (or diff), replay it: the same steps, states and logs, marked as a replay."""

from __future__ import annotations

import json

import pytest

import dockmagic
from dockmagic.operations.replay import replay_build

pytestmark = [pytest.mark.engine]


def test_record_then_replay_gives_the_same_build(tmp_path):
    recording = tmp_path / "build.jsonl"
    live = dockmagic.build("FROM busybox\nRUN echo recorded output && echo to stderr >&2\nRUN exit 5\n",
                           record=str(recording), check=False, no_cache=True)
    header = json.loads(recording.read_text().splitlines()[0])
    assert header["kind"] == "build" and header["dockmagic_recording"] == 1 and header["recorded_at"]

    replayed = replay_build(str(recording))
    assert replayed.replay_of == header["recorded_at"]
    assert replayed.builder == live.builder
    # Every row the live view showed (BuildKit's internal ones too), from the replay's parser and model.
    assert [(s.label, s.instruction, s.state) for s in replayed.steps] == [
        (s.label, s.instruction, s.state) for s in live.progress.steps]
    assert [list(s.tail) for s in replayed.steps] == [list(s.tail) for s in live.progress.steps]
    assert replayed.exit_code == live.exit_code == 5
    assert replayed.state == "failed"
    # Step times come from the recording's clock, not from how fast it was read back.
    assert replayed.seconds == pytest.approx(live.seconds, abs=0.5)
    result = dockmagic.BuildResult.from_progress(replayed)
    assert "replay of a build recorded" in str(result)


def test_replay_magic_needs_no_engine(ipython_shell, tmp_path, monkeypatch, capsys):
    recording = tmp_path / "ok.jsonl"
    dockmagic.build("FROM busybox\nRUN echo replayed\n", record=str(recording), no_cache=True)
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    ipython_shell.run_line_magic("docker_replay", f"{recording} -o again")
    assert ipython_shell.user_ns["again"].ok
    assert "replay of a build recorded" in capsys.readouterr().out


def test_diff_record_then_replay_gives_the_same_changes(ipython_shell, tmp_path, unique_name, monkeypatch, capsys):
    from .conftest import docker_cli

    name = unique_name("dmdiffrec")
    docker_cli("run", "--name", name, "busybox", "sh", "-c", "echo hi > /recorded-file && rm /bin/vi")
    recording = tmp_path / "diff.jsonl"
    try:
        live = ipython_shell.run_line_magic("docker_diff", f"--record {recording} {name}")
    finally:
        docker_cli("rm", "-f", name, check=False)
    capsys.readouterr()
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    ipython_shell.run_line_magic("docker_replay", f"{recording} -o replayed")
    replayed = ipython_shell.user_ns["replayed"]
    assert str(replayed) == str(live) and replayed.counts == live.counts
    assert "A /recorded-file" in str(replayed) and "D /bin/vi" in str(replayed)
    assert "replay of a diff recorded" in replayed.engine
    assert "A /recorded-file" in capsys.readouterr().out
