"""The text and HTML forms of a commit's result (:class:`dockmagic.operations.commit.CommitResult`)."""

from __future__ import annotations

from ..models.diff_tree import KIND_NAMES, KINDS
from .display import KIND_COLOURS, escape
from .units import human_size


def change_summary(result) -> str:
    """"3 added, 1 changed, 0 deleted": the paths of the new layer, by kind."""
    return ", ".join(f"{result.counts.get(kind, 0):,} {KIND_NAMES[kind]}" for kind in KINDS)


def commit_text(result) -> str:
    lines = [
        f"Committed {result.container} as {', '.join(result.tags) or result.short_id}",
        result.image_id,
        f"new layer: {human_size(result.layer_size)} ({change_summary(result)}); image: {human_size(result.size)}",
    ]
    lines += [f"applied: {change}" for change in result.changes]
    if result.message:
        lines.append(f"message: {result.message}")
    if result.author:
        lines.append(f"author: {result.author}")
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
    ]
    rows += [f"<div>applied: <code>{escape(change)}</code></div>" for change in result.changes]
    if result.message:
        rows.append(f"<div>message: {escape(result.message)}</div>")
    if result.author:
        rows.append(f"<div>author: {escape(result.author)}</div>")
    return '<div class="dockmagic-commit">' + "".join(rows) + "</div>"
