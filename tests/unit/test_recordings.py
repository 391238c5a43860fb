"""%docker_recordings with no engine: a cell with no recording says so; --check and %docker_info need none."""

from __future__ import annotations

import pytest

from dockmagic import EngineUnavailable
from dockmagic.engine import _connected


def no_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    _connected.clear()


def test_without_a_recording_the_engine_error_says_so(ipython_shell, tmp_path, monkeypatch):
    ipython_shell.run_line_magic("docker_recordings", str(tmp_path / "empty"))
    no_engine(monkeypatch)
    with pytest.raises(EngineUnavailable, match="no recording of this cell"):
        ipython_shell.run_cell_magic("dockerfile", "", "FROM busybox\nRUN echo never recorded\n")


def test_check_and_info_need_no_recording(ipython_shell, tmp_path, monkeypatch, capsys):
    ipython_shell.run_line_magic("docker_recordings", str(tmp_path / "empty"))
    no_engine(monkeypatch)
    ipython_shell.run_cell_magic("dockerfile", "--check", "FROM busybox\nRUN true\n")
    assert not ipython_shell.run_line_magic("docker_info", "").available
    assert "no problems found" in capsys.readouterr().out
    ipython_shell.run_line_magic("docker_recordings", "off")
