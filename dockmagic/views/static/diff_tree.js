// dockmagic diff view: a container's changes as a tree, loaded a directory at a time from the kernel.
// File names are untrusted: every name and path goes through textContent, never innerHTML.
// sendToKernel and kernelGoneText come from kernel_requests.js, put in front of this file when it loads.

const KINDS = ["A", "C", "D"];
const KIND_NAMES = { A: "added", C: "changed", D: "deleted" };
const SEARCH_DELAY_MS = 200;
/**
 * What the kernel sends when the view is made (see dockmagic/views/diff_view.py: initial_state).
 * @typedef {[string, string, number, number, number, 0 | 1, number | null]} TreeRow
 *   name, kind ("A" | "C" | "D" | "" for a folder unchanged itself), added, changed, deleted at or below,
 *   has children, bytes added or changed at or below (null when not measured)
 * @typedef {{container: string, container_id: string, image: string, counts: {A: number, C: number, D: number},
 *   total: number, size: number | null, seconds: number, engine: string, magic: string, sizes_note: string}} Summary
 * @typedef {{reply: "children", id: number, path: string, offset: number, entries: TreeRow[], total: number}
 *   | {reply: "search", id: number, text: string, offset: number, total: number,
 *      matches: [string, string, number | null][]}} Reply
 */

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function joinPath(parent, name) {
  return parent === "/" ? "/" + name : parent + "/" + name;
}

function render({ model, el: host }) {
  const summary = model.get("summary") || {};
  const counts = summary.counts || { A: 0, C: 0, D: 0 };
  const state = { kinds: new Set(KINDS), text: "", expanded: new Set(), generation: 0 };
  const pending = new Map();
  let nextId = 1;
  let searchTimer = null;
  const timers = [];

  const root = el("div", "dockmagic-diff");
  const header = el("div", "dm-diff-header");
  const title = el("span", "dm-diff-title", `docker diff ${summary.container || ""}`);
  const image = el("span", "dm-diff-image", summary.image ? `image ${summary.image}` : "");
  const total = el("span", "dm-diff-total", `${(summary.total || 0).toLocaleString()} changes`);
  header.append(title, image, total);
  if (summary.size !== null && summary.size !== undefined) {
    header.append(el("span", "dm-diff-size", `${humanSize(summary.size)} added or changed`));
  } else if (summary.sizes_note) {
    header.append(el("span", "dm-diff-size dm-sizes-note", summary.sizes_note));
  }

  const controls = el("div", "dm-diff-controls");
  const toggles = {};
  for (const kind of KINDS) {
    const button = el("button", `dm-toggle dm-kind-${kind}`);
    button.type = "button";
    button.setAttribute("aria-pressed", "true");
    button.title = `show or hide ${KIND_NAMES[kind]} paths`;
    button.append(el("span", `dm-badge dm-kind-${kind}`, kind),
                  el("span", "dm-toggle-count", ` ${(counts[kind] || 0).toLocaleString()} ${KIND_NAMES[kind]}`));
    button.addEventListener("click", () => {
      if (state.kinds.has(kind)) state.kinds.delete(kind); else state.kinds.add(kind);
      button.setAttribute("aria-pressed", state.kinds.has(kind) ? "true" : "false");
      button.classList.toggle("dm-off", !state.kinds.has(kind));
      refresh();
    });
    toggles[kind] = button;
    controls.append(button);
  }
  const filter = el("input", "dm-diff-filter");
  filter.type = "search";
  filter.placeholder = "filter paths…";
  filter.setAttribute("aria-label", "filter paths by text");
  filter.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.text = filter.value.trim();
      refresh();
    }, SEARCH_DELAY_MS);
  });
  controls.append(filter);

  const body = el("div", "dm-diff-body");
  const footer = el("div", "dm-diff-engine", summary.engine ? `${summary.engine} · ${summary.seconds} s` : "");
  root.append(header, controls, body, footer);
  host.append(root);

  const lostNote = el("div", "dm-kernel-gone");
  lostNote.hidden = true;
  root.insertBefore(lostNote, body);

  function kernelGone() {
    // The kernel holding this diff is not the one running now: nothing will answer. Say so, plainly.
    for (const node of root.querySelectorAll(".dm-loading")) node.remove();
    pending.clear();
    const magic = summary.magic || `%docker_diff ${summary.container || "NAME"}`;
    const [before, after] = kernelGoneText("\u0000").split("\u0000");
    lostNote.replaceChildren(before + "the cell with ", el("code", "", magic), after);
    lostNote.hidden = false;
  }

  function request(payload, onReply) {
    const id = nextId++;
    pending.set(id, onReply);
    sendToKernel(model, { ...payload, id }, () => pending.has(id), kernelGone, timers);
  }

  function onMessage(message) {
    if (!message || message.id === undefined || !pending.has(message.id)) return;
    const onReply = pending.get(message.id);
    pending.delete(message.id);
    onReply(message);
  }
  model.on("msg:custom", onMessage);

  function selectedKinds() {
    return KINDS.filter((kind) => state.kinds.has(kind));
  }

  function badge(kind) {
    const node = el("span", `dm-badge dm-kind-${kind || "none"}`, kind || "·");
    node.title = kind ? KIND_NAMES[kind] : "unchanged itself; changes below";
    return node;
  }

  function belowCounts(entry) {
    const [, kind, added, changed, deleted] = entry;
    const below = { A: added - (kind === "A" ? 1 : 0), C: changed - (kind === "C" ? 1 : 0),
                    D: deleted - (kind === "D" ? 1 : 0) };
    const node = el("span", "dm-counts");
    for (const k of KINDS) {
      if (below[k] > 0 && state.kinds.has(k)) {
        node.append(el("span", `dm-count dm-kind-${k}`, `${k} ${below[k].toLocaleString()}`));
      }
    }
    return node;
  }

  function row(entry, parentPath, depth, generation) {
    const [name, kind, , , , hasChildren, size] = entry;
    const path = joinPath(parentPath, name);
    const item = el("li", "dm-node");
    const line = el("div", "dm-row");
    line.style.paddingLeft = `${depth * 16 + 4}px`;
    const caret = el("span", "dm-caret", hasChildren ? "▸" : "");
    const label = el("span", "dm-name", hasChildren ? name + "/" : name);
    label.title = path;
    line.append(caret, badge(kind), label);
    if (hasChildren) line.append(belowCounts(entry));
    if (size) line.append(el("span", "dm-size", humanSize(size)));
    if (kind && !state.kinds.has(kind)) line.classList.add("dm-dim");
    item.append(line);
    if (hasChildren) {
      line.classList.add("dm-dir");
      const children = el("ul", "dm-children");
      item.append(children);
      const open = () => {
        caret.textContent = "▾";
        children.hidden = false;
        if (!children.dataset.loaded) {
          children.dataset.loaded = "1";
          loadChildren(path, depth + 1, children, 0, generation);
        }
      };
      line.addEventListener("click", () => {
        if (state.expanded.has(path)) {
          state.expanded.delete(path);
          caret.textContent = "▸";
          children.hidden = true;
        } else {
          state.expanded.add(path);
          open();
        }
      });
      if (state.expanded.has(path)) open(); else children.hidden = true;
    }
    return item;
  }

  function moreButton(count, what, onClick) {
    const item = el("li", "dm-more");
    const button = el("button", "dm-more-button", `${count.toLocaleString()} more ${what}…`);
    button.type = "button";
    button.addEventListener("click", () => {
      item.remove();
      onClick();
    });
    item.append(button);
    return item;
  }

  function loadChildren(path, depth, list, offset, generation) {
    const loading = el("li", "dm-loading", "loading…");
    list.append(loading);
    request({ request: "children", path, offset, kinds: selectedKinds() }, (reply) => {
      loading.remove();
      if (generation !== state.generation) return;
      appendRows(list, reply.entries, path, depth, generation);
      const shown = reply.offset + reply.entries.length;
      if (shown < reply.total) {
        list.append(moreButton(reply.total - shown, "in this folder",
                               () => loadChildren(path, depth, list, shown, generation)));
      }
    });
  }

  function appendRows(list, entries, parentPath, depth, generation) {
    const fragment = document.createDocumentFragment();
    for (const entry of entries) fragment.append(row(entry, parentPath, depth, generation));
    list.append(fragment);
  }

  function renderTree(generation) {
    const list = el("ul", "dm-tree");
    body.replaceChildren(list);
    if (selectedKinds().length === 0) {
      list.append(el("li", "dm-empty", "No kind selected."));
      return;
    }
    if (selectedKinds().length === KINDS.length) {
      // The first level came with the widget: no round trip before the first paint.
      const first = model.get("first_level") || [];
      appendRows(list, first, "/", 0, generation);
      const totalFirst = model.get("first_level_total") || 0;
      if (totalFirst > first.length) {
        list.append(moreButton(totalFirst - first.length, "at the top level",
                               () => loadChildren("/", 0, list, first.length, generation)));
      }
      if (totalFirst === 0) list.append(el("li", "dm-empty", "No changes."));
    } else {
      loadChildren("/", 0, list, 0, generation);
    }
  }

  function loadMatches(list, offset, generation) {
    const loading = el("li", "dm-loading", "searching…");
    list.append(loading);
    request({ request: "search", text: state.text, kinds: selectedKinds(), offset }, (reply) => {
      loading.remove();
      if (generation !== state.generation) return;
      if (reply.total === 0) {
        list.append(el("li", "dm-empty", "No path matches."));
        return;
      }
      const fragment = document.createDocumentFragment();
      for (const [kind, path, size] of reply.matches) {
        const item = el("li", "dm-node");
        const line = el("div", "dm-row dm-match");
        line.append(badge(kind), el("span", "dm-name", path));
        if (size) line.append(el("span", "dm-size", humanSize(size)));
        item.append(line);
        fragment.append(item);
      }
      list.append(fragment);
      const shown = reply.offset + reply.matches.length;
      if (shown < reply.total) {
        list.append(moreButton(reply.total - shown, "matches", () => loadMatches(list, shown, generation)));
      }
    });
  }

  function renderSearch(generation) {
    const list = el("ul", "dm-tree dm-matches");
    body.replaceChildren(list);
    loadMatches(list, 0, generation);
  }

  function refresh() {
    state.generation += 1;  // answers to earlier requests are dropped
    if (state.text) renderSearch(state.generation); else renderTree(state.generation);
  }

  refresh();
  return () => {
    clearTimeout(searchTimer);
    for (const timer of timers) clearTimeout(timer);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
