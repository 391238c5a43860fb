"""Tables: containers and images as the docker CLI lists them (plain text columns) and as an HTML table
in a notebook. Every cell is untrusted text (names, commands) and is escaped, never rendered as HTML."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from .display import TextAndHtml, escape

COLUMN_GAP = "   "  # the CLI's tabwriter padding
MIN_COLUMN_WIDTH = 10


@dataclass
class Table(TextAndHtml):
    """Rows of strings under ``columns``; ``records`` keeps the engine's data behind each row (a list of
    dicts) for code that wants more than the text."""

    columns: list[str]
    rows: list[list[str]]
    records: list[dict] = field(default_factory=list, repr=False)
    empty: str = "(none)"

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[str]:
        """The values of one column, e.g. ``table.column("NAMES")``."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def _text(self) -> str:
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
        # As the CLI's tabwriter: 3 spaces of padding, each column at least 10 characters wide.
        widths = [max(width + len(COLUMN_GAP), MIN_COLUMN_WIDTH) for width in widths]

        def line(cells):
            padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths[:-1])] + [cells[-1]]
            return "".join(padded).rstrip()

        return "\n".join([line(self.columns)] + [line(row) for row in self.rows])

    def _html(self) -> str:
        head = "".join(f"<th style='text-align:left'>{escape(c)}</th>" for c in self.columns)
        if self.rows:
            body = "".join(
                "<tr>" + "".join(f"<td style='text-align:left'><code>{escape(cell)}</code></td>"
                                 for cell in row) + "</tr>"
                for row in self.rows
            )
        else:
            body = f"<tr><td colspan='{len(self.columns)}'><i>{escape(self.empty)}</i></td></tr>"
        return f"<table class='dockmagic-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def human_duration(seconds: float) -> str:
    """How the docker CLI says a duration (go-units ``HumanDuration``): "About a minute", "3 hours"."""
    seconds = int(seconds)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{seconds // 3600 // 24 // 365} years"


def human_size(size: float) -> str:
    """Bytes as the docker CLI prints them (decimal units, 3 significant digits): "1.99MB", "117MB"."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{size}B"  # pragma: no cover - unreachable


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _ago(timestamp: float, now: float) -> str:
    return human_duration(max(0.0, now - timestamp)) + " ago"


def _ports(ports) -> str:
    shown = []
    for port in ports or ():
        private = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        if port.get("PublicPort"):
            shown.append(f"{port.get('IP', '0.0.0.0')}:{port['PublicPort']}->{private}")
        else:
            shown.append(private)
    return ", ".join(sorted(set(shown)))


def containers_table(containers: list[dict], now: float | None = None) -> Table:
    """``docker ps`` columns from the engine's container list (``/containers/json``)."""
    now = time.time() if now is None else now
    rows = []
    for c in containers:
        command = json.dumps(ellipsis(c.get("Command", ""), 20), ensure_ascii=False)
        names = ",".join(n.lstrip("/") for n in c.get("Names") or ())
        rows.append([c.get("Id", "")[:12], c.get("Image", ""), command, _ago(c.get("Created", now), now),
                     c.get("Status", ""), _ports(c.get("Ports")), names])
    return Table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows,
                 records=list(containers), empty="No containers. Start one with %docker_start IMAGE.")


def images_table(images: list[dict], now: float | None = None) -> Table:
    """``docker images`` columns from the engine's image list (``/images/json``): one row per tag."""
    now = time.time() if now is None else now
    rows, records = [], []
    for image in sorted(images, key=lambda i: i.get("Created", 0), reverse=True):
        tags = [t for t in image.get("RepoTags") or () if t != "<none>:<none>"] or ["<none>:<none>"]
        for tag in tags:
            repository, _, name_tag = tag.rpartition(":")
            rows.append([repository, name_tag, image.get("Id", "").split(":")[-1][:12],
                         _ago(image.get("Created", now), now), human_size(image.get("Size", 0))])
            records.append(image)
    return Table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows, records=records,
                 empty="No images. Build one with %%dockerfile.")
