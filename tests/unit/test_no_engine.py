"""With no engine: the extension loads, and every magic that needs an engine fails fast with a message that
says what was tried and how to connect one."""

from __future__ import annotations

import time

import pytest

from dockmagic import EngineUnavailable
from dockmagic.engine import _connected

ENGINE_MAGICS = [
    ("line", "docker_run", "busybox echo hi"),
    ("line", "docker_start", "busybox --name dm-no-engine"),
    ("cell", "docker_shell", "dm-no-engine"),
    ("line", "docker_stop", "dm-no-engine"),
    ("line", "docker_rm", "dm-no-engine"),
    ("line", "docker_ps", ""),
    ("line", "docker_images", ""),
    ("line", "docker_rmi", "busybox"),
    ("line", "docker_diff", "dm-no-engine"),
    ("line", "docker_commit", "dm-no-engine dm-image"),
    ("line", "docker_history", "busybox"),
    ("line", "docker_dockerfile", "dm-no-engine"),
    ("cell", "dockerfile", ""),
]


@pytest.fixture
def no_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    _connected.clear()


@pytest.mark.parametrize("kind, magic, line", ENGINE_MAGICS, ids=[m for _, m, _ in ENGINE_MAGICS])
def test_every_engine_magic_fails_fast_and_clearly(ipython_shell, no_engine, kind, magic, line, fault_report):
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as caught:
        if kind == "cell":
            ipython_shell.run_cell_magic(magic, line, "FROM busybox\n" if magic == "dockerfile" else "echo hi\n")
        else:
            ipython_shell.run_line_magic(magic, line)
    seconds = time.monotonic() - started
    assert seconds < 2
    message = str(caught.value)
    assert "DOCKER_HOST" in message and "unix:///tmp/dockmagic-no-engine.sock" in message
    assert "Start Docker" in message and "podman system service" in message
    fault_report(f"No engine at DOCKER_HOST: %{'%' if kind == 'cell' else ''}{magic} {line}".strip(),
                 f"EngineUnavailable: {message}", seconds, left="nothing (nothing was sent)")


def test_the_default_sockets_are_named_when_docker_host_is_unset(monkeypatch, tmp_path):
    from dockmagic import engine

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "DEFAULT_SOCKETS", (str(tmp_path / "docker.sock"), str(tmp_path / "podman.sock")))
    _connected.clear()
    with pytest.raises(EngineUnavailable) as caught:
        engine.connect()
    message = str(caught.value)
    assert "the default sockets (DOCKER_HOST is not set)" in message
    assert f"unix://{tmp_path}/docker.sock (no such socket)" in message
    assert f"unix://{tmp_path}/podman.sock (no such socket)" in message
