"""An image's layers, newest first as ``docker history`` lists them, each with the files it holds.

The layers and their metadata come from the history API (``GET /images/{id}/history``), in its order,
which is the CLI's. The files come from ``docker save`` (``GET /images/{id}/get``), read as one tar
stream: each layer's own tar is read header by header as it passes (file contents are skipped, never
kept), and its entries are kept as (path, type, size). The save's manifest, which comes at the end of the
stream, then says which tar is which layer.

The layers are then applied oldest first to a tree of paths (metadata only), as the engine stacks them:
an entry is "A" when the path did not exist below, "C" when it differs from what it replaces, and a
whiteout (``.wh.NAME``) or an opaque directory (``.wh..wh..opq``) is "D" for what it hides. These are the
changes ``docker diff`` (and so ``%docker_commit``'s summary) lists for the container the layer was
committed from: a folder counts as changed when something in it changed; copies that change nothing
are counted apart (``unchanged``). A file that a later
layer overwrites or deletes still takes its bytes in its own layer: those bytes are that layer's
``wasted_bytes``.

Memory grows with the number of paths in the image (about 200 bytes each), not with their contents.
"""

from __future__ import annotations

import io
import json
import posixpath
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ..engine import Engine, connect
from ..errors import DockmagicError
from ..models.diff_tree import KINDS
from ..parsing.image_names import docker_image_id, familiar_image_name
from ..views.display import TextAndHtml
from .lookup import find_image
from .tar_stream import ChunkReader, layer_entry, member_path

# JSON files of a saved image (manifest, config, index) are small; larger non-tar files are skipped.
MAX_METADATA_BYTES = 16 * 1024 * 1024


class FileChange(NamedTuple):
    """A path a layer adds ("A"), replaces ("C") or deletes ("D"); ``size`` in bytes for regular files."""

    kind: str
    path: str
    size: int | None = None


@dataclass
class HistoryLayer:
    """One line of ``docker history``: ``id`` (an image id, or "<missing>" for layers that are not
    images of their own), ``created`` (Unix time), ``created_by``, ``size`` (bytes, as the CLI shows),
    ``comment``, ``tags``; and, from the saved image, ``files`` (what it adds, changes and deletes),
    ``added_bytes`` (bytes of the regular files in it) and ``wasted_bytes`` (bytes of its files that
    later layers overwrite or delete). ``empty`` layers (ENV, CMD, ...) change no files (None when the
    files were not read)."""

    id: str
    created: int
    created_by: str
    size: int
    comment: str
    tags: list[str]
    empty: bool | None = None
    files: list[FileChange] = field(default_factory=list, repr=False)
    added_bytes: int = 0
    wasted_bytes: int = 0
    unchanged: int = 0  # entries of its tar that change nothing (copies of what is below)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for change in self.files:
            counts[change.kind] += 1
        return counts

    @property
    def added(self) -> list[FileChange]:
        return [change for change in self.files if change.kind == "A"]

    @property
    def changed(self) -> list[FileChange]:
        return [change for change in self.files if change.kind == "C"]

    @property
    def deleted(self) -> list[FileChange]:
        return [change for change in self.files if change.kind == "D"]

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..views.history_view import layer_html, layer_text

        return {"text/plain": layer_text(self), "text/html": layer_html(self, files_read=self.empty is not None)}


class WastedFile(NamedTuple):
    """A file whose bytes a later layer hides: ``written_by`` and ``removed_by`` are layer numbers as
    the text form counts them (1 is the oldest; ``history.layer_number(n)`` gives the layer)."""

    path: str
    size: int
    written_by: int
    removed_by: int


@dataclass
class ImageHistory(TextAndHtml):
    """The layers of an image, newest first (``layers[0]`` is the top), as ``docker history`` orders them."""

    image: str
    image_id: str
    layers: list[HistoryLayer]
    files_read: bool = True
    files_note: str = ""  # why the files could not be read, when they could not
    seconds: float = 0.0
    engine: str = ""
    now: float = field(default_factory=time.time, repr=False)
    # dive's efficiency score (1.0: no byte stored twice) and the files behind the waste, largest first.
    efficiency: float | None = None
    wasted_files: list[WastedFile] = field(default_factory=list, repr=False)

    def layer_number(self, number: int) -> HistoryLayer:
        """The layer ``number`` as the text form counts them: 1 is the oldest."""
        return self.layers[len(self.layers) - number]

    def treemap(self):
        """The image's folders by size, coloured by the layer that wrote most of each (a widget)."""
        from ..views.image_treemap import ImageTreemap

        return ImageTreemap(self)

    @property
    def wasted_bytes(self) -> int:
        return sum(layer.wasted_bytes for layer in self.layers)

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)

    def _text(self) -> str:
        from ..views.history_view import history_text

        return history_text(self)

    def _html(self) -> str:
        from ..views.history_view import history_html

        return history_html(self)


def image_history(image: str, engine: Engine | None = None, files: bool = True) -> ImageHistory:
    """The layers of ``image`` (name or id), newest first; with ``files``, what each adds, changes,
    deletes and wastes (one ``docker save`` of the image, streamed). NotFound if there is no such image."""
    engine = engine or connect()
    started = time.perf_counter()
    found = find_image(engine, image)
    layers = [
        HistoryLayer(
            id=_full_id(entry.get("Id")), created=int(entry.get("Created") or 0),
            created_by=entry.get("CreatedBy") or "", size=int(entry.get("Size") or 0),
            comment=entry.get("Comment") or "",
            # Podman names no tags here: the image's own tags go to its own (top) layer, as Docker puts them.
            tags=list(entry.get("Tags") or
                      ([familiar_image_name(t) for t in found.get("RepoTags") or () if t != "<none>:<none>"]
                       if _full_id(entry.get("Id")) == found["Id"]
                       else [])),
        )
        for entry in engine.image_history(found["Id"])
    ]
    note, efficiency, wasted_files, saved = "", None, [], None
    if files:
        try:
            saved = read_saved_image(engine.save_image(found["Id"]))
            attach_files(layers, saved)
            efficiency, wasted_files = layers_efficiency(layers, saved)
        except (DockmagicError, tarfile.TarError) as error:
            # A save format this reader does not know: the layers are still worth showing.
            files, note = False, f"The files of the layers could not be read: {error}"
            for layer in layers:
                layer.empty, layer.files, layer.added_bytes, layer.wasted_bytes = None, [], 0, 0
    return ImageHistory(
        image=image, image_id=found["Id"], layers=layers, files_read=files, files_note=note,
        seconds=time.perf_counter() - started, engine=engine.describe(),
        efficiency=efficiency, wasted_files=wasted_files,
    )


def _full_id(layer_id: str | None) -> str:
    """A history entry's id as Docker writes it: "sha256:<hex>" (Podman writes the bare hex), or "<missing>"."""
    return docker_image_id(layer_id) if layer_id else "<missing>"


# -- reading a saved image ----------------------------------------------------------------------------


@dataclass
class LayerContents:
    """A layer's tar, headers only: entries as (absolute path, type, size, attributes) with type "d"
    (directory), "f" (regular file), "l" (symlink), "h" (hard link) or "o" (other), and the attributes
    the engine's diff compares; whiteouts; opaque directories."""

    entries: list[tuple] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)


@dataclass
class SavedImage:
    layers: dict[str, LayerContents]   # by the name of the tar in the save (".../layer.tar", "blobs/...")
    metadata: dict[str, bytes]         # small files: manifest.json, the config, index.json
    links: dict[str, str]              # a layer tar saved as a link to an identical one

    def layer(self, name: str) -> LayerContents:
        for _ in range(8):  # follow links between identical layers, never in circles
            if name in self.layers:
                return self.layers[name]
            if name not in self.links:
                break
            name = self.links[name]
        raise DockmagicError(f"The saved image has no layer {name!r}; the engine's save format is unexpected.")

    def json(self, name: str):
        try:
            return json.loads(self.metadata[name])
        except (KeyError, ValueError):
            raise DockmagicError(f"The saved image has no readable {name!r}.") from None


def read_saved_image(chunks: Iterator[bytes]) -> SavedImage:
    """Read ``docker save``'s stream once: the layer tars' headers and the small metadata files."""
    saved = SavedImage(layers={}, metadata={}, links={})
    with tarfile.open(fileobj=ChunkReader(chunks), mode="r|") as outer:
        for member in outer:
            name = member_path(member.name)
            if member.issym() or member.islnk():
                target = member.linkname if member.islnk() else posixpath.join(posixpath.dirname(name), member.linkname)
                saved.links[name] = member_path(posixpath.normpath(target))
                continue
            if not member.isreg():
                continue
            stream = outer.extractfile(member)
            head = stream.read(512)
            if head[257:262] == b"ustar":
                saved.layers[name] = read_layer(_Prefixed(head, stream), "r|")
            elif head[:2] == b"\x1f\x8b":
                saved.layers[name] = read_layer(_Prefixed(head, stream), "r|gz")
            elif head and not head.strip(b"\0"):
                saved.layers[name] = LayerContents()  # an empty layer: only the end-of-archive blocks
            elif member.size <= MAX_METADATA_BYTES:
                saved.metadata[name] = head + stream.read()
    return saved


def read_layer(stream, mode: str) -> LayerContents:
    contents = LayerContents()
    with tarfile.open(fileobj=stream, mode=mode) as layer:
        for member in layer:
            entry = layer_entry(member.name)
            if entry is None:
                continue
            what, path = entry
            if what != "path":
                (contents.opaque if what == "opaque" else contents.whiteouts).append(path)
                continue
            kind = ("d" if member.isdir() else "f" if member.isreg() else "l" if member.issym()
                    else "h" if member.islnk() else "o")
            # What the engine's diff compares (a folder's time aside): the same entry again is no change.
            # (Permission bits only: some writers add the type bits to the mode, others do not.)
            attributes = (kind, member.mode & 0o7777, member.uid, member.gid, member.size if kind == "f" else 0,
                          None if kind == "d" else int(member.mtime), member.linkname)
            contents.entries.append((path, kind, member.size if kind == "f" else 0, attributes))
    return contents


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read: gives them back, then the rest."""

    def __init__(self, head: bytes, rest):
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        if self._head:
            count = min(len(target), len(self._head))
            target[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(target))
        target[:len(data)] = data
        return len(data)


# -- stacking the layers ------------------------------------------------------------------------------


def attach_files(layers: list[HistoryLayer], saved: SavedImage) -> None:
    """Give each layer of ``layers`` (newest first, as the history API lists them) its files, added
    bytes and wasted bytes, from the saved image."""
    manifest = saved.json("manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise DockmagicError("The saved image's manifest.json lists no image.")
    config = saved.json(member_path(manifest[0]["Config"]))
    layer_names = [member_path(name) for name in manifest[0].get("Layers") or []]
    config_history = config.get("history") or []
    if len(config_history) != len(layers):
        raise DockmagicError(
            f"The image's config lists {len(config_history)} history entries but the engine's history "
            f"has {len(layers)}; cannot tell which files belong to which layer.")
    # The config's history is oldest first; its non-empty entries take the layers in order.
    with_files = []
    for position, entry in enumerate(config_history):
        if not entry.get("empty_layer"):
            with_files.append(layers[len(layers) - 1 - position])
    if len(with_files) != len(layer_names):
        raise DockmagicError(
            f"The image has {len(layer_names)} layers but {len(with_files)} history entries with files.")
    contents = [saved.layer(name) for name in layer_names]
    stacked, wasted = stack_layers(contents)
    for layer in layers:
        layer.empty = True
    for layer, (files, added_bytes, unchanged), wasted_bytes in zip(with_files, stacked, wasted, strict=True):
        layer.empty = False
        layer.files = files
        layer.unchanged = unchanged
        layer.added_bytes = added_bytes
        layer.wasted_bytes = wasted_bytes


def stack_layers(contents: list[LayerContents]) -> tuple[list[tuple[list[FileChange], int, int]], list[int]]:
    """Apply layers oldest first. For each: its changes, the bytes of its regular files and how many of
    its entries change nothing; and for each, the bytes of its files that later layers overwrite or
    delete.

    The changes are counted as the engine's container diff (``docker diff``, so ``%docker_commit``)
    counts them: an entry is "C" when it differs from the one below (type, mode, owner, size, time,
    link), and a folder when its own attributes differ or something below it changed. A layer's tar
    also holds copies that change nothing (a file opened for writing and left as it was, a folder whose
    files came and went): those are counted apart, as ``unchanged`` entries."""
    root: dict = {}
    folder_attributes: dict[str, tuple] = {}
    wasted = [0] * len(contents)
    stacked = []
    for index, layer in enumerate(contents):
        files: list[FileChange] = []
        # Whiteouts and opaque directories hide what the layers below hold, not this layer's own entries.
        for directory in layer.opaque:
            node = _lookup(root, directory)
            if isinstance(node, dict):
                for name in sorted(node):
                    _hide(node.pop(name), wasted)
                    files.append(FileChange("D", _join(directory, name)))
        for path in layer.whiteouts:
            directory, _, name = path.rpartition("/")
            parent = _lookup(root, directory or "/")
            if isinstance(parent, dict) and name in parent:
                _hide(parent.pop(name), wasted)
            files.append(FileChange("D", path))
        added_bytes = 0
        same_folders: list[str] = []  # folders whose own attributes are as below: changed if a child is
        unchanged = 0
        for path, kind, size, *rest in layer.entries:
            attributes = rest[0] if rest else None
            directory, _, name = path.rpartition("/")
            parent = _make_directory(root, directory, wasted)
            existing = parent.get(name)
            if kind == "d":
                if isinstance(existing, dict):
                    if attributes is not None and folder_attributes.get(path) == attributes:
                        same_folders.append(path)
                        continue
                    change = "C"
                else:
                    change = "A" if existing is None else "C"
                    if existing is not None:
                        _hide(existing, wasted)
                    parent[name] = {}
                folder_attributes[path] = attributes
            else:
                same = (isinstance(existing, tuple) and attributes is not None and existing[2] == attributes)
                change = "A" if existing is None else "C"
                if existing is not None:
                    _hide(existing, wasted)
                parent[name] = (index, size, attributes)
                if kind == "f":
                    added_bytes += size
                if same:
                    unchanged += 1
                    continue
            files.append(FileChange(change, path, size if kind == "f" else None))
        holding_changes = {ancestor for change in files for ancestor in _ancestors(change.path)}
        for path in same_folders:
            if path in holding_changes:
                files.append(FileChange("C", path))
            else:
                unchanged += 1
        stacked.append((files, added_bytes, unchanged))
    return stacked, wasted


def _ancestors(path: str) -> Iterator[str]:
    while True:
        path = path.rpartition("/")[0]
        if not path:
            return
        yield path


def _join(directory: str, name: str) -> str:
    return "/" + name if directory in ("", "/") else directory + "/" + name


def _lookup(root: dict, path: str):
    node = root
    for part in path.strip("/").split("/"):
        if not part:
            continue
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _make_directory(root: dict, path: str, wasted: list[int]) -> dict:
    node = root
    for part in path.strip("/").split("/"):
        if not part:
            continue
        child = node.get(part)
        if not isinstance(child, dict):
            if child is not None:
                _hide(child, wasted)  # a file replaced by a directory
            child = node[part] = {}
        node = child
    return node


def _hide(node, wasted: list[int]) -> None:
    """Count the bytes of a file, or of every file below a directory, as wasted in their own layers."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        else:
            owner, size = item[:2]  # a file: (layer index, size, attributes)
            wasted[owner] += size


# -- efficiency, as dive scores it ---------------------------------------------------------------------


def layers_efficiency(layers: list[HistoryLayer], saved: SavedImage) -> tuple[float, list[WastedFile]]:
    """dive's efficiency of an image whose ``layers`` already have their files (see :func:`attach_files`),
    and its wasted files, largest first, with the layers (numbered as the text form does) that wrote
    and that removed or overwrote each."""
    manifest = saved.json("manifest.json")
    contents = [saved.layer(member_path(name)) for name in manifest[0].get("Layers") or []]
    score, wasted = efficiency(contents)
    with_files = [number for number, layer in zip(range(len(layers), 0, -1), layers, strict=True)
                  if not layer.empty][::-1]  # layer numbers, oldest first, as the save lists the tars
    return score, [WastedFile(path, size, with_files[writer], with_files[remover])
                   for path, size, writer, remover in wasted]


def efficiency(contents: list[LayerContents]) -> tuple[float, list[tuple[str, int, int, int]]]:
    """dive's score over layers oldest first (wagoodman/dive, filetree/efficiency.go): each path's
    smallest size over the layers that hold it, summed, divided by all its sizes summed (a whiteout of a
    directory weighs what it hides, of a file 0); 1.0 for an image with no bytes. And the wasted files:
    (path, bytes, index of the layer that wrote it, index of the layer that removed or overwrote it),
    largest first."""
    cumulative: dict[str, int] = {}
    smallest: dict[str, int] = {}
    files: dict[str, tuple[int, int]] = {}      # the stacked image's regular files: path -> (layer, size)
    children: dict[str, set[str]] = {}
    wasted: list[tuple[str, int, int, int]] = []

    def seen(path: str, size: int) -> None:
        cumulative[path] = cumulative.get(path, 0) + size
        smallest[path] = min(smallest.get(path, size), size)

    def remove(path: str, by: int) -> int:
        """Hide ``path`` and everything below it; the bytes hidden."""
        hidden, stack = 0, [path]
        while stack:
            item = stack.pop()
            if item in files:
                owner, size = files.pop(item)
                hidden += size
                if size:
                    wasted.append((item, size, owner, by))
            stack.extend(_join(item, name) for name in children.pop(item, ()))
        directory, _, name = path.rpartition("/")
        children.get(directory or "/", set()).discard(name)
        return hidden

    for index, layer in enumerate(contents):
        for directory in layer.opaque:
            for name in list(children.get(directory, ())):
                seen(_join(directory, name), remove(_join(directory, name), index))
        for path in layer.whiteouts:
            was_directory = path in children
            hidden = remove(path, index)
            seen(path, hidden if was_directory else 0)
        for path, kind, size, *_ in layer.entries:  # entries carry attributes too (the counting rule)
            if kind == "d":
                if path in files:
                    remove(path, index)
            else:
                if path in files or path in children:
                    remove(path, index)
                files[path] = (index, size if kind == "f" else 0)
                seen(path, size if kind == "f" else 0)
            directory, _, name = path.rpartition("/")
            children.setdefault(directory or "/", set()).add(name)
    total = sum(cumulative.values())
    score = 1.0 if total == 0 else sum(smallest.values()) / total
    wasted.sort(key=lambda item: (-item[1], item[0]))
    return score, wasted
