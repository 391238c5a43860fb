"""Tests that need no engine: parser, models, views, ``--check``, replay. Each runs with DOCKER_HOST pointing
at a socket that does not exist, so one that reaches for an engine fails here, not only in CI."""

from __future__ import annotations

import pytest

NOWHERE = "unix:///nonexistent/dockmagic-unit-tests.sock"


@pytest.fixture(autouse=True)
def no_engine_anywhere(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
