"""The notebooks: they run top to bottom against the real engine, the committed outputs are what a fresh
run produces in kind, and with no engine they run to the end on their recordings."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


def run_notebooks(out: pathlib.Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=1800)


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


_STEP_LINE = re.compile(r"^\s+((?:\[\d+/\d+\] )?Step \d+/\d+)\s+(\w+)\s+[\d.]+ s\s+\S*\s+(.*)$")
# BuildKit's rows: "  [2/3]     done    0.4 s    RUN ...", "  [tools 1/2] cached ...", "  [stage-1] done ...", and
# unlabelled internal rows ("[internal] load metadata ...", "copy /context /", "exporting to image").
_BUILDKIT_STEP_LINE = re.compile(r"^  (\[[^\]]+\])?\s+(running|pending|cached|done|failed|skipped|cancelled)\s+"
                                 r"[\d.]+ s\s+(.*)$")


def _build_steps(text: str) -> list:
    """The build's steps as (label, state, instruction), from either builder's text form. BuildKit's internal rows
    are left out (how many there are, and whether they come from the cache, depends on what the engine saw
    before), and so is whether a FROM row is cached: BuildKit marks a base image's row cached or not by what
    its cache holds, which is no part of the lesson."""
    if "builder: buildkit" not in text:
        return [m.groups() for m in map(_STEP_LINE.match, text.splitlines()) if m]
    steps = []
    for match in map(_BUILDKIT_STEP_LINE.match, text.splitlines()):
        if match and match.group(1):
            label, state, instruction = match.groups()
            if instruction.startswith("FROM ") and state == "cached":
                state = "done"
            steps.append((label, state, instruction.strip()))
    return steps


_DIFF_LINE = re.compile(r"^[ACD] /")


def _is_diff_text(text: str) -> bool:
    """True for the text form of a diff: docker diff's lines, "A /path", "C /path", "D /path"."""
    lines = text.splitlines()
    return bool(lines) and all(_DIFF_LINE.match(line) for line in lines)


def kind_of(cell) -> list:
    """What a cell showed, without what changes from run to run (ids, times, sizes, dates)."""
    kinds = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "error":
            kinds.append(("error", output["ename"]))
            continue
        if kind == "stream":
            # Streamed output arrives in chunks whose count depends on timing; one run of a stream is one kind.
            if not kinds or kinds[-1] != ("stream", output["name"]):
                kinds.append(("stream", output["name"]))
            continue
        data = output.get("data", {})
        text = data.get("text/plain", "")
        steps = _build_steps(text)
        if steps:
            kinds.append(("build", tuple(steps)))
        elif "application/vnd.jupyter.widget-view+json" in data and _is_diff_text(text):
            # The engine lists a diff's top-level folders in no fixed order: compare them as a set.
            kinds.append(("diff", sorted(line for line in text.splitlines() if line.count("/") == 1)))
        elif "application/vnd.jupyter.widget-view+json" in data:
            kinds.append(("widget", text.splitlines()[0].split(":")[0] if text else ""))
        else:
            first = text.splitlines()[0] if text else ""
            # Ids, digits and spacing change from run to run; the words say what kind of thing it is.
            kinds.append(("display", re.sub(r"[0-9a-f]{12,}|\d+|\s+", " ", first).split()[:3]))
    return kinds


def same_kind(committed: list, fresh: list) -> bool:
    """The fresh run's outputs are of the committed kind. A step the committed run ran may come from the cache
    in the fresh one: the engine may hold it from an earlier run (of the tests, of another notebook). The other
    way round is a change: a rebuild that the notebook shows cached no longer is."""
    if len(committed) != len(fresh):
        return False
    for old, new in zip(committed, fresh, strict=True):
        if old[0] == new[0] == "build" and len(old[1]) == len(new[1]):
            if not all(a == b or (a[0], a[2]) == (b[0], b[2]) and (a[1], b[1]) == ("done", "cached")
                       for a, b in zip(old[1], new[1], strict=True)):
                return False
        elif old != new:
            return False
    return True


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    run = run_notebooks(out)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out


@pytest.mark.engine
def test_every_notebook_runs_and_writes_html(fresh_run):
    for path in NOTEBOOKS:
        assert (fresh_run / path.name).exists()
        html = (fresh_run / path.with_suffix(".html").name).read_text()
        assert "<html" in html and "dockmagic" in html


@pytest.mark.engine
def test_committed_outputs_match_a_fresh_run_in_kind(fresh_run):
    for path in NOTEBOOKS:
        committed = nbformat.read(path, as_version=4)
        fresh = nbformat.read(fresh_run / path.name, as_version=4)
        assert code_cells(committed), f"{path.name} has no code"
        for number, (old, new) in enumerate(zip(code_cells(committed), code_cells(fresh), strict=True), 1):
            assert old.source == new.source, f"{path.name} cell {number} changed since its outputs were committed"
            assert same_kind(kind_of(old), kind_of(new)), (
                f"{path.name} code cell {number}: the committed outputs are stale; run "
                "`python scripts/run_notebooks.py --update` and commit the result")
        assert "application/vnd.jupyter.widget-state+json" in committed.metadata.get("widgets", {}), path.name


def test_a_step_run_then_may_come_from_the_cache_now_but_not_the_other_way_round():
    ran = [("build", (("[1/2]", "done", "FROM busybox"), ("[2/2]", "done", "RUN true")))]
    cached = [("build", (("[1/2]", "done", "FROM busybox"), ("[2/2]", "cached", "RUN true")))]
    other = [("build", (("[1/2]", "done", "FROM busybox"), ("[2/2]", "cached", "RUN false")))]
    assert same_kind(ran, cached) and same_kind(cached, cached)
    assert not same_kind(cached, ran) and not same_kind(ran, other) and not same_kind(ran, ran + cached)


@pytest.mark.engine
def test_the_lesson_notebooks_show_what_they_teach(fresh_run):
    lesson = (fresh_run / "01-interactive-image.ipynb").read_text()
    assert "A /usr/share/figlet" in lesson or "/usr/share/figlet" in lesson
    assert "|  _ \\" in lesson or "___(_)" in lesson  # figlet's banner
    builds = (fresh_run / "02-dockerfile-builds.ipynb").read_text()
    assert "cached" in builds and ("exit code 2" in builds or "exit code 1" in builds)


def test_with_no_engine_they_run_to_the_end_on_their_recordings(tmp_path):
    env = dict(os.environ, DOCKER_HOST="unix:///tmp/dockmagic-no-engine.sock")
    work = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    out = tmp_path / "out"
    out.mkdir()
    # The committed recordings are what the notebooks replay.
    shutil.copytree(work / "recordings", out / "recordings")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"), "--out", str(out),
                          "--keep-recordings", *[str(p) for p in sorted(work.glob("*.ipynb"))]],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for path in NOTEBOOKS:
        executed = (out / path.name).read_text()
        assert "no container engine is reachable" in executed
        assert "Replay" in executed or "[replay]" in executed


def test_the_kind_of_a_buildkit_build_is_its_labelled_steps_and_their_states():
    text = "\n".join([
        "Build done · 8/8 steps · 3.3 s · 3 cached · sha256:69f6 · lesson-parallel:latest · 1.99MB",
        "  engine: Docker Engine 20.10.24+dfsg1 at unix:///var/run/docker.sock · builder: buildkit",
        "            done         0.1 s                [internal] load remote build context",
        "  [left 1/2] cached       0.0 s                FROM busybox AS left",
        "  [left 2/2] done         2.4 s                RUN sleep 2",
        "  [2/3]     cached       0.0 s                COPY a /a",
        "  [stage-2] skipped      0.0 s                CMD [\"cat\", \"/left.txt\"]",
        "            done         0.0 s                exporting to image",
    ])
    assert _build_steps(text) == [("[left 1/2]", "done", "FROM busybox AS left"),
                                  ("[left 2/2]", "done", "RUN sleep 2"), ("[2/3]", "cached", "COPY a /a"),
                                  ("[stage-2]", "skipped", 'CMD ["cat", "/left.txt"]')]
    assert _build_steps(text.replace("[left 2/2] done", "[left 2/2] failed")) != _build_steps(text)
