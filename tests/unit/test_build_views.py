"""What the build views show: the widget's synced state, the text form and the static HTML snapshot,
fed from streams recorded from real builds."""

from __future__ import annotations

import json
import time

from dockmagic.models.build import BuildProgress
from dockmagic.parsing.build_stream import build_events
from dockmagic.views.build_text import build_html, build_summary_text
from dockmagic.views.build_widget import LiveBuildView

from .test_build_stream import recorded


class CountingComm:
    """Stands in for the kernel's comm so that the test can count and weigh what would be sent."""

    def __init__(self, comm):
        self.comm = comm
        self.messages = []

    def __call__(self, data=None, metadata=None, buffers=None):
        self.messages.append(len(json.dumps(data, default=str)))


def live_view(tmp_path, interval=0.1):
    progress = BuildProgress(str(tmp_path))
    view = LiveBuildView(progress, interval=interval)
    counter = CountingComm(view.widget.comm)
    view.widget.comm.send = counter
    return progress, view, counter


def feed(progress, messages):
    for event in build_events(messages):
        progress.apply(event)
    progress.finish()


def test_widget_shows_steps_states_and_result(tmp_path):
    progress, view, _ = live_view(tmp_path)
    feed(progress, recorded("docker", "three_steps_cached"))
    view.flush()
    header = view.widget.header
    assert header["state"] == "done" and header["cached"] == 2 and header["total"] == 3
    assert header["image_id"].startswith("sha256:")
    assert [(s["label"], s["state"]) for s in view.widget.steps] == [
        ("Step 1/3", "done"), ("Step 2/3", "cached"), ("Step 3/3", "cached")]
    assert all(s["layer_id"] for s in view.widget.steps)


def test_failed_step_is_brought_forward(tmp_path):
    progress, view, _ = live_view(tmp_path)
    feed(progress, recorded("docker", "failing_run"))
    header = view.widget.header
    assert header["state"] == "failed" and header["exit_code"] == 3
    assert "Failed at Step 2/2: RUN echo before; exit 3 (exit code 3)" in header["failure"]
    assert "| before" in header["failure"]  # the last lines of its output, repeated at the top
    assert view.widget.steps[1]["state"] == "failed"
    assert view.widget.log_tails["1"] == [["before", False]]
    text = build_summary_text(progress)
    assert "Build failed" in text and "Failed at Step 2/2" in text and "before" in text


def test_logs_stream_as_deltas_not_whole_logs(tmp_path):
    progress, view, counter = live_view(tmp_path, interval=0)
    messages = [{"stream": "Step 1/1 : RUN seq"}, {"stream": "\n"}]
    messages += [{"stream": f"line {n}\n"} for n in range(50)]
    for event in build_events(messages):
        progress.apply(event)
    delta = view.widget.log_delta
    assert delta["entries"][-1]["lines"] == [["line 49", False]]
    assert delta["entries"][-1]["line_count"] == 50
    # Each message is small: the log is not resent.
    assert max(counter.messages) < 2000


def test_updates_are_throttled_to_about_ten_a_second(tmp_path):
    progress, view, counter = live_view(tmp_path, interval=0.1)
    started = time.monotonic()
    messages = [{"stream": "Step 1/1 : RUN seq"}, {"stream": "\n"}]
    messages += [{"stream": "".join(f"{n}\n" for n in range(i, i + 100))} for i in range(0, 200_000, 100)]
    for event in build_events(messages):
        progress.apply(event)
        time.sleep(0.0002)
    progress.finish()
    elapsed = time.monotonic() - started
    view.close()
    assert elapsed > 0.4
    assert len(counter.messages) <= elapsed * 10 + 3, (len(counter.messages), elapsed)
    # The browser got the latest lines, and a count of the ones it skipped.
    assert view.widget.log_tails["0"][-1] == ["199999", False]
    assert progress.steps[0].line_count == 200_000


def test_untrusted_text_stays_text_in_the_snapshot(tmp_path):
    progress = BuildProgress(str(tmp_path))
    feed(progress, [
        {"stream": "Step 1/2 : FROM busybox"}, {"stream": "\n"}, {"stream": " ---> f799b1d5b319\n"},
        {"stream": "Step 2/2 : RUN echo '<img src=x onerror=alert(1)>'"}, {"stream": "\n"},
        {"stream": "<img src=x onerror=alert(1)>\n<script>window.pwned=1</script>\n"},
        {"errorDetail": {"code": 1, "message": "<b>bold</b>"}, "error": "<b>bold</b>"},
    ])
    html = build_html(progress)
    assert "<img" not in html and "<script" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html


def test_mimebundle_has_widget_text_and_html(tmp_path):
    progress, view, _ = live_view(tmp_path)
    feed(progress, recorded("podman", "three_steps"))
    bundle, _ = view._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view.widget.model_id
    assert bundle["text/plain"].startswith("Build done")
    assert "Step 3/3" in bundle["text/html"]


def test_page_can_fetch_earlier_lines_from_the_log_file(tmp_path):
    progress, view, _ = live_view(tmp_path)
    messages = [{"stream": "Step 1/1 : RUN seq"}, {"stream": "\n"}]
    messages += [{"stream": "".join(f"{n}\n" for n in range(i, i + 1000))} for i in range(0, 5000, 1000)]
    feed(progress, messages)
    replies = []
    view.widget.send = replies.append
    view._on_message(view.widget, {"type": "log_window", "step": 0, "end": 3000, "count": 1000}, [])
    assert replies[0]["lines"][0] == ["2000", False] and replies[0]["lines"][-1] == ["2999", False]
    assert len(replies[0]["lines"]) == 1000
