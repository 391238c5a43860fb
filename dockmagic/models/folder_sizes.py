"""Where an image's bytes are: its folders by size, and which layer wrote them.

Built from the layers' file changes (oldest first), the way the engine stacks them: a file belongs to the
layer that wrote its last version; a deleted path takes everything below it away. Each folder then knows
its bytes in total and by layer, so a view can colour it by the layer that wrote most of it.

Pure: it knows (kind, path, size) changes by layer number, nothing about engines or widgets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Folder:
    """A child of a folder in the treemap: ``size`` in bytes, ``layer`` the layer number that wrote most
    of them, ``is_folder`` when it can be opened."""

    name: str
    path: str
    size: int
    layer: int
    is_folder: bool


class FolderSizes:
    """The merged files of an image as a tree, with sizes summed by layer at every folder."""

    def __init__(self, layers: Iterable[tuple[int, Iterable[tuple]]]):
        """``layers``: (layer number, changes) oldest first; a change is (kind, path, size)."""
        self._root: dict = {}
        for number, changes in layers:
            for change in changes:
                kind, path, size = change[0], change[1], change[2]
                parts = [part for part in path.split("/") if part]
                if not parts:
                    continue
                parent = self._root
                for part in parts[:-1]:
                    child = parent.get(part)
                    if not isinstance(child, dict):
                        child = parent[part] = {}
                    parent = child
                if kind == "D":
                    parent.pop(parts[-1], None)
                elif size is None:
                    if not isinstance(parent.get(parts[-1]), dict):
                        # A folder (or a link, or a device): a folder entry keeps what is below it.
                        parent[parts[-1]] = {} if _is_folder_change(change) else (number, 0)
                else:
                    parent[parts[-1]] = (number, size)
        self._totals: dict[int, tuple[int, dict[int, int]]] = {}
        self.size, self.by_layer = self._total(self._root)

    def _total(self, node) -> tuple[int, dict[int, int]]:
        """(bytes, bytes by layer) of a folder node, computed once (iteratively: deep trees are fine)."""
        stack = [(node, False)]
        while stack:
            current, ready = stack.pop()
            if id(current) in self._totals:
                continue
            folders = [child for child in current.values() if isinstance(child, dict)]
            if not ready and any(id(child) not in self._totals for child in folders):
                stack.append((current, True))
                stack.extend((child, False) for child in folders if id(child) not in self._totals)
                continue
            by_layer: dict[int, int] = {}
            for child in current.values():
                if isinstance(child, dict):
                    for layer, size in self._totals[id(child)][1].items():
                        by_layer[layer] = by_layer.get(layer, 0) + size
                else:
                    by_layer[child[0]] = by_layer.get(child[0], 0) + child[1]
            self._totals[id(current)] = (sum(by_layer.values()), by_layer)
        return self._totals[id(node)]

    def _node(self, path: str):
        node = self._root
        for part in [part for part in path.split("/") if part]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return None
        return node

    def children(self, path: str = "/", limit: int = 200) -> tuple[list[Folder], int]:
        """The children of folder ``path``, largest first (at most ``limit``), and how many there are."""
        node = self._node(path)
        if not isinstance(node, dict):
            return [], 0
        entries = []
        for name, child in node.items():
            child_path = ("" if path in ("", "/") else path.rstrip("/")) + "/" + name
            if isinstance(child, dict):
                size, by_layer = self._totals[id(child)]
                layer = max(by_layer, key=lambda key: (by_layer[key], key)) if by_layer else 0
                entries.append(Folder(name, child_path, size, layer, bool(child)))
            else:
                entries.append(Folder(name, child_path, child[1], child[0], False))
        entries.sort(key=lambda entry: (-entry.size, entry.name))
        return entries[:limit], len(entries)

    def top_folders(self, count: int = 20, depth: int = 2) -> list[Folder]:
        """The largest folders down to ``depth`` levels, largest first (the text form's list)."""
        found, level = [], ["/"]
        for _ in range(depth):
            next_level = []
            for path in level:
                entries, _ = self.children(path, limit=10**9)
                folders = [entry for entry in entries if entry.is_folder]
                found += folders
                next_level += [entry.path for entry in folders]
            level = next_level
        found.sort(key=lambda entry: (-entry.size, entry.path))
        return found[:count]


def _is_folder_change(change: tuple) -> bool:
    """History's changes carry no type: a path without a size that other changes go below is a folder;
    one with ``is_dir`` set (when given as a fourth item) says so itself."""
    return change[3] if len(change) > 3 else True
