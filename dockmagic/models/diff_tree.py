"""The tree of a container's changes (``docker diff``), built one directory level at a time.

A diff can hold 100,000 changes; a view shows a few dozen at once. So the tree groups the changes of a
directory by their next path component only when that directory is first asked for (the root when the
tree is made), keeping for each child the changes below it, to group them in turn when it is opened.
Opening a directory costs time in proportion to the changes below it; the whole tree, if every
directory is opened, costs what building it eagerly would.

Pure: it knows (kind, path[, size]) tuples, nothing about engines or widgets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

KINDS = ("A", "C", "D")
KIND_NAMES = {"A": "added", "C": "changed", "D": "deleted"}

# Positions in a node list (lists, not objects: a level of 100,000 children is made in one tight loop).
_KIND, _ADDED, _CHANGED, _DELETED, _SIZE, _BELOW = range(6)
_COUNT_SLOT = {"A": _ADDED, "C": _CHANGED, "D": _DELETED}
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key putting numbers in numeric order: 1, 2, 10 (not 1, 10, 2), then by code point."""
    parts = _DIGITS.split(name)
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts)), name


@dataclass(frozen=True)
class TreeEntry:
    """One path of the tree: its own change (``kind``, None when only things below it changed), the
    changes at or below it by kind, and the bytes of added or changed files at or below it (None when
    sizes were not measured)."""

    name: str
    path: str
    kind: str | None
    added: int
    changed: int
    deleted: int
    has_children: bool
    size: int | None

    @property
    def total(self) -> int:
        return self.added + self.changed + self.deleted

    @property
    def below(self) -> int:
        """Changes strictly below this path."""
        return self.total - (1 if self.kind else 0)


class DiffTree:
    """The changes of a diff as a tree of paths, children ordered by name, numbers in numeric order.

    ``changes`` are tuples whose first two items are a kind ("A", "C" or "D") and an absolute path;
    ``sizes`` maps paths to bytes for the added or changed files that were measured.
    """

    def __init__(self, changes: Sequence[tuple], sizes: Mapping[str, int] | None = None):
        self._changes = changes
        self._sizes = sizes
        self._levels: dict[str, tuple[list[str], dict[str, list]]] = {}
        self._lowered: list[str] | None = None
        names, nodes = self._group("/", changes)
        self._levels["/"] = (names, nodes)
        self.counts = {
            "A": sum(node[_ADDED] for node in nodes.values()),
            "C": sum(node[_CHANGED] for node in nodes.values()),
            "D": sum(node[_DELETED] for node in nodes.values()),
        }
        self.size = sum(node[_SIZE] for node in nodes.values()) if sizes is not None else None

    @property
    def total(self) -> int:
        return self.counts["A"] + self.counts["C"] + self.counts["D"]

    @property
    def sizes(self) -> Mapping[str, int] | None:
        """Bytes of the measured added or changed files, by path (None when sizes were not measured)."""
        return self._sizes

    # -- levels ------------------------------------------------------------------------------------

    def _group(self, directory: str, changes: Iterable[tuple]) -> tuple[list[str], dict[str, list]]:
        prefix = "/" if directory == "/" else directory + "/"
        start = len(prefix)
        sizes = self._sizes
        nodes: dict[str, list] = {}
        for change in changes:
            kind = change[0]
            path = change[1]
            slash = path.find("/", start)
            if slash < 0:
                name = path[start:]
                node = nodes.get(name)
                if node is None:
                    node = nodes[name] = [kind, 0, 0, 0, 0, []]
                else:
                    node[_KIND] = kind
            else:
                name = path[start:slash]
                node = nodes.get(name)
                if node is None:
                    node = nodes[name] = [None, 0, 0, 0, 0, []]
                node[_BELOW].append(change)
            node[_COUNT_SLOT[kind]] += 1
            if sizes is not None and kind != "D":
                node[_SIZE] += sizes.get(path, 0)
        return sorted(nodes, key=natural_key), nodes

    def _level(self, directory: str) -> tuple[list[str], dict[str, list]] | None:
        level = self._levels.get(directory)
        if level is not None:
            return level
        parent, _, name = directory.rpartition("/")
        parent_level = self._level(parent or "/")
        if parent_level is None:
            return None
        node = parent_level[1].get(name)
        if node is None or not node[_BELOW]:
            return None
        level = self._group(directory, node[_BELOW])
        self._levels[directory] = level
        return level

    def _entry(self, directory: str, name: str, node: list) -> TreeEntry:
        path = "/" + name if directory == "/" else directory + "/" + name
        return TreeEntry(
            name=name, path=path, kind=node[_KIND], added=node[_ADDED], changed=node[_CHANGED],
            deleted=node[_DELETED], has_children=bool(node[_BELOW]),
            size=node[_SIZE] if self._sizes is not None else None,
        )

    # -- queries -----------------------------------------------------------------------------------

    def children(self, path: str = "/", offset: int = 0, limit: int | None = None,
                 kinds: Iterable[str] = KINDS, collapse: bool = False) -> tuple[list[TreeEntry], int]:
        """The children of ``path`` from ``offset`` (at most ``limit`` of them), and how many it has.

        With ``kinds``, only the children with a change of one of those kinds at or below them. With
        ``collapse``, a chain of folders each holding only the next one is one entry named by the chain
        (``usr/local/lib/python3.11/dist-packages``), with the deepest folder's path and kind and the
        counts of the whole chain."""
        kinds = tuple(kinds)
        entries, total = self._children(path, offset, limit, kinds)
        if collapse:
            entries = [self._collapsed(entry, kinds) for entry in entries]
        return entries, total

    def _collapsed(self, entry: TreeEntry, kinds: Iterable[str]) -> TreeEntry:
        top = entry
        while entry.has_children:
            only, count = self._children(entry.path, 0, 2, kinds)
            if count != 1 or not only[0].has_children:
                break
            entry = only[0]
        if entry is top:
            return top
        return replace(top, name=top.name + entry.path[len(top.path):], path=entry.path, kind=entry.kind,
                       has_children=True)

    def _children(self, path: str, offset: int, limit: int | None,
                  kinds: Iterable[str]) -> tuple[list[TreeEntry], int]:
        directory = normalize(path)
        level = self._level(directory)
        if level is None:
            return [], 0
        names, nodes = level
        slots = [_COUNT_SLOT[kind] for kind in KINDS if kind in set(kinds)]
        if len(slots) < len(KINDS):
            names = [name for name in names if any(nodes[name][slot] for slot in slots)]
        end = len(names) if limit is None else offset + limit
        return [self._entry(directory, name, nodes[name]) for name in names[offset:end]], len(names)

    def entry(self, path: str) -> TreeEntry | None:
        """The entry at ``path``, or None when nothing at or below it changed."""
        path = normalize(path)
        if path == "/":
            return None
        parent, _, name = path.rpartition("/")
        level = self._level(parent or "/")
        if level is None or name not in level[1]:
            return None
        return self._entry(parent or "/", name, level[1][name])

    def walk(self, path: str = "/") -> Iterator[TreeEntry]:
        """Every entry below ``path``, depth first, children in name order."""
        entries, _ = self.children(path)
        for entry in entries:
            yield entry
            if entry.has_children:
                yield from self.walk(entry.path)

    def search(self, text: str, kinds: Iterable[str] = KINDS, offset: int = 0,
               limit: int | None = 200) -> tuple[list[tuple], int]:
        """Changes whose path contains ``text`` (case-insensitive) and whose kind is in ``kinds``, in path
        order: at most ``limit`` of them from ``offset``, and how many match in all."""
        wanted = set(kinds)
        needle = text.lower()
        if self._lowered is None:
            self._lowered = [change[1].lower() for change in self._changes]
        changes = self._changes
        matches = [
            changes[index] for index, lowered in enumerate(self._lowered)
            if needle in lowered and changes[index][0] in wanted
        ]
        matches.sort(key=_natural_path)
        end = len(matches) if limit is None else offset + limit
        return matches[offset:end], len(matches)


def _natural_path(change: tuple) -> tuple:
    return natural_key(change[1])


def normalize(path: str) -> str:
    """``path`` as the tree names it: absolute, no trailing slash ("/" for the root)."""
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path
