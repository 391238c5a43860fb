"""The text and HTML forms of a commit's result (:class:`dockmagic.operations.commit.CommitResult`)."""

from __future__ import annotations

from ..models.diff_tree import KIND_NAMES, KINDS
from .display import KIND_COLOURS, escape
from .units import human_size

# How the counts of a layer's changes are made, wherever they are shown (commit and history alike).
COUNT_RULE = "as docker diff counts: a folder counts as changed when something in it changed"


def change_summary(result) -> str:
    """"3 added, 1 changed, 0 deleted": the paths of the new layer, by kind."""
    return ", ".join(f"{result.counts.get(kind, 0):,} {KIND_NAMES[kind]}" for kind in KINDS)


def details(result) -> list[tuple[str, str, bool]]:
    """The lines under the summary: (label, value, whether the value is code) for each change applied,
    the message and the author."""
    lines = [("applied", change, True) for change in result.changes]
    lines += [(label, value, False) for label, value in (("message", result.message), ("author", result.author))
              if value]
    return lines


def commit_text(result) -> str:
    lines = [
        f"Committed {result.container} as {', '.join(result.tags) or result.short_id}",
        result.image_id,
        f"new layer: {human_size(result.layer_size)} ({change_summary(result)}); image: {human_size(result.size)}",
        f"(paths {COUNT_RULE})",
    ]
    lines += [f"{label}: {value}" for label, value, _ in details(result)]
    return "\n".join(lines)


def commit_html(result) -> str:
    counts = " ".join(
        f'<span style="color:{KIND_COLOURS[kind]}"><b>{kind}</b>&nbsp;{result.counts.get(kind, 0):,}&nbsp;'
        f"{KIND_NAMES[kind]}</span>"
        for kind in KINDS
    )
    rows = [
        f"<div><b>Committed {escape(result.container)}</b> as "
        f"<code>{escape(', '.join(result.tags) or result.short_id)}</code> "
        f'<span style="color:#6b7280" title="{escape(result.image_id)}">{escape(result.short_id)}</span></div>',
        f"<div>new layer: <b>{escape(human_size(result.layer_size))}</b> &middot; {counts} &middot; "
        f"image: {escape(human_size(result.size))}</div>",
        f'<div style="color:#6b7280;font-size:12px">paths {escape(COUNT_RULE)}</div>',
    ]
    rows += [f"<div>{label}: <code>{escape(value)}</code></div>" if code else f"<div>{label}: {escape(value)}</div>"
             for label, value, code in details(result)]
    return '<div class="dockmagic-commit">' + "".join(rows) + "</div>"
