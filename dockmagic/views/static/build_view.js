// dockmagic build view: header, one row per step, each row opening to its log.
// Every piece of text from the build goes through textContent: logs are text, never markup.

const LINE_HEIGHT = 18;          // px, fixed so that the log can be windowed
const LOG_HEIGHT = 300;          // px, the visible log window
const MAX_LINES_KEPT = 20000;    // per step in the page; older lines stay in the log file

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

function shortId(id) {
  return id ? id.replace(/^sha256:/, "").slice(0, 12) : "";
}

class StepLog {
  // The lines of one step, drawn in a fixed-height window: only the visible lines exist in the DOM.
  constructor() {
    this.lines = [];
    this.dropped = 0;     // lines the page no longer holds (or never got)
    this.follow = true;   // stick to the bottom while new lines arrive
    this.root = el("div", "dm-log");
    this.note = el("div", "dm-log-note");
    this.viewport = el("div", "dm-log-viewport");
    this.viewport.style.height = LOG_HEIGHT + "px";
    this.spacer = el("div", "dm-log-spacer");
    this.window = el("div", "dm-log-window");
    this.viewport.append(this.spacer, this.window);
    this.noteText = el("span");
    this.more = el("button", "dm-more", "show earlier lines");
    this.more.type = "button";
    this.note.append(this.noteText, this.more);
    this.root.append(this.note, this.viewport);
    this.viewport.addEventListener("scroll", () => {
      const bottom = this.viewport.scrollHeight - this.viewport.clientHeight;
      this.follow = this.viewport.scrollTop >= bottom - LINE_HEIGHT;
      this.draw();
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
    for (const line of lines) this.lines.push(line);
    if (this.lines.length > MAX_LINES_KEPT) {
      const extra = this.lines.length - MAX_LINES_KEPT;
      this.lines.splice(0, extra);
      this.dropped += extra;
    }
  }

  prepend(lines) {
    // Earlier lines fetched from the log file on request.
    this.lines = lines.concat(this.lines);
    this.dropped = Math.max(0, this.dropped - lines.length);
    this.follow = false;
  }

  firstHeldLine() {
    return this.received - this.lines.length;   // absolute index of the first line the page holds
  }

  replace(lines, total) {
    this.lines = lines.slice();
    this.dropped = Math.max(0, total - lines.length);
    this.received = total;
  }

  draw() {
    if (!this.root.isConnected || !this.viewport.clientHeight) {
      // Not laid out yet (a widget is rendered before it is attached): draw once it is.
      if (!this.pending && (this.attempts = (this.attempts || 0) + 1) < 600) {
        this.pending = true;
        requestAnimationFrame(() => { this.pending = false; this.draw(); });
      }
      return;
    }
    this.attempts = 0;
    const n = this.lines.length;
    this.noteText.textContent = this.dropped
      ? `${this.dropped.toLocaleString()} earlier lines are not shown here; the full log is in ${this.logPath || "the step's log file"} `
      : "";
    this.note.style.display = this.dropped ? "" : "none";
    this.more.style.display = this.dropped ? "" : "none";
    this.spacer.style.height = n * LINE_HEIGHT + "px";
    this.viewport.style.height = Math.min(LOG_HEIGHT, Math.max(1, n) * LINE_HEIGHT + 8) + "px";
    if (this.follow) this.viewport.scrollTop = this.viewport.scrollHeight;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / LINE_HEIGHT) - 5);
    const last = Math.min(n, first + Math.ceil(LOG_HEIGHT / LINE_HEIGHT) + 10);
    this.window.style.transform = `translateY(${first * LINE_HEIGHT}px)`;
    const nodes = [];
    for (let i = first; i < last; i++) {
      const [text, stderr] = this.lines[i];
      const line = el("div", stderr ? "dm-line dm-stderr" : "dm-line", text === "" ? "\u00a0" : text);
      nodes.push(line);
    }
    this.window.replaceChildren(...nodes);
  }
}

// What a person did with a build's view (open rows) and the log lines it streamed, by build. The view is
// drawn again when the cell's output is updated at the end of the build; this keeps both across that.
const SESSIONS = new Map();
const MAX_SESSIONS = 30;

function sessionFor(key) {
  if (!SESSIONS.has(key)) {
    if (SESSIONS.size >= MAX_SESSIONS) SESSIONS.delete(SESSIONS.keys().next().value);
    SESSIONS.set(key, { logs: new Map(), opened: new Set(), seenDelta: 0 });
  }
  return SESSIONS.get(key);
}

function render({ model, el: root }) {
  const container = el("div", "dockmagic-build");
  const header = el("div", "dm-header");
  const stateBadge = el("span", "dm-state");
  const summary = el("span", "dm-summary");
  const result = el("div", "dm-result");
  const engine = el("div", "dm-engine");
  header.append(stateBadge, summary);
  const failure = el("div", "dm-failure");
  const table = el("div", "dm-steps");
  container.append(header, result, failure, table, engine);
  root.appendChild(container);

  const session = sessionFor((model.get("header") || {}).log_dir || "");
  const logs = session.logs;       // step index -> StepLog
  const opened = session.opened;   // step indexes the user (or a failure) opened
  const rows = new Map();          // step index -> {row, cells...}
  let clockOffset = 0;             // kernel clock minus page clock, seconds

  function logFor(index) {
    if (!logs.has(index)) {
      const log = new StepLog();
      // The kernel reads earlier lines from the step's log file (it answers between cells).
      log.more.addEventListener("click", (event) => {
        event.stopPropagation();
        log.more.disabled = true;
        model.send({ type: "log_window", step: index, end: log.firstHeldLine(), count: 2000 });
      });
      logs.set(index, log);
    }
    return logs.get(index);
  }

  function onCustom(message) {
    if (!message || message.type !== "log_window") return;
    const log = logFor(message.step);
    log.more.disabled = false;
    if (message.end === log.firstHeldLine()) log.prepend(message.lines);
    drawSteps();
  }
  model.on("msg:custom", onCustom);

  function kernelNow() {
    return Date.now() / 1000 + clockOffset;
  }

  function drawHeader() {
    const h = model.get("header") || {};
    if (h.sent_at) clockOffset = h.sent_at - Date.now() / 1000;
    const state = h.state || "building";
    stateBadge.textContent = state;
    stateBadge.className = "dm-state dm-" + state;
    container.dataset.state = state;
    const elapsed = h.elapsed !== null && h.elapsed !== undefined ? h.elapsed : kernelNow() - (h.started_at || kernelNow());
    const parts = [];
    if (h.total) {
      parts.push(state === "building" ? `step ${h.step} of ${h.total}` : `${h.steps_seen} of ${h.total} steps`);
    }
    parts.push(formatSeconds(Math.max(0, elapsed)));
    parts.push(`${h.cached || 0} from cache`);
    if (h.replay_of) parts.push(`replay of a build recorded ${h.replay_of}`);
    summary.textContent = parts.join(" · ");
    result.replaceChildren();
    if (state === "done" && h.image_id) {
      result.append(el("span", "dm-label", "image "), el("code", "dm-image-id", h.image_id));
      if (h.tags && h.tags.length) result.append(el("span", "dm-label", " tags "), el("code", "dm-tags", h.tags.join(", ")));
      if (h.size) result.append(el("span", "dm-label", " size "), el("span", "dm-size", h.size));
    }
    engine.textContent = h.engine ? `engine: ${h.engine}${h.builder ? ` · builder: ${h.builder}` : ""}` : "";
    failure.textContent = h.failure || (state === "failed" && h.error ? h.error : "");
    failure.style.display = failure.textContent ? "" : "none";
  }

  function toggle(index) {
    if (opened.has(index)) opened.delete(index); else opened.add(index);
    drawSteps();
  }

  function drawSteps() {
    const steps = model.get("steps") || [];
    steps.forEach((step, index) => {
      let r = rows.get(index);
      if (!r) {
        const row = el("div", "dm-step");
        const line = el("div", "dm-step-line");
        line.tabIndex = 0;
        line.setAttribute("role", "button");
        const caret = el("span", "dm-caret");
        const number = el("span", "dm-number");
        const instruction = el("span", "dm-instruction");
        const state = el("span", "dm-step-state");
        const time = el("span", "dm-time");
        const layer = el("code", "dm-layer");
        line.append(caret, number, instruction, state, time, layer);
        line.addEventListener("click", () => toggle(index));
        line.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(index); } });
        const body = el("div", "dm-step-body");
        row.append(line, body);
        table.appendChild(row);
        r = { row, line, caret, number, instruction, state, time, layer, body };
        rows.set(index, r);
      }
      if (step.state === "failed") opened.add(index);
      const isOpen = opened.has(index);
      r.row.className = "dm-step dm-step-" + step.state + (isOpen ? " dm-open" : "");
      r.row.dataset.state = step.state;
      r.row.dataset.step = String(step.number);
      r.caret.textContent = isOpen ? "▾" : "▸";
      r.number.textContent = step.label || `Step ${step.number}/${step.total}`;
      r.instruction.textContent = step.instruction;
      r.instruction.title = step.instruction;
      r.state.textContent = step.state;
      r.state.className = "dm-step-state dm-" + step.state;
      const seconds = step.seconds !== null && step.seconds !== undefined ? step.seconds : kernelNow() - step.started_at;
      r.time.textContent = formatSeconds(Math.max(0, seconds));
      r.layer.textContent = step.layer_id || "";
      r.line.setAttribute("aria-expanded", isOpen ? "true" : "false");
      const log = logFor(index);
      log.logPath = step.log_path;
      if (isOpen) {
        if (!r.body.firstChild) r.body.appendChild(log.root);
        if (!log.lines.length && !log.dropped) {
          log.noteText.textContent = step.line_count ? "" : "(no output)";
          log.note.style.display = "";
        }
        log.draw();
      } else if (r.body.firstChild) {
        r.body.replaceChildren();
      }
    });
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

  // Elapsed times tick here, between kernel messages.
  const ticker = setInterval(() => {
    const h = model.get("header") || {};
    if (h.state === "building") { drawHeader(); drawSteps(); }
  }, 500);

  return () => {
    clearInterval(ticker);
    model.off("change:header", onHeader);
    model.off("change:steps", drawSteps);
    model.off("change:log_delta", applyDelta);
    model.off("change:log_tails", applyTails);
    model.off("msg:custom", onCustom);
  };
}

export default { render };
