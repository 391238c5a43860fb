"""Tables: containers and images as the docker CLI lists them (plain text columns) and as an HTML table
in a notebook. Every cell is untrusted text (names, commands) and is escaped, never rendered as HTML."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ..parsing.image_names import familiar_image_name
from .display import TextAndHtml, escape
from .units import ellipsis, human_duration, human_size

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
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        # As the CLI's tabwriter: 3 spaces of padding, each column at least 10 characters wide.
        widths = [max(width + len(COLUMN_GAP), MIN_COLUMN_WIDTH) for width in widths]

        def line(cells):
            padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths[:-1], strict=True)] + [cells[-1]]
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
        rows.append([c.get("Id", "")[:12], familiar_image_name(c.get("Image", "")), command,
                     _ago(c.get("Created", now), now),
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
            # As the CLI shows them: Podman's docker.io/library/busybox is busybox.
            repository, _, name_tag = familiar_image_name(tag).rpartition(":")
            rows.append([repository, name_tag, image.get("Id", "").split(":")[-1][:12],
                         _ago(image.get("Created", now), now), human_size(image.get("Size", 0))])
            records.append(image)
    return Table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows, records=records,
                 empty="No images. Build one with %%dockerfile.")
