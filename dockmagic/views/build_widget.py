"""The live build view: an anywidget fed from a :class:`BuildProgress`, at most ~10 updates a second.

The kernel sends each flush as one comm message: the header and step rows when they changed, and the
log lines printed since the previous flush (at most ``MAX_LINES_PER_FLUSH`` of them; the rest stay in
the step's log file). Elapsed times tick in the browser from the elapsed seconds the header carries, so
a silent step costs no messages.
"""

from __future__ import annotations

import pathlib
import time

import anywidget
import traitlets

from ..models.build import FAILED, BuildProgress, row_key
from .build_text import build_html, build_summary_text, failure_text, pending_steps
from .display import widget_bundle
from .throttle import Throttle
from .units import human_size
from .widget_scripts import widget_script

STATIC = pathlib.Path(__file__).parent / "static"
# At most 8 updates a second while it runs: with the two that the build's end sends at once, never more than
# the 10 a second a view may send.
FLUSH_INTERVAL_SECONDS = 0.125
MAX_LINES_PER_FLUSH = 500
SAVED_TAIL_LINES = 200


class BuildWidget(anywidget.AnyWidget):
    """Header, one row per step, each row opening to its log (windowed: only visible lines are drawn)."""

    _esm = widget_script("build_view.js")
    _css = STATIC / "build_view.css"

    header = traitlets.Dict().tag(sync=True)
    steps = traitlets.List().tag(sync=True)
    log_delta = traitlets.Dict().tag(sync=True)
    log_tails = traitlets.Dict().tag(sync=True)
    # The LiveBuildView that keeps it in step (not synced: the kernel's side only).
    keeper = None


class LiveBuildView:
    """Keeps a :class:`BuildWidget` in step with a :class:`BuildProgress`, throttled.

    ``widget``: an earlier build's widget to show this build in (its whole state is replaced, in one
    message); by default, a new one."""

    def __init__(self, progress: BuildProgress, widget: BuildWidget | None = None,
                 interval: float = FLUSH_INTERVAL_SECONDS):
        self.progress = progress
        self._sent_lines: dict[int, int] = {}
        self._seq = 0
        self._messages = 0
        # The state travels with the widget's creation, whenever in the build that is: no separate message.
        self._sent_version = progress.version
        if widget is None:
            widget = BuildWidget(**self._state())
        else:
            # A widget shown again for a later build (the same cell run again) answers the page's requests
            # for log lines from that build only.
            if widget.keeper is not None:
                widget.keeper.release()
            state = {"log_delta": {}, "log_tails": {}, **self._state()}
            with widget.hold_sync():
                for name, value in state.items():
                    setattr(widget, name, value)
        self.widget = widget
        widget.keeper = self
        self._throttle = Throttle(self._send, interval)
        progress.subscribe(self._on_change)
        if progress.version != self._sent_version:  # it changed while the widget was made
            self._on_change(progress)
        self.widget.on_msg(self._on_message)

    def release(self) -> None:
        """Stop keeping the widget: a later build's view takes it over."""
        self._throttle.cancel()
        self.progress.unsubscribe(self._on_change)
        self.widget.on_msg(self._on_message, remove=True)

    @property
    def interval(self) -> float:
        return self._throttle.interval

    @property
    def flushes(self) -> int:
        """How many messages the view sent."""
        return self._messages

    def _on_change(self, progress: BuildProgress) -> None:
        self._throttle.changed(final=progress.finished)

    def flush(self) -> None:
        """Send what changed since the last flush, at once (the build has ended, or the view is closing)."""
        self._throttle.flush(final=True)

    def _state(self) -> dict:
        """The widget's traits as the model stands: header, rows, the log lines not sent yet, and once the
        build has ended each step's last lines (what a saved notebook shows)."""
        progress = self.progress
        state = {"header": header_state(progress), "steps": steps_state(progress)}
        entries = []
        for index, step in enumerate(progress.steps):
            # Counted by the row's own key where it has one: a BuildKit row keeps it when an internal
            # row appears before it.
            sent_key = getattr(step, "key", index)
            new = step.line_count - self._sent_lines.get(sent_key, 0)
            if new <= 0:
                continue
            take = min(new, len(step.tail), MAX_LINES_PER_FLUSH)
            tail = step.tail
            lines = [list(tail[i]) for i in range(len(tail) - take, len(tail))]
            entries.append({"step": index, "lines": lines, "line_count": step.line_count,
                            "skipped": new - take, "key": str(getattr(step, "key", "") or "")})
            self._sent_lines[sent_key] = step.line_count
        if entries:
            self._seq += 1
            state["log_delta"] = {"seq": self._seq, "entries": entries}
        if progress.finished:
            state["log_tails"] = {  # the steps that printed something
                str(index): [list(line) for line in list(step.tail)[-SAVED_TAIL_LINES:]]
                for index, step in enumerate(progress.steps) if step.tail
            }
        return state

    def _send(self) -> None:
        version = self.progress.version
        if version == self._sent_version:
            return  # nothing changed since the last message (the clock ticks in the page)
        self._sent_version = version
        self._messages += 1
        state = self._state()
        widget = self.widget
        with widget.hold_sync():
            # While building, elapsed changes at every flush and the page ticks it on by itself: only a
            # change of anything else is worth a message (which then carries the elapsed time too).
            if _without_clock(state["header"]) != _without_clock(widget.header):
                widget.header = state["header"]
            if state["steps"] != widget.steps:
                widget.steps = state["steps"]
            if "log_delta" in state:
                widget.log_delta = state["log_delta"]
            if "log_tails" in state:
                widget.log_tails = state["log_tails"]

    def _on_message(self, widget, content, buffers) -> None:
        """The page asks for lines it does not hold: read them from the step's log file."""
        if not isinstance(content, dict) or content.get("type") != "log_window":
            return
        try:
            index, end, count = int(content["step"]), int(content["end"]), min(int(content["count"]), 5000)
            step = self.progress.steps[index]
        except (KeyError, ValueError, TypeError, IndexError):
            return
        lines = read_log_window(step.log_path, max(0, end - count), end)
        widget.send({"type": "log_window", "step": index, "end": end,
                     "lines": [[line, False] for line in lines]})

    def close(self) -> None:
        """Drop a flush that is due (the build ended, or the view is closing)."""
        self._throttle.cancel()

    def _repr_mimebundle_(self, include=None, exclude=None):
        # The widget for live frontends, and a true text/HTML snapshot for everything else.
        return widget_bundle(self.widget, build_summary_text(self.progress), build_html(self.progress))


def read_log_window(path: str, start: int, end: int) -> list[str]:
    """Lines ``start`` to ``end`` (0-based, end excluded) of a log file, as the views show lines. Read in
    bounded pieces, so that a line of many megabytes costs no more memory than a short one."""
    from ..models.build import LineAccumulator

    lines: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace", newline="\n") as handle:
            index, line = 0, LineAccumulator()
            while index < end:
                piece = handle.readline(65536)
                if not piece:
                    if line.raw and index >= start:
                        lines.append(line.line())
                    break
                ended = piece.endswith("\n")
                if index >= start:
                    line.feed(piece[:-1] if ended else piece)
                if ended:
                    if index >= start:
                        lines.append(line.line())
                    index, line = index + 1, LineAccumulator()
    except OSError:
        return []
    return lines


def _without_clock(header: dict) -> dict:
    return {**header, "elapsed": None} if header.get("state") == "building" else header


def header_state(progress: BuildProgress) -> dict:
    current = progress.current_step
    return {
        "state": progress.state,
        "step": current.number if current else 0,
        "total": progress.total_steps,
        "steps_seen": len(progress.steps),
        "cached": progress.cached_count,
        # Seconds since the build started, as the kernel counts them: the page ticks on from here with its
        # own clock, so the kernel's and the browser's clocks need not agree.
        "elapsed": round(progress.seconds, 2),
        "image_id": progress.image_id or "",
        "tags": list(progress.tags or progress.requested_tags if progress.state == "done" else progress.tags),
        "size": human_size(progress.size) if progress.size is not None else "",
        "engine": progress.engine,
        "failure": failure_text(progress) if progress.state == FAILED else "",
        "exit_code": progress.exit_code,
        "error": progress.error or "",
        "replay_of": progress.replay_of or "",
        "log_dir": progress.log_dir,
        "builder": progress.builder,
        "warnings": list(progress.warnings),
        # BuildKit's --target (its rows of stages not needed say so).
        "target": getattr(getattr(progress, "graph", None), "target", None) or "",
    }


def steps_state(progress: BuildProgress) -> list[dict]:
    """The rows: the steps the engine started, then (while building) the ones still to come."""
    misses, sizes = progress.cache_misses, progress.layer_sizes
    rows = [step_state(step, progress.started_at, misses.get(row_key(step), ""), sizes.get(row_key(step)))
            for step in progress.steps]
    rows.extend({"number": number, "label": f"Step {number}/{total}", "total": total, "instruction": text,
                 "state": "pending", "started_after": None, "seconds": None, "layer_id": "",
                 "line_count": 0, "log_path": ""}
                for number, total, text in pending_steps(progress))
    return rows


def step_state(step, build_started_at: float, cache_miss: str = "", layer_size: int | None = None) -> dict:
    return {
        # Why it ran instead of coming from the cache (see dockmagic.operations.cache_miss).
        "cache_miss": cache_miss,
        # The bytes its layer adds to the image built ("": not known, or not in the image).
        "layer_size": human_size(layer_size) if layer_size is not None else "",
        "number": step.number,
        "label": step.label,
        "total": step.total,
        "instruction": step.instruction,
        "state": step.state,
        # From the build's start: the page adds its own clock's ticks, never comparing two clocks.
        "started_after": (round(step.started_at - build_started_at, 2) if step.started_at is not None
                          else None),  # None: a BuildKit row not started (pending, skipped)
        "seconds": round(step.seconds, 2) if step.finished_at is not None else None,
        "layer_id": step.layer_id or "",
        "line_count": step.line_count,
        "log_path": step.log_path,
        # BuildKit's (the legacy builder's steps: their stage, their start, and the defaults).
        "stage": step.stage or "",
        "started": step.started_at,
        "internal": getattr(step, "internal", False),
        "critical": getattr(step, "critical", False),
        "clipped": getattr(step, "clipped_at", None) or "",
        "statuses": [status_state(status) for status in getattr(step, "statuses", ())],
        # The row's own name, where it has one (BuildKit's): the page keeps its log by it, not by place.
        "key": str(getattr(step, "key", "") or ""),
    }


def status_state(status) -> dict:
    """A BuildKit status (bytes of the context sent, of a layer exported...) as the page reads it."""
    return {"id": status.id, "name": status.name or status.id, "current": status.current, "total": status.total,
            "started": status.started, "completed": status.completed, "text": status_text(status)}


def status_text(status) -> str:
    """"12.3MB of 40.1MB · 5.1MB/s": the sizes as human_size writes them everywhere (so the page needs no
    sizes of its own); the speed over the status's own times (the engine's clock, or the kernel's for the
    upload the client counts)."""
    if not status.total and not status.current:
        return ""
    text = human_size(status.current) + (f" of {human_size(status.total)}" if status.total else "")
    if status.started is not None:
        end = status.completed if status.completed is not None else time.time()
        if end - status.started > 0.05 and status.current:
            text += f" · {human_size(status.current / (end - status.started))}/s"
    return text
