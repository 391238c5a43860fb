"""%docker_recordings: the same cells run live with an engine (and are recorded) and replay without one."""

from __future__ import annotations

import json
import os

import pytest

from dockmagic import DockerBuildError
from dockmagic.engine import _connected

from .conftest import docker_cli

pytestmark = [pytest.mark.engine]


@pytest.fixture
def changed_container(unique_name):
    name = unique_name("dmrec")
    # The tests point DOCKER_HOST nowhere (no_engine) until after this is torn down: remove it from the
    # engine it was made on.
    environment = dict(os.environ)
    docker_cli("run", "--name", name, "busybox", "sh", "-c", "mkdir /lesson && echo hi > /lesson/note && rm /bin/vi")
    yield name
    docker_cli("rm", "-f", name, check=False, env=environment)


def no_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    _connected.clear()


def test_cells_record_with_an_engine_and_replay_without(ipython_shell, tmp_path, monkeypatch, changed_container,
                                                        capsys):
    folder = tmp_path / "recordings"
    shell = ipython_shell
    cell = "FROM busybox\nRUN echo recorded build output\n"

    def run_notebook():
        shell.run_line_magic("docker_recordings", str(folder))
        shell.run_cell_magic("dockerfile", "-o built", cell)
        shell.run_cell_magic("dockerfile", "-o again", cell)  # the same cell twice: two recordings
        diff = shell.run_line_magic("docker_diff", changed_container)
        with pytest.raises(DockerBuildError):
            shell.run_cell_magic("dockerfile", "-o broken", "FROM busybox\nRUN echo about to fail; exit 2\n")
        return diff

    live_diff = run_notebook()
    live = capsys.readouterr().out
    assert "cells run live on Docker Engine" in live and "recorded build output" in live
    files = sorted(p.name for p in folder.iterdir())
    assert len([f for f in files if f.startswith("dockerfile-") and f.endswith(".json")]) == 3
    assert len([f for f in files if f.endswith(".stream.jsonl")]) == 3
    diff_record = json.loads(next(folder.glob("docker-diff-*.json")).read_text())
    # A diff this small has its sizes measured (cheap): the record keeps them ("/lesson/note" holds 3 bytes).
    assert ["A", "/lesson/note", 3] in diff_record["diff"]["changes"]

    no_engine(monkeypatch)
    replayed_diff = run_notebook()
    replay = capsys.readouterr().out
    assert "no container engine is reachable" in replay and "replay" in replay.lower()
    assert "recorded build output" in replay
    assert shell.user_ns["built"].image_id == shell.user_ns["again"].image_id
    assert shell.user_ns["again"].steps[-1].cached  # the RUN (a FROM may be resolved again by BuildKit)
    assert shell.user_ns["broken"].exit_code == 2
    assert str(replayed_diff) == str(live_diff)
    assert replayed_diff.counts == live_diff.counts
