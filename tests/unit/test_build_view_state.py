"""What the build widget is sent while a build runs: an elapsed time the page can tick on by itself, and
the steps still to come."""

from __future__ import annotations

import json

from dockmagic.models.build import BuildProgress
from dockmagic.parsing.build_stream import build_events
from dockmagic.views.build_text import build_summary_text, pending_steps
from dockmagic.views.build_widget import LiveBuildView

PLANNED = ["FROM busybox", "RUN sleep 4", "RUN echo done", 'CMD ["true"]']


class Clock:
    """The kernel's clock, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def live_view(tmp_path):
    clock = Clock()
    progress = BuildProgress(str(tmp_path), clock=clock)
    progress.planned_instructions = list(PLANNED)
    view = LiveBuildView(progress, interval=0)
    sent = []
    view.widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(json.dumps(data, default=str))
    return clock, progress, view, sent


def apply(progress, messages):
    for event in build_events(messages):
        progress.apply(event)


def test_the_header_carries_the_elapsed_seconds_and_a_silent_step_costs_no_message(tmp_path):
    clock, progress, view, sent = live_view(tmp_path)
    clock.now += 2.5
    apply(progress, [{"stream": "Step 1/4 : FROM busybox"}, {"stream": "\n"}, {"stream": " ---> f799b1d5b319\n"},
                     {"stream": "Step 2/4 : RUN sleep 4"}, {"stream": "\n"}])
    header = view.widget.header
    assert header["state"] == "building" and header["elapsed"] == 2.5
    running = view.widget.steps[1]
    assert running["state"] == "running" and running["started_after"] == 2.5 and running["seconds"] is None
    # The step sleeps: the kernel's clock moves, nothing else does. Flushing sends nothing: the page ticks
    # the clocks on from the elapsed time it got.
    before = len(sent)
    for _ in range(5):
        clock.now += 1
        view.flush()
    assert len(sent) == before
    # The next change of the header (the next step) carries the elapsed time as it is then.
    apply(progress, [{"stream": " ---> 916eac44e635\n"}, {"stream": "Step 3/4 : RUN echo done"}, {"stream": "\n"}])
    assert len(sent) > before
    assert view.widget.header["step"] == 3 and view.widget.header["elapsed"] == 7.5
    assert view.widget.steps[1]["seconds"] == 5.0 and view.widget.steps[2]["started_after"] == 7.5


def test_steps_still_to_come_are_rows_from_the_start(tmp_path):
    clock, progress, view, _ = live_view(tmp_path)
    # Before the engine names any step, every planned step is a pending row.
    assert pending_steps(progress) == [(1, 4, "FROM busybox"), (2, 4, "RUN sleep 4"), (3, 4, "RUN echo done"),
                                       (4, 4, 'CMD ["true"]')]
    apply(progress, [{"stream": "Step 1/4 : FROM busybox"}, {"stream": "\n"}, {"stream": " ---> f799b1d5b319\n"},
                     {"stream": "Step 2/4 : RUN sleep 4"}, {"stream": "\n"}])
    view.flush()
    rows = [(row["label"], row["state"], row["instruction"]) for row in view.widget.steps]
    assert rows == [("Step 1/4", "done", "FROM busybox"), ("Step 2/4", "running", "RUN sleep 4"),
                    ("Step 3/4", "pending", "RUN echo done"), ("Step 4/4", "pending", 'CMD ["true"]')]
    text = build_summary_text(progress)
    assert "Step 3/4  pending" in text and 'CMD ["true"]' in text
    # A build that ends early drops the rows it will never run.
    progress.fail("interrupted")
    view.flush()
    assert [row["state"] for row in view.widget.steps] == ["done", "failed"]
    assert "pending" not in build_summary_text(progress)


def test_no_pending_rows_when_the_engine_counts_otherwise(tmp_path):
    # A --target build: the engine counts only the stages it builds; the plan's rows would promise more.
    _, progress, view, _ = live_view(tmp_path)
    apply(progress, [{"stream": "Step 1/2 : FROM busybox AS base"}, {"stream": "\n"}])
    assert pending_steps(progress) == []
    assert [row["state"] for row in view.widget.steps] == ["running"]


def test_a_widget_shown_again_for_a_later_build_holds_that_build_only(tmp_path):
    # A notebook cell run again shows its build in its earlier run's widget (magics/display.py).
    first = BuildProgress(str(tmp_path / "one"))
    apply(first, [{"stream": "Step 1/2 : FROM busybox\n"}, {"stream": " ---> abc\n"},
                  {"stream": "Step 2/2 : RUN echo first\n"}, {"stream": "first build's line\n"},
                  {"stream": " ---> def\n"}, {"aux": {"ID": "sha256:" + "d" * 64}},
                  {"stream": "Successfully built def\n"}])
    first.finish()
    earlier = LiveBuildView(first, interval=0)
    widget = earlier.widget
    assert widget.log_tails and widget.header["state"] == "done"
    second = BuildProgress(str(tmp_path / "two"))
    second.planned_instructions = ["FROM busybox", "RUN echo second"]
    sent = []
    widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(data)
    later = LiveBuildView(second, widget=widget, interval=0)
    assert later.widget is widget
    # One message replaces the whole state: the earlier build's rows, lines and tails are gone.
    assert len(sent) == 1
    assert widget.header["state"] == "building" and widget.header["log_dir"] == str(tmp_path / "two")
    assert [row["instruction"] for row in widget.steps] == ["FROM busybox", "RUN echo second"]
    assert widget.log_tails == {} and widget.log_delta == {}
    # Only the later view answers the page's requests for lines, and the earlier build no longer drives it.
    assert widget._msg_callbacks.callbacks == [later._on_message]
    apply(first, [{"stream": "late line of the first build\n"}])
    assert len(sent) == 1
    apply(second, [{"stream": "Step 1/2 : FROM busybox\n"}])
    assert len(sent) == 2
