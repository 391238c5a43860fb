"""What the BuildKit view reads besides the legacy payload: byte progress text, row keys, the static HTML's
timeline bars."""

from __future__ import annotations

import json
import pathlib
from types import SimpleNamespace

from dockmagic.models.build_buildkit import BuildKitProgress
from dockmagic.parsing.buildkit_trace import parse_buildkit_event
from dockmagic.views.build_text import build_html
from dockmagic.views.build_widget import status_text, steps_state
from dockmagic.views.units import human_size

STREAMS = pathlib.Path(__file__).parent.parent / "streams" / "buildkit"
SCENARIOS = json.loads((STREAMS / "scenarios.json").read_text())


def progress_of(name: str, tmp_path) -> BuildKitProgress:
    scenario = SCENARIOS[name]
    progress = BuildKitProgress(str(tmp_path / name), scenario["dockerfile"], scenario["options"].get("target"))
    with (STREAMS / f"{name}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            progress.apply(parse_buildkit_event(json.loads(line)))
    progress.finish()
    return progress


def test_byte_progress_reads_as_sizes_and_speed():
    sent = SimpleNamespace(current=5_000_000, total=12_500_000, started=100.0, completed=102.0)
    assert status_text(sent) == f"{human_size(5_000_000)} of {human_size(12_500_000)} · {human_size(2_500_000)}/s"
    assert status_text(sent) == "5MB of 12.5MB · 2.5MB/s"
    no_total = SimpleNamespace(current=2048, total=0, started=None, completed=None)
    assert status_text(no_total) == "2.05kB"
    assert status_text(SimpleNamespace(current=0, total=0, started=1.0, completed=2.0)) == ""


def test_rows_carry_keys_and_skipped_rows_no_start(tmp_path):
    rows = steps_state(progress_of("target_skip", tmp_path))
    keys = [row["key"] for row in rows]
    assert all(keys) and len(set(keys)) == len(keys)
    skipped = [row for row in rows if row["state"] == "skipped"]
    assert [row["instruction"] for row in skipped] == ["FROM busybox AS unused", "RUN echo never-built"]
    assert all(row["started_after"] is None and row["seconds"] is None for row in skipped)


def test_snapshot_has_a_timeline_bar_per_started_row(tmp_path):
    progress = progress_of("parallel_stages", tmp_path)
    html = build_html(progress)
    assert "timeline (orange: longest chain; hatched: cached)" in html
    started = [step for step in progress.steps if step.started_at is not None]
    assert html.count('title="') == len(started)
    assert 'title="[left 2/2]: done, longest chain, 3.1 s"' in html
    assert 'title="[right 2/2]: done, 3.1 s"' in html
    assert "repeating-linear-gradient(135deg,#f97316" in html  # a cached vertex on the longest chain
