// dockmagic build view: a header, one row per step (the steps still to run greyed), each row opening to its log.
// Every piece of text from the build goes through textContent: logs are text, never markup.
// sendToKernel and kernelGoneText come from kernel_requests.js, put in front of this file when it loads.

/**
 * What the kernel sends (see dockmagic/views/build_widget.py: header_state, step_state, LiveBuildView.flush).
 * @typedef {"building" | "done" | "failed" | "cancelled"} BuildState
 * @typedef {"pending" | "running" | "done" | "cached" | "failed" | "cancelled" | "skipped"} StepState
 * @typedef {{id: string, name: string, current: number, total: number, text: string}} ByteStatus
 *   BuildKit's byte progress of a vertex (the context sent, the image exported); text: sizes and speed.
 * @typedef {{state: BuildState, step: number, total: number, steps_seen: number, cached: number,
 *   elapsed: number, image_id: string, tags: string[], size: string, engine: string, failure: string,
 *   exit_code: number | null, error: string, replay_of: string, log_dir: string, builder?: string,
 *   warnings?: string[], target?: string}} Header
 *   elapsed: seconds since the build started, as the kernel counted them when it sent the header (only
 *   resent when something else in the header changes: the page's clock carries it on).
 * @typedef {{number: number, label: string, total: number, instruction: string, state: StepState,
 *   started_after: number | null, seconds: number | null, layer_id: string, line_count: number,
 *   log_path: string, stage?: string, internal?: boolean, critical?: boolean, clipped?: string,
 *   statuses?: ByteStatus[], key?: string}} Step
 *   started_after: seconds from the build's start to the step's; seconds: the step's time once it ended.
 *   BuildKit's rows add: stage, internal (a vertex of BuildKit's own, not an instruction), critical (on
 *   the longest chain of the finished build), clipped (the engine's log limit, when it clipped the log).
 * @typedef {[string, boolean]} LogLine  text, printed on stderr
 * @typedef {{seq: number, entries: {step: number, lines: LogLine[], line_count: number, skipped: number, key?: string}[]}} LogDelta
 * @typedef {Object<string, LogLine[]>} LogTails  the last lines of each step, by step index, once the build ended
 */

const LINE_HEIGHT = 18;          // px, fixed so that the log can be windowed
const LOG_HEIGHT = 300;          // px, the visible log window
const MAX_LINES_KEPT = 20000;    // per step in the page; older lines stay in the log file
const TICK_MS = 1000;            // running clocks advance once a second

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatSeconds(s) {
  if (s === null || s === undefined || isNaN(s)) return "";
  if (s < 60) return s.toFixed(1) + " s";
  const m = Math.floor(s / 60);
  return m + " min " + Math.round(s - m * 60) + " s";
}

/** What a clipped log's note says: where the limit is, and that the rest is gone. */
function clippedText(limit) {
  return `The engine clipped this step's log at ${limit} (BuildKit's per-step log limit: set ` +
    "BUILDKIT_STEP_LOG_MAX_SIZE (bytes) / BUILDKIT_STEP_LOG_MAX_SPEED (bytes a second) in the engine's " +
    "environment, i.e. dockerd's, -1 for no limit); the full output was not kept. ";
}

/**
 * The build's elapsed time, started from the seconds the kernel counted and carried on by the page's own
 * clock: the two machines' clocks never need to agree.
 */
class BuildClock {
  constructor() {
    this.elapsed = 0;
    this.anchoredAt = performance.now();
    this.running = false;
    this.header = null;   // the header object the clock was last anchored to
  }

  /** @param {Header} header */
  anchor(header) {
    if (header === this.header) return;   // the same header drawn again: keep ticking from where it was
    this.header = header;
    this.elapsed = header.elapsed || 0;
    this.anchoredAt = performance.now();
    this.running = (header.state || "building") === "building";
  }

  /** Seconds since the build started, now. */
  now() {
    return this.running ? this.elapsed + (performance.now() - this.anchoredAt) / 1000 : this.elapsed;
  }

  /** @param {Step} step */
  stepSeconds(step) {
    if (step.seconds !== null && step.seconds !== undefined) return step.seconds;
    if (step.started_after === null || step.started_after === undefined) return null;
    return Math.max(0, this.now() - step.started_after);
  }
}

class StepLog {
  // The lines of one step, drawn in a fixed-height window: only the visible lines exist in the DOM. Long
  // lines are not cut: the window scrolls sideways. A click selects a line; "copy line" copies it whole.
  constructor() {
    this.lines = [];
    this.dropped = 0;     // lines the page no longer holds (or never got)
    this.follow = true;   // stick to the bottom while new lines arrive
    this.widest = 0;      // characters of the longest line held: the window's width, so it does not jump
    this.selected = -1;   // index in this.lines of the line the user clicked
    this.running = false;
    this.cached = false;
    this.kernelGone = false;  // the kernel that could read the log file has restarted
    this.clipped = "";        // the engine's log limit, when it clipped this step's log
    this.root = el("div", "dm-log");
    this.note = el("div", "dm-log-note");
    this.viewport = el("div", "dm-log-viewport");
    this.viewport.style.height = LOG_HEIGHT + "px";
    this.spacer = el("div", "dm-log-spacer");
    this.window = el("div", "dm-log-window");
    this.viewport.append(this.spacer, this.window);
    this.noteText = el("span", "dm-log-note-text");
    this.more = el("button", "dm-more", "show earlier lines");
    this.more.type = "button";
    this.copy = el("button", "dm-copy", "copy line");
    this.copy.type = "button";
    this.copy.title = "copy the selected line, whole";
    this.note.append(this.noteText, this.more, this.copy);
    this.empty = el("div", "dm-log-empty");
    this.root.append(this.note, this.empty, this.viewport);
    this.viewport.addEventListener("scroll", () => {
      const bottom = this.viewport.scrollHeight - this.viewport.clientHeight;
      this.follow = this.viewport.scrollTop >= bottom - LINE_HEIGHT;
      this.draw();
    });
    this.window.addEventListener("click", (event) => {
      const line = event.target.closest(".dm-line");
      if (!line || window.getSelection().toString()) return;   // a drag-selection is the user's own copy
      this.selected = Number(line.dataset.index);
      this.draw();
    });
    this.copy.addEventListener("click", (event) => {
      event.stopPropagation();
      this.copySelected();
    });
    this.logPath = "";
    this.received = 0;    // lines of the step accounted for (held or dropped)
  }

  append(lines, skipped, lineCount) {
    // lineCount: how many lines the step had printed once these arrived. Lines already held are not
    // added again, so the saved tail and the live deltas can arrive in either order.
    if (lineCount === undefined) lineCount = this.received + (skipped || 0) + lines.length;
    const fresh = lineCount - this.received;
    if (fresh <= 0) return;
    if (fresh < lines.length) lines = lines.slice(lines.length - fresh);
    this.dropped += fresh - lines.length;
    this.received = lineCount;
    for (const line of lines) {
      this.lines.push(line);
      if (line[0].length > this.widest) this.widest = line[0].length;
    }
    if (this.lines.length > MAX_LINES_KEPT) {
      const extra = this.lines.length - MAX_LINES_KEPT;
      this.lines.splice(0, extra);
      this.dropped += extra;
      this.selected = this.selected >= extra ? this.selected - extra : -1;
    }
  }

  prepend(lines) {
    // Earlier lines fetched from the log file on request.
    this.lines = lines.concat(this.lines);
    for (const line of lines) if (line[0].length > this.widest) this.widest = line[0].length;
    if (this.selected >= 0) this.selected += lines.length;
    this.dropped = Math.max(0, this.dropped - lines.length);
    this.follow = false;
  }

  firstHeldLine() {
    return this.received - this.lines.length;   // absolute index of the first line the page holds
  }

  replace(lines, total) {
    this.lines = lines.slice();
    this.widest = lines.reduce((widest, line) => Math.max(widest, line[0].length), 0);
    this.selected = -1;
    this.dropped = Math.max(0, total - lines.length);
    this.received = total;
  }

  copySelected() {
    const line = this.lines[this.selected];
    if (!line) return;
    const done = () => {
      this.copy.textContent = "copied";
      setTimeout(() => { this.copy.textContent = "copy line"; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(line[0]).then(done, () => this.copyByHand(line[0], done));
    } else {
      this.copyByHand(line[0], done);
    }
  }

  copyByHand(text, done) {
    // Pages not served securely have no clipboard API: the old way, through a selected text area.
    const area = el("textarea", "dm-copy-area");
    area.value = text;
    this.root.appendChild(area);
    area.select();
    try { if (document.execCommand("copy")) done(); } finally { area.remove(); }
  }

  drawWhenLaidOut() {
    // Not laid out yet (a widget is rendered before it is attached): draw once it is.
    if (!this.pending && (this.attempts = (this.attempts || 0) + 1) < 600) {
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    }
  }

  showKernelGone() {
    this.more.disabled = false;
    this.more.style.display = "none";
    this.noteText.textContent = kernelGoneText("this %%dockerfile cell") +
      ` Its full log: ${this.logPath || "the step's log file"}.`;
    this.note.classList.add("dm-kernel-gone");
    this.kernelGone = true;
  }

  draw() {
    if (!this.root.isConnected) {
      this.drawWhenLaidOut();
      return;
    }
    const n = this.lines.length;
    // A step that printed nothing says so, instead of opening to an empty bar.
    const empty = n === 0 && !this.dropped;
    this.empty.textContent = !empty ? "" : this.running ? "no output yet"
      : this.cached ? "no output: this step came from the cache" : "no output";
    this.empty.style.display = empty ? "" : "none";
    this.viewport.style.display = empty ? "none" : "";
    if (!this.kernelGone) {
      this.noteText.textContent = (this.dropped
        ? `${this.dropped.toLocaleString()} earlier lines are not shown here; the full log is in ${this.logPath || "the step's log file"} `
        : "") + (this.clipped ? clippedText(this.clipped) : "");
    }
    this.more.style.display = this.dropped && !this.kernelGone ? "" : "none";
    this.copy.style.display = this.selected >= 0 && this.selected < n ? "" : "none";
    this.note.style.display = this.noteText.textContent || this.copy.style.display === "" ? "" : "none";
    if (empty) return;
    if (!this.viewport.clientHeight) {
      this.drawWhenLaidOut();
      return;
    }
    this.attempts = 0;
    this.spacer.style.height = n * LINE_HEIGHT + "px";
    this.window.style.minWidth = `calc(${this.widest}ch + 16px)`;
    this.viewport.style.height = Math.min(LOG_HEIGHT, Math.max(1, n) * LINE_HEIGHT + 8) + "px";
    if (this.follow) this.viewport.scrollTop = this.viewport.scrollHeight;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / LINE_HEIGHT) - 5);
    const last = Math.min(n, first + Math.ceil(LOG_HEIGHT / LINE_HEIGHT) + 10);
    this.window.style.transform = `translateY(${first * LINE_HEIGHT}px)`;
    const nodes = [];
    for (let i = first; i < last; i++) {
      const [text, stderr] = this.lines[i];
      const line = el("div", "dm-line" + (stderr ? " dm-stderr" : "") + (i === this.selected ? " dm-selected" : ""),
                      text === "" ? "\u00a0" : text);
      line.dataset.index = String(i);
      nodes.push(line);
    }
    this.window.replaceChildren(...nodes);
  }
}

/** The line at the top: state, step count, elapsed time, cache hits; the result or the failure under it. */
class BuildHeader {
  constructor() {
    this.root = el("div", "dm-header");
    this.stateBadge = el("span", "dm-state");
    this.summary = el("span", "dm-summary");
    this.clockText = el("span", "dm-clock");
    this.root.append(this.stateBadge, this.summary);
    this.result = el("div", "dm-result");
    this.failure = el("div", "dm-failure");
    this.engine = el("div", "dm-engine");
    this.warnings = el("div", "dm-warnings");
    this.header = {};
  }

  /** @param {Header} h @param {BuildClock} clock @param {Step[]} steps */
  update(h, clock, steps) {
    this.header = h;
    const state = h.state || "building";
    this.stateBadge.textContent = state;
    this.stateBadge.className = "dm-state dm-" + state;
    const parts = [];
    if (h.builder === "buildkit") {
      // Stages run side by side: how many instructions are over, and how many run now.
      const rows = (steps || []).filter((s) => !s.internal && s.state !== "skipped");
      const over = rows.filter((s) => s.state !== "running" && s.state !== "pending").length;
      const running = rows.filter((s) => s.state === "running").length;
      parts.push(`${over} of ${rows.length} steps`);
      if (running) parts.push(`${running} running`);
    } else if (h.total) {
      parts.push(state === "building" ? `step ${h.step} of ${h.total}` : `${h.steps_seen} of ${h.total} steps`);
    }
    this.summary.replaceChildren();
    for (const part of parts) this.summary.append(part, " · ");
    this.summary.append(this.clockText, ` · ${h.cached || 0} from cache`);
    if (h.replay_of) this.summary.append(` · replay of a build recorded ${h.replay_of}`);
    this.tick(clock);
    this.result.replaceChildren();
    if (state === "done" && h.image_id) {
      this.result.append(el("span", "dm-label", "image "), el("code", "dm-image-id", h.image_id));
      if (h.tags && h.tags.length) this.result.append(el("span", "dm-label", " tags "), el("code", "dm-tags", h.tags.join(", ")));
      if (h.size) this.result.append(el("span", "dm-label", " size "), el("span", "dm-size", h.size));
    }
    this.engine.textContent = h.engine ? `engine: ${h.engine}${h.builder ? ` · builder: ${h.builder}` : ""}` : "";
    this.failure.textContent = h.failure || (state === "failed" && h.error ? h.error : "");
    this.failure.style.display = this.failure.textContent ? "" : "none";
    // The engine repeats some warnings at every step: each is said once.
    const warnings = [...new Set(h.warnings || [])];
    this.warnings.replaceChildren(...warnings.map((text) => el("div", "dm-warning", text)));
    this.warnings.style.display = warnings.length ? "" : "none";
  }

  /** @param {BuildClock} clock */
  tick(clock) {
    this.clockText.textContent = formatSeconds(clock.now());
  }
}

/** One step: caret, "Step 2/5", instruction, state, time, layer; its log below when open. */
class StepRow {
  constructor(onToggle) {
    this.root = el("div", "dm-step");
    this.line = el("div", "dm-step-line");
    this.line.setAttribute("role", "button");
    this.caret = el("span", "dm-caret");
    this.number = el("span", "dm-number");
    this.instruction = el("span", "dm-instruction");
    this.state = el("span", "dm-step-state");
    this.time = el("span", "dm-time");
    this.layer = el("code", "dm-layer");
    this.line.append(this.caret, this.number, this.instruction, this.state, this.time, this.layer);
    this.line.addEventListener("click", () => { if (!this.pending) onToggle(); });
    this.line.addEventListener("keydown", (e) => {
      // Plain Enter or Space only: Shift+Enter and Ctrl+Enter stay the notebook's (run the cell).
      const plain = !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey;
      if (!this.pending && plain && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); onToggle(); }
    });
    this.note = el("div", "dm-row-note");      // skipped's reason, the clipped log, byte progress
    this.body = el("div", "dm-step-body");
    this.root.append(this.line, this.note, this.body);
    this.step = null;
  }

  /** @param {Step} step @param {boolean} isOpen @param {StepLog} log @param {BuildClock} clock @param {Header} h */
  update(step, isOpen, log, clock, h) {
    this.step = step;
    this.pending = step.state === "pending" || step.state === "skipped";   // nothing to open
    this.root.className = "dm-step dm-step-" + step.state + (isOpen ? " dm-open" : "") +
      (step.internal ? " dm-internal" : "") + (step.critical ? " dm-on-critical" : "");
    this.root.dataset.state = step.state;
    this.root.dataset.step = String(step.number);
    this.line.tabIndex = this.pending ? -1 : 0;
    this.line.setAttribute("aria-disabled", this.pending ? "true" : "false");
    this.caret.textContent = this.pending ? "" : isOpen ? "▾" : "▸";
    // BuildKit gives an instruction that only sets the image's config no number: no "Step 0/3".
    this.number.textContent = step.label || (step.number ? `Step ${step.number}/${step.total}` : "");
    this.instruction.textContent = step.instruction;
    this.instruction.title = step.instruction;
    this.state.textContent = step.state;
    if (step.internal) this.number.textContent = "internal";
    this.state.className = "dm-step-state dm-" + step.state;
    this.tick(clock);
    this.layer.textContent = [step.layer_id, step.layer_size].filter(Boolean).join(" · ");
    this.layer.title = step.layer_size ? `this step's layer adds ${step.layer_size} to the image` : "";
    this.line.setAttribute("aria-expanded", isOpen ? "true" : "false");
    log.logPath = step.log_path;
    log.running = step.state === "running";
    log.cached = step.state === "cached";
    log.clipped = step.clipped || "";
    this.updateNote(step, h || {});
    if (isOpen) {
      if (this.body.firstChild !== log.root) this.body.replaceChildren(log.root);
      log.draw();
    } else if (this.body.firstChild) {
      this.body.replaceChildren();
    }
  }

  /** The line under the row: why a stage was skipped, why a step missed the cache, a clipped log, the
   * bytes sent or exported. */
  updateNote(step, h) {
    const parts = [];
    if (step.state === "skipped") {
      const why = h.state === "failed" || h.state === "cancelled" ? "not run: the build stopped before it"
        : h.target ? `not needed for --target ${h.target}` : "not needed for the image built";
      parts.push(el("span", "dm-why", `skipped (${why})`));
    }
    if (step.cache_miss) parts.push(el("span", "dm-cache-miss", `ran: ${step.cache_miss}`));
    if (step.clipped) {
      const badge = el("span", "dm-clipped", `log clipped by the engine at ${step.clipped}`);
      badge.title = clippedText(step.clipped);
      parts.push(badge);
    }
    for (const status of step.statuses || []) {
      if (!status.text) continue;
      const item = el("span", "dm-bytes");
      item.append(el("span", "dm-bytes-name", status.name));
      if (status.total) {
        const bar = el("span", "dm-bytes-bar");
        const fill = el("span", "dm-bytes-fill");
        fill.style.width = Math.min(100, (100 * status.current) / status.total).toFixed(1) + "%";
        bar.append(fill);
        bar.setAttribute("role", "progressbar");
        bar.setAttribute("aria-valuenow", String(Math.round((100 * status.current) / status.total)));
        item.append(bar);
      }
      item.append(el("span", "dm-bytes-text", status.text));
      parts.push(item);
    }
    this.note.replaceChildren(...parts);
    this.note.style.display = parts.length ? "" : "none";
  }

  /** @param {BuildClock} clock */
  tick(clock) {
    const seconds = this.step ? clock.stepSeconds(this.step) : null;
    this.time.textContent = seconds === null ? "" : formatSeconds(seconds);
  }
}

/**
 * Where the time went: one bar per vertex, from its start to its end on the build's time axis. Cached
 * vertices are hatched, running ones grow with the clock, the longest chain (the critical path, known once
 * the build ended) is coloured. Bars are placed in percent, so the chart fits any width.
 */
class BuildTimeline {
  constructor(onToggle) {
    this.toggle = el("button", "dm-timeline-toggle", "timeline");
    this.toggle.type = "button";
    this.toggle.title = "show or hide the build's timeline";
    this.toggle.addEventListener("click", onToggle);
    this.root = el("div", "dm-timeline");
    this.axis = el("div", "dm-tl-axis");
    this.bars = el("div", "dm-tl-rows");
    this.legend = el("div", "dm-tl-legend");
    for (const [kind, text] of [["critical", "longest chain"], ["done", "ran"], ["cached", "cached"],
                                ["running", "running"], ["failed", "failed"]]) {
      const item = el("span", "dm-tl-key");
      item.append(el("span", "dm-tl-swatch dm-tl-" + kind), text);
      this.legend.append(item);
    }
    this.root.append(this.bars, this.axis, this.legend);
    this.steps = [];
  }

  /** @param {Step[]} steps @param {BuildClock} clock @param {boolean} shown */
  update(steps, clock, shown) {
    this.steps = steps.filter((s) => s.started_after !== null && s.started_after !== undefined);
    this.root.style.display = shown ? "" : "none";
    this.toggle.setAttribute("aria-pressed", shown ? "true" : "false");
    this.toggle.classList.toggle("dm-pressed", shown);
    this.rows = this.steps.map((step) => {
      const row = el("div", "dm-tl-row" + (step.internal ? " dm-internal" : ""));
      const name = step.internal ? step.instruction : `${step.label} ${step.instruction}`;
      const label = el("span", "dm-tl-label", name);
      label.title = name;
      const track = el("span", "dm-tl-track");
      // The failed vertex stays red even on the longest chain: it is what the person looks for first.
      const paint = step.state === "failed" ? "failed" : step.critical ? "critical" : step.state;
      const bar = el("span", "dm-tl-bar dm-tl-" + paint +
                     (step.critical && step.state === "cached" ? " dm-tl-cached-critical" : ""));
      bar.dataset.state = step.state;
      if (step.critical) bar.dataset.critical = "true";
      track.append(bar);
      row.append(label, track);
      return { step, bar, name };
    });
    this.bars.replaceChildren(...this.rows.map((r) => r.bar.parentNode.parentNode));
    this.tick(clock);
  }

  /** Place the bars on the axis as it is now (running bars and the axis grow with the clock). */
  tick(clock) {
    if (!this.rows) return;
    // The engine stamps its vertices with its own clock, the build's start is the kernel's: a cached vertex
    // can seem to start a little before the build did. It is drawn from the start.
    const starts = this.rows.map(({ step }) => Math.max(0, step.started_after));
    const ends = this.rows.map(({ step }, i) => Math.max(starts[i], step.started_after + (clock.stepSeconds(step) || 0)));
    const span = Math.max(clock.now(), ...ends, 0.1);
    this.rows.forEach(({ step, bar, name }, i) => {
      const seconds = clock.stepSeconds(step) || 0;
      bar.style.left = `min(${((100 * starts[i]) / span).toFixed(2)}%, calc(100% - 6px))`;
      // A cached vertex takes no time: wide enough to show its hatching.
      const least = step.state === "cached" ? 6 : 2;
      bar.style.width = `max(${least}px, ${((100 * (ends[i] - starts[i])) / span).toFixed(2)}%)`;
      const what = step.state === "cached" ? "cached" : step.state === "running" ? "running" : step.state;
      bar.title = `${name}\n${what}, ${formatSeconds(seconds)} (from ${formatSeconds(starts[i])} to ` +
        `${formatSeconds(ends[i])})${step.critical ? ", on the longest chain" : ""}`;
    });
    const marks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      // Short builds get a finer axis, so that its marks differ.
      const mark = el("span", "dm-tl-mark", span < 2 ? (f * span).toFixed(2) + " s" : formatSeconds(f * span));
      mark.style.left = 100 * f + "%";
      return mark;
    });
    this.axis.replaceChildren(...marks);
  }
}

// What a person did with a build's view (open rows), the log lines it streamed and its clock, by build.
// The view is drawn again when the cell's output is updated at the end of the build; this keeps them.
const SESSIONS = new Map();
const MAX_SESSIONS = 30;

function sessionFor(key) {
  if (!SESSIONS.has(key)) {
    if (SESSIONS.size >= MAX_SESSIONS) SESSIONS.delete(SESSIONS.keys().next().value);
    SESSIONS.set(key, { logs: new Map(), opened: new Set(), seenDelta: 0, clock: new BuildClock(), timeline: true });
  }
  return SESSIONS.get(key);
}

function render({ model, el: root }) {
  const container = el("div", "dockmagic-build");
  const header = new BuildHeader();
  const table = el("div", "dm-steps");
  const session = sessionFor((model.get("header") || {}).log_dir || "");
  const timeline = new BuildTimeline(() => { session.timeline = !session.timeline; drawSteps(); });
  header.root.append(timeline.toggle);
  container.append(header.root, header.result, header.failure, header.warnings, timeline.root, table, header.engine);
  root.appendChild(container);

  const logs = session.logs;       // row key -> StepLog
  const opened = session.opened;   // row keys the user (or a failure) opened
  const clock = session.clock;
  const rows = [];                 // step index -> StepRow
  const timers = [];
  const waiting = new Set();       // row keys whose earlier lines were asked for

  // A row's logs and open state follow its key, not its place: a BuildKit row that appears before
  // others (an internal vertex) moves them down while they print.
  function rowKey(step, index) {
    return step && step.key ? "k:" + step.key : "i:" + index;
  }
  function keyAt(index) {
    return rowKey((model.get("steps") || [])[index], index);
  }

  function logFor(key) {
    if (!logs.has(key)) {
      const log = new StepLog();
      // The kernel reads earlier lines from the step's log file (it answers between cells).
      log.more.addEventListener("click", (event) => {
        event.stopPropagation();
        const index = (model.get("steps") || []).findIndex((step, i) => rowKey(step, i) === key);
        if (index < 0) return;
        log.more.disabled = true;
        waiting.add(key);
        sendToKernel(model, { type: "log_window", step: index, end: log.firstHeldLine(), count: 2000 },
                     () => waiting.has(key), () => { waiting.delete(key); log.showKernelGone(); log.draw(); },
                     timers);
      });
      logs.set(key, log);
    }
    return logs.get(key);
  }

  function onCustom(message) {
    if (!message || message.type !== "log_window") return;
    waiting.delete(keyAt(message.step));
    const log = logFor(keyAt(message.step));
    log.more.disabled = false;
    if (message.end === log.firstHeldLine()) log.prepend(message.lines);
    drawSteps();
  }
  model.on("msg:custom", onCustom);

  function drawHeader() {
    const h = model.get("header") || {};
    clock.anchor(h);
    container.dataset.state = h.state || "building";
    container.dataset.builder = h.builder || "";
    header.update(h, clock, model.get("steps") || []);
  }

  function toggle(index) {
    const key = keyAt(index);
    if (opened.has(key)) opened.delete(key); else opened.add(key);
    drawSteps();
  }

  function drawSteps() {
    const steps = model.get("steps") || [];
    const h = model.get("header") || {};
    steps.forEach((step, index) => {
      if (!rows[index]) {
        rows[index] = new StepRow(() => toggle(index));
        table.appendChild(rows[index].root);
      }
      const key = rowKey(step, index);
      if (step.state === "failed") opened.add(key);
      const closed = step.state === "pending" || step.state === "skipped";
      rows[index].update(step, opened.has(key) && !closed, logFor(key), clock, h);
    });
    // BuildKit's rows run side by side: the timeline shows how (the legacy builder's run one after another).
    const buildkit = h.builder === "buildkit";
    timeline.toggle.style.display = buildkit ? "" : "none";
    timeline.update(buildkit ? steps : [], clock, buildkit && session.timeline);
    // Steps planned but not run (the build ended before them) leave the table.
    while (rows.length > steps.length) rows.pop().root.remove();
  }

  function applyDelta() {
    const delta = model.get("log_delta") || {};
    if (!delta.entries || delta.seq <= session.seenDelta) return;
    session.seenDelta = delta.seq;
    for (const entry of delta.entries) {
      logFor(entry.key ? "k:" + entry.key : keyAt(entry.step)).append(entry.lines, entry.skipped, entry.line_count);
    }
    drawSteps();
  }

  function applyTails() {
    const tails = model.get("log_tails") || {};
    const steps = model.get("steps") || [];
    for (const [key, lines] of Object.entries(tails)) {
      const index = Number(key);
      const log = logFor(keyAt(index));
      const total = steps[index] ? steps[index].line_count : lines.length;
      // Keep what the page streamed live when it holds more than the saved tail.
      if (log.received < total || log.lines.length < lines.length) log.replace(lines, total);
    }
    drawSteps();
  }

  drawHeader();
  applyTails();
  applyDelta();
  drawSteps();

  const onHeader = () => { drawHeader(); drawSteps(); };
  const onSteps = () => { header.update(model.get("header") || {}, clock, model.get("steps") || []); drawSteps(); };
  model.on("change:header", onHeader);
  model.on("change:steps", onSteps);
  model.on("change:log_delta", applyDelta);
  model.on("change:log_tails", applyTails);

  // The running clocks tick here, from the page's own clock: a silent step costs no kernel message.
  const ticker = setInterval(() => {
    if (!clock.running) return;
    header.tick(clock);
    for (const row of rows) if (row.step && row.step.state === "running") row.tick(clock);
    if (timeline.root.style.display !== "none") timeline.tick(clock);
  }, TICK_MS);

  return () => {
    clearInterval(ticker);
    for (const timer of timers) clearTimeout(timer);
    model.off("change:header", onHeader);
    model.off("change:steps", onSteps);
    model.off("change:log_delta", applyDelta);
    model.off("change:log_tails", applyTails);
    model.off("msg:custom", onCustom);
  };
}

export default { render };
