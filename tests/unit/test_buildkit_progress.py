"""BuildKitProgress on recorded BuildKit streams: the rows the views read, the widget's keys, the terminal's
buildx-plain printing, the clipped log's sentence; and the choice of builder."""

from __future__ import annotations

import io
import json
import pathlib
from types import SimpleNamespace

import pytest
from traitlets import TraitError

from dockmagic.errors import InvalidInput
from dockmagic.models.build_buildkit import BuildKitProgress
from dockmagic.operations.build import BuildResult
from dockmagic.operations.build_choice import choose_builder, requested_builder
from dockmagic.parsing.buildkit_trace import parse_buildkit_event
from dockmagic.views.build_text import CliBuildPrinter, build_summary_text
from dockmagic.views.build_widget import header_state, steps_state

STREAMS = pathlib.Path(__file__).parent.parent / "streams" / "buildkit"
SCENARIOS = json.loads((STREAMS / "scenarios.json").read_text())


def lines_of(name: str) -> list[dict]:
    with (STREAMS / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def progress_of(name: str, tmp_path) -> BuildKitProgress:
    scenario = SCENARIOS[name]
    progress = BuildKitProgress(str(tmp_path / name), scenario["dockerfile"], scenario["options"].get("target"))
    for line in lines_of(name):
        progress.apply(parse_buildkit_event(line))
    progress.finish()
    return progress


def test_rows_follow_the_dockerfile_with_internal_rows_around(tmp_path):
    progress = progress_of("simple", tmp_path)
    result = BuildResult.from_progress(progress)
    assert result.builder == "buildkit" and result.ok
    assert [s.instruction for s in result.steps] == ["FROM busybox", "RUN echo hello && echo oops >&2",
                                                      SCENARIOS["simple"]["dockerfile"].splitlines()[2]]
    assert result.rows[0].internal and result.rows[0].instruction == "[internal] load remote build context"
    assert result.rows[-1].instruction == "exporting to image"
    run = result.steps[1]
    assert run.stage == "0" and run.started and run.label == "[2/2]"
    assert run.log.split() == ["oops", "hello"] or sorted(run.log.split()) == ["hello", "oops"]


def test_skipped_stages_and_failure(tmp_path):
    skipped = progress_of("target_skip", tmp_path)
    states = {s.instruction: s.state for s in skipped.instruction_steps}
    assert states["RUN echo never-built"] == "skipped"
    failed = progress_of("failing_run", tmp_path)
    assert failed.state == "failed" and failed.exit_code == 3
    assert failed.failed_step.instruction.startswith("RUN echo some output")
    assert "exit code 3" in build_summary_text(failed)


def test_widget_keys_added_and_kept(tmp_path):
    progress = progress_of("parallel_stages", tmp_path)
    header = header_state(progress)
    assert header["builder"] == "buildkit" and header["state"] == "done"
    rows = steps_state(progress)
    for row in rows:
        assert {"number", "label", "total", "instruction", "state", "started_after", "seconds", "layer_id",
                "line_count", "log_path", "stage", "started", "internal", "critical", "clipped",
                "statuses"} <= set(row)
    assert any(row["internal"] for row in rows) and any(row["critical"] for row in rows)
    assert {row["stage"] for row in rows if not row["internal"]} == {"left", "right", "2"}
    exporting = next(row for row in rows if row["instruction"] == "exporting to image")
    assert exporting["statuses"] and exporting["statuses"][0]["name"]


def test_full_logs_go_to_files(tmp_path):
    progress = progress_of("many_lines", tmp_path)
    step = max(progress.steps, key=lambda s: s.line_count)
    with open(step.log_path, encoding="utf-8") as handle:
        assert len(handle.read().splitlines()) == step.line_count
    assert len(step.tail) <= 1000


def test_clipped_log_says_so_and_where_the_limit_is_set(tmp_path):
    progress = progress_of("million_lines", tmp_path)
    assert [s.clipped_at for s in progress.steps if s.clipped] == ["200KiB/s"]
    warning = next(w for w in progress.warnings if "clipped" in w)
    assert "200KiB/s" in warning and "BUILDKIT_STEP_LOG_MAX_SPEED" in warning


def test_upload_is_shown_on_the_context_row(tmp_path):
    scenario = SCENARIOS["simple"]
    progress = BuildKitProgress(str(tmp_path / "up"), scenario["dockerfile"])
    progress.upload(512, 2048)
    for line in lines_of("simple"):
        progress.apply(parse_buildkit_event(line))
    context = next(s for s in progress.steps if s.instruction == "[internal] load remote build context")
    assert (context.statuses[0].current, context.statuses[0].total) == (512, 2048)


def test_terminal_prints_buildx_plain(tmp_path):
    out = io.StringIO()
    printer = CliBuildPrinter(out)
    for line in lines_of("failing_run"):
        printer(parse_buildkit_event(line))
    printer.finish(progress_of("failing_run", tmp_path))
    text = out.getvalue()
    assert "#1 [internal] load remote build context\n#1 DONE" in text
    assert "] RUN echo some output; echo bad thing happened >&2; exit 3\n" in text
    assert text.rstrip().endswith("ERROR: executor failed running [/bin/sh -c echo some output; echo bad thing "
                                  "happened >&2; exit 3]: exit code: 3")
    assert "------\n > [3/4] RUN" in text


def engine_like(podman=False, api="1.41"):
    return SimpleNamespace(is_podman=podman, api_version=api, name="Podman Engine" if podman else "Docker Engine",
                           version="4.3.1" if podman else "20.10.24")


@pytest.mark.parametrize("option, variable, setting, engine, chosen", [
    (None, "", "auto", engine_like(), "buildkit"),
    (None, "", "auto", engine_like(podman=True), "legacy"),
    (None, "", "auto", engine_like(api="1.38"), "legacy"),
    (None, "0", "buildkit", engine_like(), "legacy"),  # DOCKER_BUILDKIT before the setting
    (None, "1", "legacy", engine_like(), "buildkit"),
    ("legacy", "1", "buildkit", engine_like(), "legacy"),  # the build's option first
    (None, "", "legacy", engine_like(), "legacy"),
])
def test_builder_precedence_is_the_clis(option, variable, setting, engine, chosen):
    assert choose_builder(option, engine, setting, {"DOCKER_BUILDKIT": variable}) == chosen


def test_buildkit_on_podman_or_a_bad_value_is_a_sentence():
    with pytest.raises(InvalidInput, match="buildah.*unset DOCKER_BUILDKIT or set it to 0"):
        choose_builder(None, engine_like(podman=True), "auto", {"DOCKER_BUILDKIT": "1"})
    with pytest.raises(InvalidInput, match="neither 0 nor 1"):
        requested_builder(None, None, {"DOCKER_BUILDKIT": "maybe"})
    with pytest.raises(InvalidInput, match="'fast' is not a builder"):
        requested_builder("fast")


def test_setting_is_validated():
    from dockmagic.magics.settings import DockMagic

    settings = DockMagic()
    settings.builder = "legacy"
    with pytest.raises(TraitError, match="'auto'.*'buildkit' or 'legacy'"):
        settings.builder = "fast"
    settings.builder = "auto"


def test_live_widget_follows_a_buildkit_build(tmp_path):
    from dockmagic.views.build_widget import LiveBuildView

    scenario = SCENARIOS["slow_printer"]
    progress = BuildKitProgress(str(tmp_path / "live"), scenario["dockerfile"])
    view = LiveBuildView(progress, interval=0)
    for line in lines_of("slow_printer"):
        progress.apply(parse_buildkit_event(line))
    progress.finish()
    view.flush()
    widget = view.widget
    assert widget.header["builder"] == "buildkit" and widget.header["state"] == "done"
    assert [row["instruction"] for row in widget.steps] == [step.instruction for step in progress.steps]
    printed = max(progress.steps, key=lambda s: s.line_count)
    index = progress.steps.index(printed)
    assert [text for text, _ in widget.log_tails[str(index)]] == [text for text, _ in printed.tail][-200:]
