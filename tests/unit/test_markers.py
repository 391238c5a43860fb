"""The rule tests/conftest.py enforces at collection: tests/unit/ needs no engine and no browser; a test that uses
an engine fixture elsewhere is marked ``engine``."""

from __future__ import annotations

import pathlib
from types import SimpleNamespace

from ..conftest import UNIT, marker_problem

ELSEWHERE = UNIT.parent / "test_something.py"


def item(path: pathlib.Path, fixtures=(), markers=(), parameters=None):
    """What the rule reads of a collected test."""
    found = SimpleNamespace(path=path, nodeid=f"{path.name}::test_x", fixturenames=list(fixtures),
                            get_closest_marker=lambda name: name if name in markers else None)
    if parameters is not None:
        found.callspec = SimpleNamespace(params=parameters)
    return found


def test_an_engine_test_must_say_so():
    problem = marker_problem(item(ELSEWHERE, fixtures=["ipython_shell", "cleanup"]))
    assert problem and "uses the engine (cleanup) but is not marked engine" in problem
    assert marker_problem(item(ELSEWHERE, fixtures=["cleanup"], markers=["engine"])) is None
    assert marker_problem(item(ELSEWHERE, fixtures=["ipython_shell", "tmp_path"])) is None


def test_a_unit_test_needs_no_engine_and_no_browser():
    unit_test = UNIT / "test_x.py"
    assert "uses all_container_ids" in marker_problem(item(unit_test, fixtures=["all_container_ids"]))
    assert "is marked browser" in marker_problem(item(unit_test, markers=["browser"]))
    assert "is marked engine, integration" in marker_problem(item(unit_test, markers=["engine", "integration"]))
    assert marker_problem(item(unit_test, fixtures=["ipython_shell", "tmp_path"])) is None


def test_a_parameter_named_engine_is_not_the_engine_fixture():
    # test_build_stream.py parametrizes "engine" with the dialect's name ("docker", "podman").
    assert marker_problem(item(UNIT / "test_x.py", fixtures=["engine", "tmp_path"],
                               parameters={"engine": "docker"})) is None
