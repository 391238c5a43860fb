// dockmagic build view: a header, one row per step (the steps still to run greyed), each row opening to its log.
// Every piece of text from the build goes through textContent: logs are text, never markup.
// sendToKernel and kernelGoneText come from kernel_requests.js, put in front of this file when it loads.

/**
 * What the kernel sends (see dockmagic/views/build_widget.py: header_state, step_state, LiveBuildView.flush).
 * @typedef {"building" | "done" | "failed" | "cancelled"} BuildState
 * @typedef {"pending" | "running" | "done" | "cached" | "failed" | "cancelled"} StepState
 * @typedef {{state: BuildState, step: number, total: number, steps_seen: number, cached: number,
 *   elapsed: number, image_id: string, tags: string[], size: string, engine: string, failure: string,
 *   exit_code: number | null, error: string, replay_of: string, log_dir: string}} Header
 *   elapsed: seconds since the build started, as the kernel counted them when it sent the header (only
 *   resent when something else in the header changes: the page's clock carries it on).
 * @typedef {{number: number, label: string, total: number, instruction: string, state: StepState,
 *   started_after: number | null, seconds: number | null, layer_id: string, line_count: number,
 *   log_path: string}} Step
 *   started_after: seconds from the build's start to the step's; seconds: the step's time once it ended.
 * @typedef {[string, boolean]} LogLine  text, printed on stderr
 * @typedef {{seq: number, entries: {step: number, lines: LogLine[], line_count: number, skipped: number}[]}} LogDelta
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
      this.noteText.textContent = this.dropped
        ? `${this.dropped.toLocaleString()} earlier lines are not shown here; the full log is in ${this.logPath || "the step's log file"} `
        : "";
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
    this.header = {};
  }

  /** @param {Header} h @param {BuildClock} clock */
  update(h, clock) {
    this.header = h;
    const state = h.state || "building";
    this.stateBadge.textContent = state;
    this.stateBadge.className = "dm-state dm-" + state;
    const parts = [];
    if (h.total) {
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
      if (!this.pending && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); onToggle(); }
    });
    this.body = el("div", "dm-step-body");
    this.root.append(this.line, this.body);
    this.step = null;
  }

  /** @param {Step} step @param {boolean} isOpen @param {StepLog} log @param {BuildClock} clock */
  update(step, isOpen, log, clock) {
    this.step = step;
    this.pending = step.state === "pending";
    this.root.className = "dm-step dm-step-" + step.state + (isOpen ? " dm-open" : "");
    this.root.dataset.state = step.state;
    this.root.dataset.step = String(step.number);
    this.line.tabIndex = this.pending ? -1 : 0;
    this.line.setAttribute("aria-disabled", this.pending ? "true" : "false");
    this.caret.textContent = this.pending ? "" : isOpen ? "▾" : "▸";
    this.number.textContent = step.label || `Step ${step.number}/${step.total}`;
    this.instruction.textContent = step.instruction;
    this.instruction.title = step.instruction;
    this.state.textContent = step.state;
    this.state.className = "dm-step-state dm-" + step.state;
    this.tick(clock);
    this.layer.textContent = step.layer_id || "";
    this.line.setAttribute("aria-expanded", isOpen ? "true" : "false");
    log.logPath = step.log_path;
    log.running = step.state === "running";
    log.cached = step.state === "cached";
    if (isOpen) {
      if (!this.body.firstChild) this.body.appendChild(log.root);
      log.draw();
    } else if (this.body.firstChild) {
      this.body.replaceChildren();
    }
  }

  /** @param {BuildClock} clock */
  tick(clock) {
    const seconds = this.step ? clock.stepSeconds(this.step) : null;
    this.time.textContent = seconds === null ? "" : formatSeconds(seconds);
  }
}

// What a person did with a build's view (open rows), the log lines it streamed and its clock, by build.
// The view is drawn again when the cell's output is updated at the end of the build; this keeps them.
const SESSIONS = new Map();
const MAX_SESSIONS = 30;

function sessionFor(key) {
  if (!SESSIONS.has(key)) {
    if (SESSIONS.size >= MAX_SESSIONS) SESSIONS.delete(SESSIONS.keys().next().value);
    SESSIONS.set(key, { logs: new Map(), opened: new Set(), seenDelta: 0, clock: new BuildClock() });
  }
  return SESSIONS.get(key);
}

function render({ model, el: root }) {
  const container = el("div", "dockmagic-build");
  const header = new BuildHeader();
  const table = el("div", "dm-steps");
  container.append(header.root, header.result, header.failure, table, header.engine);
  root.appendChild(container);

  const session = sessionFor((model.get("header") || {}).log_dir || "");
  const logs = session.logs;       // step index -> StepLog
  const opened = session.opened;   // step indexes the user (or a failure) opened
  const clock = session.clock;
  const rows = [];                 // step index -> StepRow
  const timers = [];
  const waiting = new Set();       // steps whose earlier lines were asked for

  function logFor(index) {
    if (!logs.has(index)) {
      const log = new StepLog();
      // The kernel reads earlier lines from the step's log file (it answers between cells).
      log.more.addEventListener("click", (event) => {
        event.stopPropagation();
        log.more.disabled = true;
        waiting.add(index);
        sendToKernel(model, { type: "log_window", step: index, end: log.firstHeldLine(), count: 2000 },
                     () => waiting.has(index), () => { waiting.delete(index); log.showKernelGone(); log.draw(); },
                     timers);
      });
      logs.set(index, log);
    }
    return logs.get(index);
  }

  function onCustom(message) {
    if (!message || message.type !== "log_window") return;
    waiting.delete(message.step);
    const log = logFor(message.step);
    log.more.disabled = false;
    if (message.end === log.firstHeldLine()) log.prepend(message.lines);
    drawSteps();
  }
  model.on("msg:custom", onCustom);

  function drawHeader() {
    const h = model.get("header") || {};
    clock.anchor(h);
    container.dataset.state = h.state || "building";
    header.update(h, clock);
  }

  function toggle(index) {
    if (opened.has(index)) opened.delete(index); else opened.add(index);
    drawSteps();
  }

  function drawSteps() {
    const steps = model.get("steps") || [];
    steps.forEach((step, index) => {
      if (!rows[index]) {
        rows[index] = new StepRow(() => toggle(index));
        table.appendChild(rows[index].root);
      }
      if (step.state === "failed") opened.add(index);
      rows[index].update(step, opened.has(index) && step.state !== "pending", logFor(index), clock);
    });
    // Steps planned but not run (the build ended before them) leave the table.
    while (rows.length > steps.length) rows.pop().root.remove();
  }

  function applyDelta() {
    const delta = model.get("log_delta") || {};
    if (!delta.entries || delta.seq <= session.seenDelta) return;
    session.seenDelta = delta.seq;
    for (const entry of delta.entries) {
      logFor(entry.step).append(entry.lines, entry.skipped, entry.line_count);
    }
    drawSteps();
  }

  function applyTails() {
    const tails = model.get("log_tails") || {};
    const steps = model.get("steps") || [];
    for (const [key, lines] of Object.entries(tails)) {
      const index = Number(key);
      const log = logFor(index);
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
  model.on("change:header", onHeader);
  model.on("change:steps", drawSteps);
  model.on("change:log_delta", applyDelta);
  model.on("change:log_tails", applyTails);

  // The running clocks tick here, from the page's own clock: a silent step costs no kernel message.
  const ticker = setInterval(() => {
    if (!clock.running) return;
    header.tick(clock);
    for (const row of rows) if (row.step && row.step.state === "running") row.tick(clock);
  }, TICK_MS);

  return () => {
    clearInterval(ticker);
    for (const timer of timers) clearTimeout(timer);
    model.off("change:header", onHeader);
    model.off("change:steps", drawSteps);
    model.off("change:log_delta", applyDelta);
    model.off("change:log_tails", applyTails);
    model.off("msg:custom", onCustom);
  };
}

export default { render };
