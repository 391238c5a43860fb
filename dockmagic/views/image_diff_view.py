"""The views of an image diff: container-diff's text tables, an HTML snapshot, and a widget (the diff tree
with bytes, above the packages table).

The tree is the container diff's widget (:class:`~dockmagic.views.diff_view.DiffTreeWidget`), fed by a
small adapter that names the two images where it names a container: it sends the first level only and
the rest on click, so a diff of 100,000 paths starts small. Names and versions are untrusted text:
escaped in HTML, textContent in the widget.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets

from ..models.diff_tree import DiffTree
from .diff_view import DiffTreeWidget, diff_html
from .display import escape, widget_bundle
from .tables import Table
from .units import human_size

SECTION_NAMES = {"dpkg": "Apt", "pip": "Pip", "conda": "Conda"}
TEXT_ROWS = 1000  # rows per table in the widget's text/plain fallback (str() has them all)


@dataclass
class _TreeSource:
    """What the diff tree's widget and snapshot read, for two images instead of a container."""

    container: str
    container_id: str
    image: str
    tree: DiffTree
    changes: list
    seconds: float
    engine: str


def tree_source(diff) -> _TreeSource:
    return _TreeSource(container=f"{diff.image_a} {diff.image_b}", container_id=diff.id_b.split(":")[-1],
                       image=f"{diff.image_a} → {diff.image_b}", tree=diff.tree, changes=diff.changes,
                       seconds=diff.seconds, engine=diff.engine)


def _size(size) -> str:
    return human_size(size) if size is not None else "-"


def package_tables(diff, manager: str) -> list[tuple[str, Table]]:
    """The three tables of one package manager: only in A, only in B, version differences."""
    rows = [change for change in diff.packages if change.manager == manager]
    only_a = Table(["NAME", "VERSION", "SIZE"],
                   [[c.name, c.old_version or "", _size(c.size)] for c in rows if c.kind == "D"])
    only_b = Table(["NAME", "VERSION", "SIZE"],
                   [[c.name, c.new_version or "", _size(c.size)] for c in rows if c.kind == "A"])
    changed = Table(["PACKAGE", f"IMAGE1 ({diff.image_a})", f"IMAGE2 ({diff.image_b})", "SIZE"],
                    [[c.name, c.old_version or "", c.new_version or "", _size(c.size)] for c in rows if c.kind == "C"])
    return [(f"Packages found only in {diff.image_a}:", only_a), (f"Packages found only in {diff.image_b}:", only_b),
            ("Version differences:", changed)]


def file_tables(diff, limit: int | None = None) -> list[tuple[str, Table]]:
    def table(kind):
        changes = [change for change in diff.changes if change.kind == kind]
        shown = changes if limit is None else changes[:limit]
        rows = [[change.path, _size(change.size)] for change in shown]
        if len(shown) < len(changes):
            rows.append([f"… {len(changes) - len(shown):,} more (print the result for all of them)", ""])
        return Table(["FILE", "SIZE"], rows)

    return [(f"These entries have been added to {diff.image_a}:", table("A")),
            (f"These entries have been deleted from {diff.image_a}:", table("D")),
            (f"These entries have been changed between {diff.image_a} and {diff.image_b}:", table("C"))]


def image_diff_text(diff, limit: int | None = None) -> str:
    """container-diff's text: a section per package manager, then the files."""
    lines = [f"Comparing {diff.image_a} ({diff.id_a.split(':')[-1][:12]}) with {diff.image_b} "
             f"({diff.id_b.split(':')[-1][:12]}): {diff.shared_layers} shared layers not compared."]
    if diff.base_note:
        lines.append(diff.base_note)
    for manager, title in SECTION_NAMES.items():
        lines += ["", f"-----{title}-----", ""]
        for heading, table in package_tables(diff, manager):
            lines.append(f"{heading} None" if not table.rows else f"{heading}\n{table._text()}")
            lines.append("")
    lines += ["-----File-----", ""]
    for heading, table in file_tables(diff, limit):
        lines.append(f"{heading} None" if not table.rows else f"{heading}\n{table._text()}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def packages_html(diff) -> str:
    """The packages as HTML tables, every cell escaped."""
    parts = []
    for manager, title in SECTION_NAMES.items():
        tables = [(heading, table) for heading, table in package_tables(diff, manager) if table.rows]
        if not tables:
            continue
        parts.append(f"<h4 style='margin:6px 0 2px'>{escape(title)} packages ({escape(manager)})</h4>")
        parts += [f"<div>{escape(heading)}</div>{table._html()}" for heading, table in tables]
    if not parts:
        return "<div class='dockmagic-packages'><i>No package differences (dpkg, pip, conda).</i></div>"
    return "<div class='dockmagic-packages'>" + "".join(parts) + "</div>"


def image_diff_html(diff) -> str:
    """A static snapshot: which images, the first level of the file tree with bytes, the packages."""
    note = f"<div>{escape(diff.base_note)}</div>" if diff.base_note else ""
    return f"<div class='dockmagic-image-diff'>{note}{diff_html(tree_source(diff))}{packages_html(diff)}</div>"


def data_only(bundle):
    """A (data, metadata) bundle as its data when the metadata is empty: what ``display(raw=True)`` takes."""
    data, metadata = bundle
    return data if not metadata else bundle


class ImageDiffView:
    """The diff tree widget and the packages table, with the text tables and the snapshot beside them."""

    def __init__(self, diff):
        self.diff = diff
        children = []
        if diff.base_note:
            children.append(ipywidgets.HTML(f"<div>{escape(diff.base_note)}</div>"))
        children += [DiffTreeWidget(tree_source(diff)), ipywidgets.HTML(packages_html(diff))]
        self.widget = ipywidgets.VBox(children)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return data_only(widget_bundle(self.widget, image_diff_text(self.diff, TEXT_ROWS), image_diff_html(self.diff)))
