// dockmagic pull/push view: a header with the totals and speed, one row per layer with its bar.
// Every text from the engine goes through textContent: names, statuses and errors are text, never markup.

/**
 * @typedef {{kind: string, reference: string, state: string, moved: number, total: number,
 *            speed: number, elapsed: number, existing: number, digest: string, error: string,
 *            summary: string}} Header
 * @typedef {{id: string, phase: string, status: string, size: number|null, moved: number,
 *            extracted: number}} Layer
 */

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function bar(fraction, extra) {
  const outer = el("div", "dm-transfer-bar");
  const fill = el("div", "dm-transfer-fill" + (extra ? " " + extra : ""));
  fill.style.width = Math.max(0, Math.min(100, fraction * 100)).toFixed(1) + "%";
  outer.append(fill);
  return outer;
}

function layerRow(layer, kind) {
  const exists = layer.phase === "already exists";
  const row = el("div", "dm-transfer-row" + (exists ? " exists" : ""));
  row.dataset.layer = layer.id;
  row.dataset.phase = layer.phase;
  row.append(el("span", "dm-transfer-id", layer.id), el("span", "dm-transfer-status", layer.status));
  const bars = el("div");
  if (exists) {
    bars.append(el("span", "", kind === "pull" ? "already on the engine" : "already in the registry"));
  } else if (layer.size) {
    bars.append(bar(layer.moved / layer.size));
    if (kind === "pull") bars.append(bar(layer.extracted / layer.size, "extract"));
  }
  row.append(bars);
  const bytes = layer.size ? humanSize(layer.moved) + " / " + humanSize(layer.size) : "";
  row.append(el("span", "dm-transfer-bytes", bytes));
  return row;
}

function render({ model, el: root }) {
  const box = el("div", "dockmagic-transfer dm-transfer");
  const header = el("div", "dm-transfer-header");
  const error = el("div", "dm-transfer-error");
  const rows = el("div", "dm-transfer-rows");
  const total = el("div", "dm-transfer-total");
  box.append(header, error, rows, total);
  root.append(box);

  function draw() {
    /** @type {Header} */
    const h = model.get("header") || {};
    /** @type {Layer[]} */
    const layers = model.get("layers") || [];
    const verb = h.kind === "push" ? "Push" : "Pull";
    box.dataset.state = h.state || "running";
    header.className = "dm-transfer-header " + (h.state || "");
    header.textContent = verb + " " + (h.reference || "") +
      (h.state === "done" ? ": done" : h.state === "failed" ? ": failed" : "");
    error.textContent = h.error || "";
    error.style.display = h.error ? "" : "none";
    rows.replaceChildren(...layers.map((layer) => layerRow(layer, h.kind)));
    const parts = [humanSize(h.moved) + (h.total ? " of " + humanSize(h.total) : ""),
                   humanSize(Math.round(h.speed || 0)) + "/s", (h.elapsed || 0).toFixed(1) + " s"];
    if (h.existing) parts.push(h.existing + (h.existing === 1 ? " layer" : " layers") + " already existed");
    if (h.digest) parts.push(h.digest);
    total.textContent = parts.join(" · ");
  }

  draw();
  model.on("change:header", draw);
  model.on("change:layers", draw);
  return () => {
    model.off("change:header", draw);
    model.off("change:layers", draw);
  };
}

export default { render };
