"""The build view of BuildKit builds, in JupyterLab in a real headless Chromium: stages running side by
side (two running rows, two clocks), the timeline (bars, cached ones hatched, the longest chain coloured),
the failure brought forward, a clipped log's note, skipped stages, and a narrow pane."""

from __future__ import annotations

import json
import pathlib

import pytest

from .conftest import NotebookPage, screenshot
from .test_build_view_first_afternoon import docs_screenshot, seconds

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

STREAMS = pathlib.Path(__file__).resolve().parents[1] / "streams" / "buildkit"

RUNNING_CLOCKS = """(build) => Array.from(build.querySelectorAll(".dm-step[data-state='running']"))
  .map((row) => [row.querySelector('.dm-number').textContent, row.querySelector('.dm-time').textContent])"""

BARS = """(build) => Array.from(build.querySelectorAll('.dm-tl-row')).map((row) => {
  const bar = row.querySelector('.dm-tl-bar').getBoundingClientRect();
  return {label: row.querySelector('.dm-tl-label').textContent, left: bar.left, right: bar.right,
          state: row.querySelector('.dm-tl-bar').dataset.state,
          critical: row.querySelector('.dm-tl-bar').dataset.critical === 'true',
          title: row.querySelector('.dm-tl-bar').title};
})"""


def recording_of(stream: str, folder: pathlib.Path) -> str:
    """A dockmagic recording (as %%dockerfile --record writes one) of a BuildKit stream recorded from the
    real engine in tests/streams/buildkit, with the scenario's Dockerfile and target."""
    scenario = json.loads((STREAMS / "scenarios.json").read_text())[stream]
    path = folder / f"{stream}.dmrec.jsonl"
    header = {"dockmagic_recording": 1, "kind": "build", "builder": "buildkit", "engine": "Docker Engine 20.10",
              "dockerfile": scenario["dockerfile"], "target": scenario["options"].get("target"),
              "recorded_at": "2026-12-01 10:00"}
    with (STREAMS / f"{stream}.jsonl").open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n")
        for line in source:
            if line.strip():
                out.write(json.dumps({"t": 0.0, "message": json.loads(line)}) + "\n")
    return path.name


def busiest_second(times: list[float]) -> int:
    """The most messages sent within any one second."""
    return max((sum(1 for t in times if start <= t < start + 1000) for start in times), default=0)


def test_parallel_stages_run_side_by_side_on_a_timeline(lab, page, unique_name):
    tag = unique_name("dmbkpar")
    # Each stage runs long enough for the page to be read twice while both run, on a busy machine; the left
    # one prints a line every 50 ms, more than the view may send updates for.
    dockerfile = (f"%%dockerfile -t {tag} --no-cache --builder buildkit\n"
                  "FROM busybox AS left\nRUN for i in $(seq 1 120); do echo line $i; sleep 0.05; done && "
                  "echo left > /left.txt\n\n"
                  "FROM busybox AS right\nRUN sleep 6 && echo right > /right.txt\n\n"
                  "FROM busybox\nCOPY --from=left /left.txt /left.txt\nCOPY --from=right /right.txt /right.txt\n"
                  "RUN cat /left.txt /right.txt")
    lab.write_notebook("parallel.ipynb", ["%load_ext dockmagic", dockerfile, f"!docker rmi -f {tag} > /dev/null"])
    notebook = NotebookPage(page, lab, "parallel.ipynb")
    notebook.run_all()
    build = notebook.output(1).locator(".dockmagic-build")
    build.wait_for(timeout=120000)
    handle = build.element_handle()
    page.wait_for_function(f"(b) => ({RUNNING_CLOCKS})(b).length === 2", arg=handle, timeout=60000)

    # Two rows run at once, each with its own clock, and both clocks move.
    first = dict(page.evaluate(RUNNING_CLOCKS, handle))
    assert set(first) == {"[left 2/2]", "[right 2/2]"}, first
    page.wait_for_timeout(1500)
    second = dict(page.evaluate(RUNNING_CLOCKS, handle))
    assert build.get_attribute("data-state") == "building", "the build ended before the clocks were read twice"
    assert set(second) == set(first), (first, second)
    for label in first:
        assert seconds(second[label]) > seconds(first[label]), (label, first, second)
    assert "2 running" in build.locator(".dm-summary").text_content()
    # ...and on the timeline their bars overlap, both growing.
    bars = {bar["label"].split(" RUN")[0]: bar for bar in page.evaluate(BARS, handle)}
    left, right = bars["[left 2/2]"], bars["[right 2/2]"]
    assert left["state"] == right["state"] == "running"
    assert left["left"] < right["right"] and right["left"] < left["right"], (left, right)
    docs_screenshot(build, "buildkit-parallel")

    # The cell's output is drawn again when the build ends: the finished view is a new element.
    build = notebook.output(1).locator(".dockmagic-build[data-state='done']")
    build.wait_for(timeout=120000)
    notebook.wait_idle()
    bars = page.evaluate(BARS, build.element_handle())
    runs = [bar for bar in bars if bar["label"].startswith(("[left 2/2]", "[right 2/2]"))]
    assert len(runs) == 2 and runs[0]["left"] < runs[1]["right"] and runs[1]["left"] < runs[0]["right"], runs
    # The longest chain stands out: coloured bars, named in the legend and in the bars' titles.
    critical = [bar for bar in bars if bar["critical"]]
    assert any(bar in runs for bar in critical), critical
    assert any("RUN cat /left.txt /right.txt" in bar["label"] for bar in critical), critical
    assert all("on the longest chain" in bar["title"] for bar in critical)
    assert "longest chain" in build.locator(".dm-tl-legend").text_content()
    assert build.locator(".dm-step.dm-on-critical").count() >= 3
    # Cached vertices (the base image) are marked; internal vertices are quieter rows.
    assert any(bar["state"] == "cached" and "cached" in bar["title"] for bar in bars), bars
    assert build.locator(".dm-step.dm-internal").count() >= 2
    docs_screenshot(build, "buildkit-timeline")

    # The kernel sent at most 10 updates in any second, though the left stage printed 20 lines a second
    # (when it sent them, by the messages' headers: the page's arrival times bunch up on a busy machine).
    times = page.evaluate("() => window.dmCommTimes")
    assert times, "no widget updates were counted"
    print(f"widget updates: {len(times)} in {(times[-1] - times[0]) / 1000:.1f} s, at most "
          f"{busiest_second(times)} in one second; shortest gap "
          f"{min(b - a for a, b in zip(times[:-1], times[1:], strict=True)):.0f} ms")
    assert busiest_second(times) <= 10, busiest_second(times)


def test_replays_show_cache_failure_clipped_log_and_skipped_stages(lab, page):
    names = [recording_of(stream, lab.root) for stream in ("failing_run", "many_lines", "target_skip")]
    lab.write_notebook("replays.ipynb", ["%load_ext dockmagic"] + [f"%docker_replay {name}" for name in names])
    notebook = NotebookPage(page, lab, "replays.ipynb")
    notebook.run_all()
    failed = notebook.output(1).locator(".dockmagic-build[data-state='failed']")
    clipped = notebook.output(2).locator(".dockmagic-build[data-state='done']")
    skipped = notebook.output(3).locator(".dockmagic-build[data-state='done']")
    for build in (failed, clipped, skipped):
        build.wait_for(timeout=120000)
    notebook.wait_idle()

    # The failing step is brought forward with its exit code and last lines; its row is open on its log.
    failure = failed.locator(".dm-failure")
    assert "exit code 3" in failure.text_content() and "bad thing happened" in failure.text_content()
    failing_row = failed.locator(".dm-step[data-state='failed']")
    assert "exit 3" in failing_row.locator(".dm-instruction").text_content()
    assert failing_row.locator(".dm-line").filter(has_text="bad thing happened").count() == 1
    failed_bars = failed.locator(".dm-tl-bar")
    assert failed.locator(".dm-tl-bar[data-state='cached']").count() >= 1
    assert "cached" in failed.locator(".dm-tl-bar[data-state='cached']").first.get_attribute("title")
    failed_bar = failed.locator(".dm-tl-bar[data-state='failed']")
    assert failed_bar.count() == 1 and "dm-tl-failed" in failed_bar.get_attribute("class")
    assert failed_bars.count() >= 5
    # The step after the failure never ran: greyed, and it says why.
    never = failed.locator(".dm-step[data-state='skipped']")
    assert "skipped (not run: the build stopped before it)" in never.locator(".dm-row-note").text_content()

    # A log the engine clipped says so, where its limit is set, and that the rest is gone.
    row = clipped.locator(".dm-step").filter(has_text="RUN seq 1 200000")
    assert "log clipped by the engine at 200KiB/s" in row.locator(".dm-row-note").text_content()
    row.locator(".dm-step-line").click()
    note = row.locator(".dm-log-note-text").text_content()
    assert "The engine clipped this step's log at 200KiB/s" in note
    assert "BUILDKIT_STEP_LOG_MAX_SIZE" in note and "BUILDKIT_STEP_LOG_MAX_SPEED" in note and "dockerd" in note
    assert "the full output was not kept" in note

    # A stage the target does not need is greyed and says so.
    unused = skipped.locator(".dm-step[data-state='skipped']")
    assert unused.count() == 2
    assert "skipped (not needed for --target final)" in unused.first.locator(".dm-row-note").text_content()
    assert skipped.locator(".dm-tl-label").filter(has_text="never-built").count() == 0
    for name, build in (("buildkit-replay-failed", failed), ("buildkit-replay-clipped", clipped),
                        ("buildkit-replay-skipped", skipped)):
        screenshot(page, name, build)


def test_narrow_pane_has_no_sideways_overflow(lab, page):
    names = [recording_of(stream, lab.root) for stream in ("parallel_stages", "failing_run")]
    lab.write_notebook("bknarrow.ipynb", ["%load_ext dockmagic"] + [f"%docker_replay {name}" for name in names])
    page.set_viewport_size({"width": 1400, "height": 1100})
    notebook = NotebookPage(page, lab, "bknarrow.ipynb")
    notebook.run_all()
    builds = [notebook.output(index).locator(".dockmagic-build:not([data-state='building'])") for index in (1, 2)]
    for build in builds:
        build.wait_for(timeout=120000)
    notebook.wait_idle()
    # A 900 px window with the file browser open: about 470 px for the output.
    page.set_viewport_size({"width": 900, "height": 1100})
    if not page.locator(".jp-FileBrowser").is_visible():
        page.keyboard.press("Control+Shift+f")
        page.locator(".jp-FileBrowser").wait_for()
    page.wait_for_timeout(500)
    width = builds[0].evaluate("(b) => b.getBoundingClientRect().width")
    assert 420 <= width <= 560, width
    docs_screenshot(builds[0], "buildkit-narrow")
    for build in builds:
        overflow = build.evaluate("(v) => ({scroll: v.scrollWidth, client: v.clientWidth})")
        assert overflow["scroll"] <= overflow["client"], overflow
        # Every bar stays inside its track, and the labels are cut with their whole text in the title.
        outside = build.evaluate("""(b) => Array.from(b.querySelectorAll('.dm-tl-row')).filter((row) => {
            const track = row.querySelector('.dm-tl-track').getBoundingClientRect();
            const bar = row.querySelector('.dm-tl-bar').getBoundingClientRect();
            return bar.left < track.left - 1 || bar.right > track.right + 1; }).length""")
        assert outside == 0
        for label in build.locator(".dm-tl-label").all():
            assert label.get_attribute("title") == label.text_content()
    assert builds[0].locator(".dm-tl-row").count() >= 8
