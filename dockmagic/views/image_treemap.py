"""A picture of an image by size: a treemap of its folders, coloured by the layer that wrote most of each.

The widget (anywidget, static/image_treemap.js) gets the layers and the root's children only; a click on
a folder asks the kernel for that folder's children (a custom message, answered from the
:class:`~dockmagic.models.folder_sizes.FolderSizes` in memory), so what is first sent stays a few kB
whatever the image holds. The text form lists the largest folders. Names are untrusted: the widget
writes them as SVG text nodes, the HTML escapes them.
"""

from __future__ import annotations

import pathlib

import anywidget
import traitlets

from ..models.folder_sizes import Folder, FolderSizes
from .display import escape, widget_bundle
from .image_diff_view import data_only
from .units import ellipsis, human_size
from .widget_scripts import widget_script

STATIC = pathlib.Path(__file__).parent / "static"
CHILDREN_SENT = 200  # largest children of a folder per answer; the rest are summed into one block
TOP_FOLDERS = 20


def folder_sizes(history) -> FolderSizes:
    """The folders of an image whose history has its files, oldest layer first."""
    count = len(history.layers)
    return FolderSizes((count - index, layer.files) for index, layer in reversed(list(enumerate(history.layers))))


def compact(entry: Folder) -> list:
    """A block as the widget receives it: [name, bytes, layer number, 1 if it opens]."""
    return [entry.name, entry.size, entry.layer, 1 if entry.is_folder else 0]


def children_reply(sizes: FolderSizes, path: str) -> dict:
    entries, total = sizes.children(path, CHILDREN_SENT)
    rest = sum(entry.size for entry in sizes.children(path, 10**9)[0][CHILDREN_SENT:]) if total > CHILDREN_SENT else 0
    return {"path": path, "entries": [compact(entry) for entry in entries], "total": total, "rest": rest}


class ImageTreemapWidget(anywidget.AnyWidget):
    """Folders as nested rectangles sized by bytes; click one to zoom in, the breadcrumb to go back."""

    _esm = widget_script("image_treemap.js")
    _css = STATIC / "image_treemap.css"

    summary = traitlets.Dict().tag(sync=True)
    root = traitlets.Dict().tag(sync=True)

    def __init__(self, history, sizes: FolderSizes, **kwargs):
        layers = [[len(history.layers) - index, ellipsis(layer.created_by, 80)]
                  for index, layer in enumerate(history.layers) if layer.empty is False]
        summary = {"image": history.image, "size": sizes.size, "layers": layers,
                   "magic": f"%docker_history {history.image} --treemap"}
        super().__init__(summary=summary, root=children_reply(sizes, "/"), **kwargs)
        self._sizes = sizes
        self.on_msg(self._on_request)

    def answer(self, request) -> dict | None:
        if not isinstance(request, dict) or request.get("request") != "children":
            return None
        path = str(request.get("path") or "/")[:4096]
        return {"reply": "children", "id": request.get("id"), **children_reply(self._sizes, path)}

    def _on_request(self, widget, content, buffers) -> None:
        reply = self.answer(content)
        if reply is not None:
            self.send(reply)


class ImageTreemap:
    """The treemap widget, with the largest folders as text and HTML beside it."""

    def __init__(self, history):
        if not history.files_read:
            from ..errors import InvalidInput

            raise InvalidInput("The treemap needs the image's files: run %docker_history without --no-files.")
        self.history = history
        self.sizes = folder_sizes(history)
        self.widget = ImageTreemapWidget(history, self.sizes)

    def top_folders(self, count: int = TOP_FOLDERS) -> list[Folder]:
        return self.sizes.top_folders(count)

    def _text(self) -> str:
        lines = [f"{self.history.image}: {human_size(self.sizes.size)} in files; the largest folders:",
                 f"{'SIZE':>9}   {'LAYER':<7}FOLDER"]
        lines += [f"{human_size(entry.size):>9}   {entry.layer:<7}{entry.path}" for entry in self.top_folders()]
        return "\n".join(lines)

    def _html(self) -> str:
        rows = "".join(f"<tr><td>{escape(human_size(entry.size))}</td><td>{entry.layer}</td>"
                       f"<td><code>{escape(entry.path)}</code></td></tr>" for entry in self.top_folders())
        return (f"<div class='dockmagic-treemap-snapshot'><b>{escape(self.history.image)}</b>: "
                f"{escape(human_size(self.sizes.size))} in files; the largest folders"
                f"<table class='dockmagic-table'><thead><tr><th>size</th><th>layer</th><th>folder</th></tr>"
                f"</thead><tbody>{rows}</tbody></table></div>")

    def __str__(self) -> str:
        return self._text()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return data_only(widget_bundle(self.widget, self._text(), self._html()))
