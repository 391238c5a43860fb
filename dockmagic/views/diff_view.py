"""The views of a container diff: an interactive tree (anywidget) and a static HTML snapshot.

The widget starts with the counts and the first level of the tree only: however many changes there are,
what is first sent stays small (a few kB, at most ``PAGE_SIZE`` first-level rows). Opening a directory,
asking for more rows or filtering by path text sends a custom message that the kernel answers from the
diff's :class:`~dockmagic.models.diff_tree.DiffTree` (no engine call: the tree is already in memory),
one page at a time. The kind filter is applied by the kernel too, so that a page is never a page of
hidden rows.

File names are untrusted: the widget sets them with textContent, the snapshot escapes them.
"""

from __future__ import annotations

import pathlib

import anywidget
import traitlets

from ..models.diff_tree import KIND_NAMES, KINDS, DiffTree, TreeEntry, normalize
from .display import KIND_COLOURS, escape, widget_bundle
from .units import human_size
from .widget_scripts import widget_script

STATIC = pathlib.Path(__file__).parent / "static"

PAGE_SIZE = 200          # rows per "children" answer (and first-level rows sent up front)
SEARCH_LIMIT = 200       # rows per "search" answer; the rest is "N more"
SNAPSHOT_ROWS = 200      # first-level rows in the static HTML snapshot
TEXT_LINES = 200         # docker diff lines in the widget's text/plain fallback
MAX_SEARCH_CHARS = 1000


def compact(entry: TreeEntry) -> list:
    """A tree row as the widget receives it: [name, kind, added, changed, deleted, has_children, size]."""
    return [entry.name, entry.kind or "", entry.added, entry.changed, entry.deleted,
            1 if entry.has_children else 0, entry.size]


def initial_state(diff) -> dict:
    """What the widget gets before any click: the summary and the first page of the first level."""
    tree = diff.tree
    entries, total = tree.children("/", 0, PAGE_SIZE, collapse=True)
    return {
        "summary": {
            "container": diff.container,
            "container_id": diff.container_id[:12],
            "image": diff.image,
            "counts": dict(tree.counts),
            "total": tree.total,
            "size": tree.size,
            "seconds": round(diff.seconds, 2),
            "engine": diff.engine,
            # The line that makes this view again, for when its kernel is gone.
            "magic": rerun_line(diff),
            "sizes_note": sizes_note(diff) if tree.size is None else "",
        },
        "first_level": [compact(entry) for entry in entries],
        "first_level_total": total,
        "page_size": PAGE_SIZE,
    }


def answer(tree: DiffTree, request: dict) -> dict | None:
    """The kernel's answer to a widget's request: the children of a directory, or a path search."""
    if not isinstance(request, dict):
        return None
    request_id = request.get("id")
    kinds = _kinds(request.get("kinds"))
    offset = _offset(request.get("offset"))
    if request.get("request") == "children":
        path = normalize(str(request.get("path") or "/"))
        entries, total = tree.children(path, offset, PAGE_SIZE, kinds=kinds, collapse=True)
        return {"reply": "children", "id": request_id, "path": path, "offset": offset,
                "entries": [compact(entry) for entry in entries], "total": total}
    if request.get("request") == "search":
        text = str(request.get("text") or "")[:MAX_SEARCH_CHARS]
        matches, total = tree.search(text, kinds, offset, SEARCH_LIMIT)
        sizes = tree.sizes
        return {"reply": "search", "id": request_id, "text": text, "offset": offset, "total": total,
                "matches": [[change[0], change[1], sizes.get(change[1]) if sizes is not None else None]
                            for change in matches]}
    return {"reply": "error", "id": request_id, "message": f"unknown request {request.get('request')!r}"}


def rerun_line(diff) -> str:
    """The magic line that shows this diff again."""
    return f"%docker_diff {diff.container}"


def sizes_note(diff) -> str:
    """What the header says when file sizes were not measured, and how to get them."""
    why = f" ({diff.sizes_skipped})" if getattr(diff, "sizes_skipped", "") else ""
    return (f"sizes not measured{why}: {rerun_line(diff).replace('%docker_diff ', '%docker_diff --sizes ')} "
            "measures them")


def _kinds(value) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        return KINDS
    return tuple(kind for kind in KINDS if kind in value)


def _offset(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


class DiffTreeWidget(anywidget.AnyWidget):
    """The diff as a tree: A / C / D badges and counts, kind toggles, a path filter, lazy directories."""

    _esm = widget_script("diff_tree.js")
    _css = STATIC / "diff_tree.css"

    summary = traitlets.Dict().tag(sync=True)
    first_level = traitlets.List().tag(sync=True)
    first_level_total = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(PAGE_SIZE).tag(sync=True)

    def __init__(self, diff, **kwargs):
        super().__init__(**initial_state(diff), **kwargs)
        self._tree = diff.tree
        self.on_msg(self._on_request)

    def answer(self, request: dict) -> dict | None:
        return answer(self._tree, request)

    def _on_request(self, widget, content, buffers) -> None:
        reply = self.answer(content)
        if reply is not None:
            self.send(reply)


class DiffView:
    """The widget for live frontends, with the docker diff text and a static HTML snapshot beside it."""

    def __init__(self, diff, widget: DiffTreeWidget | None = None):
        self.diff = diff
        self.widget = widget or DiffTreeWidget(diff)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return widget_bundle(self.widget, diff_text_preview(self.diff), diff_html(self.diff))


def diff_text_preview(diff, lines: int = TEXT_LINES) -> str:
    """``docker diff``'s text, cut after ``lines`` lines (the full text is ``str(diff)``)."""
    changes = diff.changes
    if len(changes) <= lines:
        return str(diff) or f"No changes in {diff.container}."
    head = "\n".join(f"{change.kind} {change.path}" for change in changes[:lines])
    return f"{head}\n… {len(changes) - lines:,} more changes (print the result for all of them)"


def diff_html(diff, rows: int = SNAPSHOT_ROWS) -> str:
    """A static snapshot: the counts and the first level of the tree (for saved notebooks, nbconvert)."""
    tree = diff.tree
    entries, total = tree.children("/", 0, rows, collapse=True)
    badges = " ".join(
        f'<span style="{_badge_style(kind)}">{kind}</span>&nbsp;{tree.counts[kind]:,}&nbsp;{KIND_NAMES[kind]}'
        for kind in KINDS
    )
    size = (f" &middot; {escape(human_size(tree.size))} added or changed" if tree.size is not None
            else f' &middot; <span style="color:#6b7280">{escape(sizes_note(diff))}</span>')
    header = (
        f'<div><b>docker diff {escape(diff.container)}</b> '
        f'<span style="color:#6b7280">(image {escape(diff.image)})</span>: '
        f'{tree.total:,} changes &middot; {badges}{size}</div>'
    )
    if not entries:
        return f'<div class="dockmagic-diff-snapshot">{header}<div><i>No changes.</i></div></div>'
    items = "".join(_snapshot_row(entry) for entry in entries)
    more = (f'<li style="color:#6b7280">… {total - len(entries):,} more at the top level</li>'
            if total > len(entries) else "")
    return (
        f'<div class="dockmagic-diff-snapshot">{header}'
        f'<ul style="list-style:none;padding-left:0;margin:4px 0;font-family:monospace;font-size:12px">'
        f'{items}{more}</ul></div>'
    )


def _snapshot_row(entry: TreeEntry) -> str:
    kind = entry.kind or ""
    badge = (f'<span style="{_badge_style(kind)}" title="{KIND_NAMES[kind]}">{kind}</span>' if kind
             else '<span style="display:inline-block;width:1.4em;text-align:center;color:#9ca3af">·</span>')
    name = escape(entry.name) + ("/" if entry.has_children else "")
    below = ""
    if entry.has_children:
        own = {"A": 0, "C": 0, "D": 0}
        if kind:
            own[kind] = 1
        parts = [f"{count - own[k]:,} {KIND_NAMES[k]}" for k, count in
                 (("A", entry.added), ("C", entry.changed), ("D", entry.deleted)) if count - own[k]]
        below = f' <span style="color:#6b7280">({", ".join(parts)} below)</span>'
    size = f' <span style="color:#6b7280">{escape(human_size(entry.size))}</span>' if entry.size else ""
    return f"<li>{badge} {name}{below}{size}</li>"


def _badge_style(kind: str) -> str:
    return (f"display:inline-block;width:1.4em;text-align:center;border-radius:3px;color:#fff;"
            f"font-weight:600;background:{KIND_COLOURS.get(kind, '#6b7280')}")
