"""Replaying recordings with no engine: a build recorded on a real engine (tests/streams/recordings/) comes back
with its steps, states, logs and exit code, marked as a replay; what is not a recording is named as such."""

from __future__ import annotations

import json
import pathlib

import pytest

import dockmagic
from dockmagic.errors import InvalidInput
from dockmagic.operations.replay import replay_build

# FROM busybox / RUN echo recorded output && echo to stderr >&2 / RUN exit 5, on Docker Engine 20.10.
FAILED_BUILD = pathlib.Path(__file__).parents[1] / "streams" / "recordings" / "build_exit_5.jsonl"


def test_a_recorded_build_replays_its_steps_logs_and_exit_code():
    header = json.loads(FAILED_BUILD.read_text().splitlines()[0])
    replayed = replay_build(str(FAILED_BUILD))
    assert replayed.replay_of == header["recorded_at"]
    assert [(step.label, step.instruction, step.state) for step in replayed.steps] == [
        ("Step 1/3", "FROM busybox", "done"),
        ("Step 2/3", "RUN echo recorded output && echo to stderr >&2", "done"),
        ("Step 3/3", "RUN exit 5", "failed"),
    ]
    assert ("recorded output", False) in replayed.steps[1].tail and ("to stderr", True) in replayed.steps[1].tail
    assert replayed.state == "failed" and replayed.exit_code == 5
    # Step times come from the recording's clock.
    assert replayed.seconds == pytest.approx(1.34, abs=0.01)
    shown = str(dockmagic.BuildResult.from_progress(replayed))
    assert "replay of a build recorded" in shown and "Failed at Step 3/3: RUN exit 5 (exit code 5)" in shown


def test_the_replay_magic_binds_the_result(ipython_shell, capsys):
    ipython_shell.run_line_magic("docker_replay", f"{FAILED_BUILD} -o again")
    again = ipython_shell.user_ns["again"]
    assert not again.ok and again.exit_code == 5
    assert "replay of a build recorded" in capsys.readouterr().out


def test_not_a_recording_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"stream": "Step 1/1 : FROM busybox"}\n')
    with pytest.raises(InvalidInput, match="not a dockmagic recording"):
        replay_build(str(bogus))
    with pytest.raises(InvalidInput, match="No recording at"):
        replay_build(str(tmp_path / "missing.jsonl"))
