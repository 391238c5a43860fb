"""Text and static-HTML forms of a build: what a terminal, a saved notebook or an HTML export shows.

``CliBuildPrinter`` prints the progress as the docker CLI does; ``build_summary_text`` and ``build_html``
render a build's state (live or finished). Every piece of untrusted text is escaped.
"""

from __future__ import annotations

import sys

from ..models.build import CACHED, CANCELLED, DONE, FAILED, BuildProgress, row_key
from ..parsing.build_stream import (
    BuildEvent,
    BuildSucceeded,
    ContainerRemoved,
    Output,
    StepContainer,
    StepLayer,
    StepStarted,
    StepUsedCache,
    Tagged,
)
from ..parsing.image_names import familiar_tag
from .display import escape
from .units import human_size

STATE_WORDS = {"building": "building", DONE: "done", FAILED: "failed", CANCELLED: "cancelled"}
STATE_COLOURS = {"running": "#0b63c5", "cached": "#6b7280", "done": "#15803d", "failed": "#b91c1c",
                 "cancelled": "#a16207", "building": "#0b63c5"}


class CliBuildPrinter:
    """Prints build events as lines, the way ``docker build`` prints them (stderr in red)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._line_open = False
        self._built = False
        self._tags: list[str] = []  # tags announced before "Successfully built" (Podman), printed after it
        self._printed_tags: set[str] = set()
        self._plain = None  # the BuildKit printer, once a BuildKit event came

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self._line_open = not text.endswith("\n")

    def _line(self, text: str) -> None:
        if self._line_open:
            self.stream.write("\n")
        self.stream.write(text + "\n")
        self._line_open = False

    def __call__(self, event: BuildEvent) -> None:
        if type(event).__module__.endswith("buildkit_trace"):
            self._buildkit(event)  # a BuildKit build prints as docker buildx build --progress=plain
        elif isinstance(event, StepStarted):
            total = f"/{event.total}" if event.total else ""
            self._line(f"Step {event.number}{total} : {event.instruction}")
        elif isinstance(event, StepUsedCache):
            self._line(" ---> Using cache")
        elif isinstance(event, StepContainer):
            self._line(f" ---> Running in {event.container_id[:12]}")
        elif isinstance(event, ContainerRemoved):
            self._line(f"Removing intermediate container {event.container_id[:12]}")
        elif isinstance(event, StepLayer):
            self._line(f" ---> {event.layer_id[:12]}")
        elif isinstance(event, Output):
            self._write(f"\x1b[91m{event.text}\x1b[0m" if event.stderr else event.text)
        elif isinstance(event, BuildSucceeded):
            self._line(f"Successfully built {event.short_id}")
            self._built = True
            self._print_tags()
        elif isinstance(event, Tagged):
            # Podman tags before it says "built", and twice (docker.io/library/x:latest, then x): each tag
            # is printed once, familiar, after the "built" line, as Docker prints it.
            self._tags.append(familiar_tag(event.tag))
            if self._built:
                self._print_tags()
        if hasattr(self.stream, "flush"):
            self.stream.flush()

    def _buildkit(self, event) -> None:
        if self._plain is None:
            from .buildkit_plain import PlainPrinter

            self._plain = PlainPrinter(self._write)
        self._plain(event)

    def _print_tags(self) -> None:
        for tag in self._tags:
            if tag not in self._printed_tags:
                self._printed_tags.add(tag)
                self._line(f"Successfully tagged {tag}")
        self._tags.clear()

    def finish(self, progress: BuildProgress) -> None:
        if self._plain is not None:
            self._plain.finish()
            for tag in progress.tags if progress.state == DONE else ():
                self._line(f"Successfully tagged {tag}")
        else:
            if progress.state == DONE:
                self._print_tags()
            if self._line_open:
                self._line("")
        self._print_cache_misses(progress)

    def _print_cache_misses(self, progress: BuildProgress) -> None:
        """What no terminal says: why each step that ran did not come from the cache."""
        rows = [(row.label, progress.cache_misses.get(row_key(row))) for row in progress.steps]
        rows = [(label, why) for label, why in rows if why]
        if rows:
            self._line("Why steps ran instead of coming from the cache:")
            for label, why in rows:
                self._line(f"  {label}: {why}")


def header_text(progress: BuildProgress) -> str:
    """``done · 3/3 steps · 1.2 s · 2 cached · sha256:… · hello:latest · 2MB``"""
    parts = [STATE_WORDS.get(progress.state, progress.state)]
    if progress.replay_of:
        parts[0] = f"{parts[0]} (replay of a build recorded {progress.replay_of})"
    current = progress.current_step
    total = progress.total_steps
    rows = getattr(progress, "instruction_steps", None)
    if rows is not None:  # BuildKit: stages run side by side, so say how many instructions are over
        over = sum(1 for step in rows if step.state not in ("running", "pending", "skipped"))
        parts.append(f"{over}/{sum(1 for step in rows if step.state != 'skipped')} steps")
    elif current is not None:
        parts.append(f"step {current.number}/{total}" if progress.state == "building"
                     else f"{len(progress.steps)}/{total} steps")
    parts.append(f"{progress.seconds:.1f} s")
    parts.append(f"{progress.cached_count} cached")
    if progress.state == DONE and progress.image_id:
        parts.append(progress.image_id)
        if progress.tags:
            parts.append(", ".join(progress.tags))
        if progress.size is not None:
            parts.append(human_size(progress.size))
    return " · ".join(parts)


def _step_line(step) -> str:
    layer = step.layer_id or ""
    return f"  {step.label:<9} {step.state:<9} {step.seconds:6.1f} s  {layer:<12}  {step.instruction}"


PENDING = "pending"


def pending_steps(progress: BuildProgress) -> list[tuple[int, int, str]]:
    """The steps still to come while a build runs, as (number, total, instruction), from the Dockerfile's
    instructions known before the build (``progress.planned_instructions``). None once the build ended,
    nor when the engine counts its steps otherwise (a --target build, Podman's stages): a row must not
    promise a step that will not run."""
    planned = list(getattr(progress, "planned_instructions", None) or ())
    if not planned or progress.finished:
        return []
    current = progress.current_step
    if current is not None and (current.stage or current.total != len(planned)):
        return []
    done = current.number if current is not None else 0
    total = len(planned)
    return [(number, total, planned[number - 1]) for number in range(done + 1, total + 1)]


def _pending_line(number: int, total: int, instruction: str) -> str:
    return f"  {f'Step {number}/{total}':<9} {PENDING:<9} {'':>8}  {'':<12}  {instruction}"


def failure_text(progress: BuildProgress, lines: int = 12) -> str:
    step = progress.failed_step
    if step is None:
        return f"Error: {progress.error}" if progress.error else ""
    code = f"exit code {progress.exit_code}" if progress.exit_code is not None else "failed"
    out = [f"Failed at {step.label}: {step.instruction} ({code})"]
    if progress.exit_code is None and progress.error:
        out.append(f"Error: {progress.error}")
    tail = step.tail_text(lines)
    if tail:
        out.append(f"Last lines of its output (full log: {step.log_path}):")
        out.extend("  | " + line for line in tail.splitlines())
    if getattr(step, "clipped", False):
        from ..models.build_buildkit import CLIPPED_LOG_ADVICE

        out.append(f"The engine clipped this step's output ({step.clipped_at}); {CLIPPED_LOG_ADVICE}.")
    return "\n".join(out)


def build_summary_text(progress: BuildProgress | None) -> str:
    """The final (or current) state of a build in plain text."""
    if progress is None:
        return "<build>"
    out = [f"Build {header_text(progress)}", f"  engine: {progress.engine} · builder: {progress.builder}"]
    misses = progress.cache_misses
    for step in progress.steps:
        out.append(_step_line(step))
        if misses.get(row_key(step)):
            out.append(f"  {'':<9} ran: {misses[row_key(step)]}")
    out.extend(_pending_line(*pending) for pending in pending_steps(progress))
    if progress.state == FAILED:
        out.append(failure_text(progress))
    if progress.state == CANCELLED:
        out.append("Cancelled: the build was stopped on the engine; nothing tagged." if progress.builder == "buildkit"
                   else "Cancelled: the stream was closed and the intermediate containers removed; nothing tagged.")
    out.extend(progress.warnings)
    return "\n".join(out)


def build_html(progress: BuildProgress | None) -> str:
    """A static HTML snapshot of the build, for saved notebooks and exports (no script, all text escaped)."""
    if progress is None:
        return "<pre>&lt;build&gt;</pre>"
    colour = STATE_COLOURS.get(progress.state, "#333")
    rows = []
    timeline = getattr(progress, "builder", "") == "buildkit"  # stages side by side: where the time went
    for step in progress.steps:
        step_colour = STATE_COLOURS.get(step.state, "#333")
        log = ""
        if step.tail:
            shown = list(step.tail)[-40:]
            text = "\n".join(
                f'<span style="color:#b91c1c">{escape(line)}</span>' if stderr else escape(line)
                for line, stderr in shown
            )
            opened = " open" if step.state == FAILED else ""
            more = f" (last {len(shown)} of {step.line_count} lines)" if step.line_count > len(shown) else ""
            log = (f'<details{opened}><summary>log{more}</summary>'
                   f'<pre style="max-height:20em;overflow:auto;margin:0">{text}</pre></details>')
        miss = progress.cache_misses.get(row_key(step))
        layer_size = progress.layer_sizes.get(row_key(step))
        size = f" {escape(human_size(layer_size))}" if layer_size is not None else ""
        why = f'<div style="color:#92400e;font-size:90%">ran: {escape(miss)}</div>' if miss else ""
        rows.append(
            "<tr>"
            f'<td style="white-space:nowrap">{escape(step.label)}</td>'
            f'<td><code>{escape(step.instruction)}</code>{why}{log}</td>'
            f'<td style="color:{step_colour};font-weight:600">{escape(step.state)}</td>'
            f'<td style="text-align:right">{step.seconds:.1f} s</td>'
            f'<td><code>{escape(step.layer_id or "")}</code>{size}</td>'
            + (f"<td>{_timeline_bar(step, progress)}</td>" if timeline else "")
            + "</tr>"
        )
    failure = ""
    if progress.state == FAILED:
        failure = (f'<pre style="border-left:4px solid #b91c1c;padding:4px 8px;background:#fef2f2">'
                   f"{escape(failure_text(progress))}</pre>")
    return (
        '<div class="dockmagic-build-snapshot">'
        f'<div style="font-weight:600;color:{colour}">Build {escape(header_text(progress))}</div>'
        f'<div style="color:#6b7280;font-size:90%">{escape(progress.engine)} · '
        f"builder: {escape(progress.builder)}</div>"
        f"{failure}"
        '<table style="border-collapse:collapse">'
        "<thead><tr><th>step</th><th>instruction</th><th>state</th><th>time</th><th>layer</th>"
        f"{'<th>timeline (orange: longest chain; hatched: cached)</th>' if timeline else ''}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _timeline_bar(step, progress) -> str:
    """A step's bar from its start to its end on the build's time axis, for the static snapshot."""
    if step.started_at is None:
        return ""
    span = max(progress.seconds, 0.1)
    left = min(100.0, max(0.0, 100 * (step.started_at - progress.started_at) / span))
    width = min(100.0 - left, 100 * (step.seconds or 0) / span)
    if getattr(step, "critical", False):
        paint = "#f97316" if step.state != CACHED else "repeating-linear-gradient(135deg,#f97316 0 3px,#ffedd5 3px 6px)"
    elif step.state == CACHED:
        paint = "repeating-linear-gradient(135deg,#d1d5db 0 3px,#f9fafb 3px 6px)"
    else:
        paint = STATE_COLOURS.get(step.state, "#9ca3af")
    what = step.state + (", longest chain" if getattr(step, "critical", False) else "")
    title = escape(f"{step.label or step.instruction}: {what}, {step.seconds or 0:.1f} s")
    return (f'<div style="position:relative;width:160px;height:10px;background:#f3f4f6" title="{title}">'
            f'<div style="position:absolute;left:{left:.1f}%;width:max(2px,{width:.1f}%);height:100%;'
            f'background:{paint}"></div></div>')
