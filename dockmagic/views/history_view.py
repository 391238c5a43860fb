"""Text and static-HTML forms of an image's history: ``docker history``'s table, plus each layer's files.

The HTML uses ``<details>``/``<summary>``: each layer opens to the files it added, changed or deleted,
with no script, so it works the same live, in a saved notebook and in an nbconvert export. File names and
commands are untrusted: everything is escaped. A layer shows at most ``FILES_SHOWN`` of its files (in
path order) and says how many more there are; the rest are in ``layer.files``.
"""

from __future__ import annotations

import time

from ..models.diff_tree import KIND_NAMES, KINDS
from .commit_view import COUNT_RULE
from .display import KIND_COLOURS, escape
from .units import ellipsis, human_duration, human_size

FILES_SHOWN = 300          # per layer in the HTML
TEXT_FILES_SHOWN = 10      # per layer in the text form
CREATED_BY_WIDTH = 45      # as `docker history` truncates it


def age(created: int, now: float | None = None) -> str:
    if not created:
        return "N/A"
    return human_duration((now or time.time()) - created) + " ago"


def short_layer_id(layer_id: str) -> str:
    return layer_id if layer_id.startswith("<") else layer_id.split(":")[-1][:12]


def counts_text(layer) -> str:
    if layer.empty is not False:
        return ""
    counts = layer.counts
    return " ".join(f"{kind} {counts[kind]}" for kind in KINDS)


def history_text(history) -> str:
    """``docker history``'s table (truncated ids and commands, as the CLI prints it by default), with
    WASTED and FILES columns, then a few files of each layer."""
    header = ("IMAGE", "CREATED", "CREATED BY", "SIZE", "WASTED", "FILES", "COMMENT")
    rows = [header] + [
        (short_layer_id(layer.id), age(layer.created, history.now), ellipsis(layer.created_by, CREATED_BY_WIDTH),
         human_size(layer.size), human_size(layer.wasted_bytes) if history.files_read else "?",
         counts_text(layer), layer.comment.replace("\n", " "))
        for layer in history.layers
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = ["   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "   " + row[-1]
             for row in rows]
    lines = [line.rstrip() for line in lines]
    if history.files_note:
        lines += ["", history.files_note]
    if history.files_read:
        lines.append("")
        lines.append(f"{human_size(history.wasted_bytes)} wasted: bytes of files that a later layer "
                     "overwrites or deletes.")
        lines.append(f"FILES: paths added, changed and deleted, {COUNT_RULE}; entries a layer holds that "
                     "change nothing are left out (counted as unchanged).")
        for number, layer in enumerate(history.layers):
            if layer.empty or not layer.files:
                continue
            lines.append("")
            lines.append(layer_text(layer, f"layer {len(history.layers) - number}"))
    lines += efficiency_text(history)
    return "\n".join(lines)


def layer_text(layer, where: str = "") -> str:
    """A layer's line and its first files (in path order); ``layer.files`` has them all."""
    label = f"{short_layer_id(layer.id)} ({where})" if where else short_layer_id(layer.id)
    what = "files not read" if layer.empty is None else (counts_text(layer) or "no file changes")
    if getattr(layer, "unchanged", 0):
        what += f", {layer.unchanged:,} unchanged"
    lines = [f"{label}: {ellipsis(layer.created_by, 60)}  [{what}]"]
    files = sorted(layer.files, key=_path_of)
    for change in files[:TEXT_FILES_SHOWN]:
        size = f" ({human_size(change.size)})" if change.size else ""
        lines.append(f"  {change.kind} {change.path}{size}")
    if len(files) > TEXT_FILES_SHOWN:
        lines.append(f"  … {len(files) - TEXT_FILES_SHOWN:,} more (layer.files lists them all)")
    return "\n".join(lines)


def _path_of(change) -> str:
    return change.path


def _badge(kind: str) -> str:
    return (f'<span title="{KIND_NAMES[kind]}" style="display:inline-block;width:1.4em;text-align:center;'
            f'border-radius:3px;color:#fff;font-weight:600;background:{KIND_COLOURS[kind]}">{kind}</span>')


def history_html(history) -> str:
    """The layers as ``<details>`` rows that open to their files; no script needed."""
    wasted = history.wasted_bytes
    header = (
        f"<div><b>docker history {escape(history.image)}</b> "
        f'<span style="color:#6b7280">{escape(short_layer_id(history.image_id))}</span>: '
        f"{len(history.layers)} layers, {escape(human_size(history.size))}"
        + (f' &middot; <span style="color:{KIND_COLOURS["D"] if wasted else "#6b7280"}">'
           f"{escape(human_size(wasted))} wasted</span> "
           '<span style="color:#6b7280">(files a later layer overwrites or deletes)</span>'
           if history.files_read else "")
        + "</div>"
        + (f'<div style="color:#6b7280;font-size:12px">A C D: paths added, changed and deleted, '
           f"{escape(COUNT_RULE)}; entries that change nothing count as unchanged.</div>"
           if history.files_read else "")
        + (f'<div style="color:#6b7280">{escape(history.files_note)}</div>' if history.files_note else "")
    )
    rows = [layer_html(layer, history.now, history.files_read, f"history.layers[{number}].files")
            for number, layer in enumerate(history.layers)]
    return (f'<div class="dockmagic-history" style="font-size:13px">{header}'
            f'<div style="margin-top:4px">{"".join(rows)}</div>{efficiency_html(history)}</div>')


def layer_html(layer, now: float | None = None, files_read: bool = True, files_name: str = "layer.files") -> str:
    """A layer as a ``<details>`` row that opens to its files (a plain row when it has none)."""
    cells = (
        f'<code style="color:#6b7280">{escape(short_layer_id(layer.id))}</code> '
        f'<span style="color:#6b7280">{escape(age(layer.created, now))}</span> '
        f'<code title="{escape(layer.created_by)}">{escape(ellipsis(layer.created_by, 100))}</code> '
        f"<b>{escape(human_size(layer.size))}</b>"
    )
    if layer.wasted_bytes:
        cells += f' <span style="color:{KIND_COLOURS["D"]}">{escape(human_size(layer.wasted_bytes))} wasted</span>'
    if layer.comment:
        cells += f' <i style="color:#6b7280">{escape(layer.comment)}</i>'
    row_style = "padding:2px 0;border-top:1px solid #eef0f3"
    if layer.empty or not layer.files:
        note = "" if not files_read else ' <span style="color:#9ca3af">(no file changes)</span>'
        return f'<div style="{row_style};padding-left:1.1em">{cells}{note}</div>'
    counts = layer.counts
    summary_counts = " ".join(
        f'<span style="color:{KIND_COLOURS[kind]}">{kind}&nbsp;{counts[kind]:,}</span>' for kind in KINDS)
    if getattr(layer, "unchanged", 0):
        summary_counts += f' <span style="color:#6b7280">{layer.unchanged:,}&nbsp;unchanged</span>'
    files = sorted(layer.files, key=_path_of)
    items = []
    for change in files[:FILES_SHOWN]:
        size = f' <span style="color:#6b7280">{escape(human_size(change.size))}</span>' if change.size else ""
        items.append(f"<li>{_badge(change.kind)} {escape(change.path)}{size}</li>")
    if len(files) > FILES_SHOWN:
        items.append(f'<li style="color:#6b7280">… {len(files) - FILES_SHOWN:,} more files '
                     f"({escape(files_name)} lists them all)</li>")
    return (
        f'<details style="{row_style}"><summary style="cursor:pointer">{cells} {summary_counts} '
        f'<span style="color:#6b7280">adds {escape(human_size(layer.added_bytes))}</span></summary>'
        f'<ul style="list-style:none;padding-left:1.5em;margin:2px 0;font-family:monospace;font-size:12px">'
        f'{"".join(items)}</ul></details>'
    )


# -- where the space goes: dive's efficiency and wasted files ------------------------------------------

WASTED_SHOWN = 50  # wasted files listed in the text and HTML forms; history.wasted_files has them all


def _layer_label(history, number: int) -> str:
    return f"layer {number}: {ellipsis(history.layer_number(number).created_by, 40)}"


def efficiency_text(history) -> list[str]:
    """Lines with dive's efficiency score and the largest wasted files (nothing when files were not read)."""
    if getattr(history, "efficiency", None) is None:
        return []
    lines = ["", f"Efficiency {history.efficiency:.2%} (as dive scores it); "
                 f"{len(history.wasted_files):,} wasted files:"]
    if history.wasted_files:
        rows = [("BYTES", "FILE", "WRITTEN BY", "REMOVED OR OVERWRITTEN BY")] + [
            (human_size(item.size), item.path, _layer_label(history, item.written_by),
             _layer_label(history, item.removed_by))
            for item in history.wasted_files[:WASTED_SHOWN]]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        lines += ["   ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
                  + "   " + row[3] for row in rows]
        if len(history.wasted_files) > WASTED_SHOWN:
            lines.append(f"… {len(history.wasted_files) - WASTED_SHOWN:,} more (history.wasted_files)")
    return lines


def efficiency_html(history) -> str:
    """dive's score and the largest wasted files as a table; every cell escaped."""
    if getattr(history, "efficiency", None) is None:
        return ""
    rows = "".join(
        f"<tr><td>{escape(human_size(item.size))}</td><td><code>{escape(item.path)}</code></td>"
        f"<td>{escape(_layer_label(history, item.written_by))}</td>"
        f"<td>{escape(_layer_label(history, item.removed_by))}</td></tr>"
        for item in history.wasted_files[:WASTED_SHOWN])
    more = (f'<div style="color:#6b7280">… {len(history.wasted_files) - WASTED_SHOWN:,} more in '
            "history.wasted_files</div>" if len(history.wasted_files) > WASTED_SHOWN else "")
    table = ("<table class='dockmagic-table'><thead><tr><th>bytes</th><th>file</th><th>written by</th>"
             f"<th>removed or overwritten by</th></tr></thead><tbody>{rows}</tbody></table>" if rows else "")
    return (f'<div class="dockmagic-efficiency" style="margin-top:6px"><b>Efficiency '
            f"{history.efficiency:.2%}</b> (as dive scores it) &middot; {len(history.wasted_files):,} wasted files"
            f"{table}{more}</div>")
