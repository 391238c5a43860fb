// dockmagic image treemap: an image's folders as rectangles sized by bytes, coloured by the layer that
// wrote most of each. A click on a folder asks the kernel for its children; the breadcrumb goes back.
// Names are untrusted: they go into SVG text nodes and title elements with textContent, never innerHTML.
// sendToKernel and kernelGoneText come from kernel_requests.js, put in front of this file when it loads.

/**
 * @typedef {[string, number, number, 0 | 1]} Block  name, bytes, layer number, 1 if it is a folder that opens
 * @typedef {{path: string, entries: Block[], total: number, rest: number}} Level
 * @typedef {{image: string, size: number, layers: [number, string][], magic: string}} Summary
 */

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 960;
const HEIGHT = 360;
const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#db2777",
                 "#7c3aed", "#0f766e", "#b45309", "#475569"];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  return node;
}

function layerColour(layer) {
  return PALETTE[(Math.max(1, layer) - 1) % PALETTE.length];
}

/** Squarified treemap (Bruls, Huizing, van Wijk): rows laid along the shorter side, worst ratio kept low. */
export function squarify(values, x, y, width, height) {
  const total = values.reduce((sum, value) => sum + value, 0);
  const out = [];
  if (total <= 0 || width <= 0 || height <= 0) return out;
  const scale = (width * height) / total;
  const items = values.map((value, index) => ({ index, area: value * scale })).filter((item) => item.area > 0);
  let rect = { x, y, width, height };
  let row = [];
  const worst = (candidate, side) => {
    const sum = candidate.reduce((s, item) => s + item.area, 0);
    let max = 0, min = Infinity;
    for (const item of candidate) { max = Math.max(max, item.area); min = Math.min(min, item.area); }
    return Math.max((side * side * max) / (sum * sum), (sum * sum) / (side * side * min));
  };
  const layRow = () => {
    const sum = row.reduce((s, item) => s + item.area, 0);
    if (rect.width >= rect.height) {
      const columnWidth = sum / rect.height;
      let top = rect.y;
      for (const item of row) {
        const h = item.area / columnWidth;
        out.push({ index: item.index, x: rect.x, y: top, width: columnWidth, height: h });
        top += h;
      }
      rect = { x: rect.x + columnWidth, y: rect.y, width: rect.width - columnWidth, height: rect.height };
    } else {
      const rowHeight = sum / rect.width;
      let left = rect.x;
      for (const item of row) {
        const w = item.area / rowHeight;
        out.push({ index: item.index, x: left, y: rect.y, width: w, height: rowHeight });
        left += w;
      }
      rect = { x: rect.x, y: rect.y + rowHeight, width: rect.width, height: rect.height - rowHeight };
    }
    row = [];
  };
  for (const item of items) {
    const side = Math.min(rect.width, rect.height);
    if (row.length === 0 || worst([...row, item], side) <= worst(row, side)) row.push(item);
    else { layRow(); row.push(item); }
  }
  if (row.length) layRow();
  return out;
}

function render({ model, el: host }) {
  /** @type {Summary} */
  const summary = model.get("summary") || {};
  const levels = new Map([["/", model.get("root")]]);
  const pending = new Map();
  const timers = [];
  let nextId = 1;
  let current = "/";

  const root = el("div", "dockmagic-treemap");
  const header = el("div", "dm-tm-header");
  header.append(el("span", "dm-tm-title", `${summary.image || ""} by size`),
                el("span", "", `${humanSize(summary.size || 0)} in files · click a folder to open it`));
  const crumbs = el("div", "dm-tm-crumbs");
  const lostNote = el("div", "dm-kernel-gone");
  lostNote.hidden = true;
  const picture = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img" });
  const legend = el("div", "dm-tm-legend");
  for (const [number, createdBy] of summary.layers || []) {
    const item = el("span", "dm-tm-layer");
    const swatch = el("span", "dm-tm-swatch");
    swatch.style.background = layerColour(number);
    item.append(swatch, `layer ${number}: ${createdBy || "(base)"}`);
    legend.append(item);
  }
  root.append(header, crumbs, lostNote, picture, legend);
  host.append(root);

  function kernelGone() {
    pending.clear();
    const [before, after] = kernelGoneText("\u0000").split("\u0000");
    lostNote.replaceChildren(before + "the cell with ", el("code", "", summary.magic || "%docker_history"), after);
    lostNote.hidden = false;
  }

  function open(path) {
    if (levels.has(path)) { current = path; draw(); return; }
    const id = nextId++;
    pending.set(id, path);
    sendToKernel(model, { request: "children", path, id }, () => pending.has(id), kernelGone, timers);
  }

  function onMessage(message) {
    if (!message || message.reply !== "children" || !pending.has(message.id)) return;
    pending.delete(message.id);
    levels.set(message.path, message);
    current = message.path;
    draw();
  }

  function drawCrumbs() {
    const parts = current.split("/").filter(Boolean);
    const paths = ["/"];
    for (let index = 0; index < parts.length; index += 1) paths.push("/" + parts.slice(0, index + 1).join("/"));
    crumbs.replaceChildren();
    paths.forEach((path, index) => {
      const button = el("button", "dm-tm-crumb", index === 0 ? "/" : parts[index - 1]);
      button.type = "button";
      button.disabled = path === current;
      button.addEventListener("click", () => open(path));
      if (index > 1) crumbs.append(el("span", "", "/"));
      crumbs.append(button);
    });
  }

  function draw() {
    drawCrumbs();
    const level = levels.get(current) || { entries: [], rest: 0, total: 0 };
    const blocks = [...level.entries];
    if (level.rest > 0) blocks.push([`${(level.total - level.entries.length).toLocaleString()} smaller`, level.rest, 0, 0]);
    picture.replaceChildren();
    const cells = squarify(blocks.map((block) => block[1]), 0, 0, WIDTH, HEIGHT);
    for (const cell of cells) {
      const [name, bytes, layer, opens] = blocks[cell.index];
      const group = svg("g", { class: opens ? "dm-tm-folder" : "dm-tm-file" });
      const path = current === "/" ? "/" + name : current + "/" + name;
      group.setAttribute("data-path", path);
      const rect = svg("rect", { class: "dm-tm-block", x: cell.x, y: cell.y, width: cell.width, height: cell.height,
                                 fill: layer ? layerColour(layer) : "#9ca3af" });
      const title = svg("title");
      title.textContent = `${path}${opens ? "/" : ""} · ${humanSize(bytes)}${layer ? ` · mostly layer ${layer}` : ""}`;
      group.append(rect, title);
      if (cell.width > 40 && cell.height > 16) {
        const label = svg("text", { x: cell.x + 4, y: cell.y + 13 });
        const room = Math.floor((cell.width - 8) / 6.2);
        const text = `${name}${opens ? "/" : ""} ${humanSize(bytes)}`;
        label.textContent = text.length > room ? text.slice(0, Math.max(1, room - 1)) + "…" : text;
        group.append(label);
      }
      if (opens) group.addEventListener("click", () => open(path));
      picture.append(group);
    }
  }

  model.on("msg:custom", onMessage);
  draw();
  return () => {
    model.off("msg:custom", onMessage);
    for (const timer of timers) clearTimeout(timer);
  };
}

export default { render };
