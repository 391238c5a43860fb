"""Comparing two images, as container-diff did: the files added, changed and deleted, and the packages.

Each image is a stack of layers (its config's ``RootFS.Layers``, diff ids). Its files are what the stack
gives once every layer is applied in order, whiteouts hiding what is below. The two images' merged file
trees are compared path by path: only metadata is kept (type, size, mode, owner, link target, and a
regular file's SHA-1), one tuple a path, never a file's contents; a path counts as changed when any of
these differ (as container-diff compared contents, not times: a file rewritten unchanged is no change).

Reading: ``docker save`` of an image streams its layer tars; each is walked entry by entry
(:mod:`.tar_walk`: one buffer for the save's tar and the layer tars in it; contents hashed as they pass,
never kept), except the few small files that say which packages are installed (dpkg's status, pip's
dist-info METADATA and RECORD, conda-meta), kept whole. When one image's layers are a prefix of the
other's (``--base``, or a child against its parent), the longer image's save holds both: one save is
read. Otherwise one save of both images is read: the engine puts the layers they share in it once.

Packages: the package records of each merged tree, parsed by :mod:`dockmagic.parsing.packages`; a
package is "A" when only the second image has it, "D" when only the first, "C" when its version differs.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from ..engine import Engine, connect
from ..errors import DockmagicError, InvalidInput, NotFound
from ..models.diff_tree import KINDS, DiffTree
from ..parsing.image_names import familiar_image_name
from ..parsing.packages import MANAGERS, Package, is_package_record, packages_from_records
from ..views.display import TextAndHtml
from .history import MAX_METADATA_BYTES, SavedImage
from .lookup import find_image
from .tar_stream import ENGINE_MOUNT_POINTS, layer_entry, member_path
from .tar_walk import BLOCK, ChunkBuffer, Gunzipped, Prefixed, walk

# A package record larger than this is not kept (a dpkg status of 3,000 packages is about 3 MB).
MAX_RECORD_BYTES = 16 * 1024 * 1024


class FileChange(NamedTuple):
    """A path the second image adds ("A"), changes ("C") or deletes ("D") against the first; ``size``:
    bytes of the regular file (the new one for A and C, the old one for D), None for other paths."""

    kind: str
    path: str
    size: int | None


class PackageChange(NamedTuple):
    """A package the second image adds ("A"), changes the version of ("C") or removes ("D"); ``size``:
    installed bytes (the new package's for A and C, the old one's for D), None when not recorded."""

    manager: str
    name: str
    kind: str
    old_version: str | None
    new_version: str | None
    size: int | None


@dataclass
class ImageDiff(TextAndHtml):
    """What image ``image_b`` adds, changes and deletes against ``image_a``: ``.changes`` (kind, path,
    size), ``.packages`` (manager, name, kind, old_version, new_version, size); ``str()`` is the text
    tables container-diff printed. ``base_note`` says which image ``--base`` chose."""

    image_a: str
    image_b: str
    id_a: str
    id_b: str
    changes: list[FileChange]
    packages: list[PackageChange]
    shared_layers: int = 0
    base_note: str = ""
    seconds: float = 0.0
    engine: str = ""

    @cached_property
    def tree(self) -> DiffTree:
        return DiffTree(self.changes, {change.path: change.size for change in self.changes
                                       if change.kind != "D" and change.size is not None})

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.tree.counts)

    def _text(self) -> str:
        from ..views.image_diff_view import image_diff_text

        return image_diff_text(self)

    def _html(self) -> str:
        from ..views.image_diff_view import image_diff_html

        return image_diff_html(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..views.image_diff_view import ImageDiffView

        return ImageDiffView(self)._repr_mimebundle_(include, exclude)


# -- reading layers -----------------------------------------------------------------------------------


@dataclass
class LayerFiles:
    """A layer's tar without file contents: ``entries`` as (path, metadata) with metadata (type, size,
    mode, uid, gid, link, sha1 of a regular file's contents); whiteouts; opaque directories; the
    contents of its package records."""

    entries: list[tuple[str, tuple]] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    records: dict[str, bytes] = field(default_factory=dict)


class SavedLayers(SavedImage):
    """A save read for comparing: its ``layers`` are :class:`LayerFiles`."""

    def layer_names(self, image_id: str) -> list[str]:
        """The layer tars of the saved image ``image_id``, oldest first (from its manifest)."""
        manifest = self.json("manifest.json")
        for item in manifest if isinstance(manifest, list) else ():
            config = member_path(item.get("Config") or "")
            if image_id.split(":")[-1] in config or len(manifest) == 1:
                return [member_path(name) for name in item.get("Layers") or []]
        raise DockmagicError(f"The save's manifest does not list image {image_id[:19]}.")


def read_save(chunks) -> SavedLayers:
    """Read one ``docker save`` stream: layer tars entry by entry (regular files hashed, package records
    kept whole) and the small metadata files."""
    saved = SavedLayers(layers={}, metadata={}, links={})
    for member in walk(ChunkBuffer(chunks)):
        name = member_path(member.name)
        if member.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
            target = (member.linkname if member.type == tarfile.LNKTYPE
                      else posixpath.join(posixpath.dirname(name), member.linkname))
            saved.links[name] = member_path(posixpath.normpath(target))
            continue
        if not member.isreg():
            continue
        head = member.read(BLOCK)
        if head[257:262] == b"ustar":
            saved.layers[name] = _read_layer(Prefixed(head, member))
        elif head[:2] == b"\x1f\x8b":
            saved.layers[name] = _read_layer(Gunzipped(Prefixed(head, member)))
        elif head and not head.strip(b"\0"):
            saved.layers[name] = LayerFiles()
        elif member.size <= MAX_METADATA_BYTES:
            saved.metadata[name] = head + member.read()
    return saved


_TYPES = {tarfile.DIRTYPE: "d", tarfile.SYMTYPE: "l", tarfile.LNKTYPE: "h"}


def _read_layer(source) -> LayerFiles:
    layer = LayerFiles()
    for member in walk(source):
        entry = layer_entry(member.name)
        if entry is None:
            continue
        what, path = entry
        if what != "path":
            (layer.opaque if what == "opaque" else layer.whiteouts).append(path)
            continue
        kind = "f" if member.isreg() else _TYPES.get(member.type, "o")
        if kind == "f" and member.size == 0 and path in ENGINE_MOUNT_POINTS:
            continue  # Podman commits the empty files it mounts over; Docker's layers leave them out
        digest = ""
        if kind == "f":
            # The bytes pass by anyway (a stream cannot seek): hashing them costs little, and tells a
            # file rewritten with the same contents (only its mtime moved) from a changed one.
            if member.size <= MAX_RECORD_BYTES and is_package_record(path):
                data = member.read()
                layer.records[path] = data
                digest = hashlib.sha1(data).hexdigest()
            else:
                hasher = hashlib.sha1()
                member.feed(member.size, hasher.update)
                digest = hasher.hexdigest()
        layer.entries.append((path, (kind, member.size if kind == "f" else 0, member.mode & 0o7777, member.uid,
                                     member.gid, member.linkname, digest)))
    return layer


# -- merging layers -----------------------------------------------------------------------------------


@dataclass
class MergedFiles:
    """An image's files once its layers are applied: path -> metadata, and its package records."""

    files: dict[str, tuple] = field(default_factory=dict)
    records: dict[str, bytes] = field(default_factory=dict)
    _children: dict[str, set] = field(default_factory=dict, repr=False)

    def apply(self, layer: LayerFiles) -> None:
        for directory in layer.opaque:
            for name in list(self._children.get(directory, ())):
                self._remove(_join(directory, name))
        for path in layer.whiteouts:
            self._remove(path)
        for path, metadata in layer.entries:
            existing = self.files.get(path)
            if existing is not None and existing[0] == "d" and metadata[0] != "d":
                self._remove(path)
            self.files[path] = metadata
            self.records.pop(path, None)
            directory, _, name = path.rpartition("/")
            self._children.setdefault(directory or "/", set()).add(name)
        self.records.update(layer.records)

    def _remove(self, path: str) -> None:
        stack = [path]
        while stack:
            item = stack.pop()
            self.files.pop(item, None)
            self.records.pop(item, None)
            for name in self._children.pop(item, ()):
                stack.append(_join(item, name))
        directory, _, name = path.rpartition("/")
        self._children.get(directory or "/", set()).discard(name)


def _join(directory: str, name: str) -> str:
    return "/" + name if directory in ("", "/") else directory + "/" + name


def merge(layers: list[LayerFiles]) -> MergedFiles:
    merged = MergedFiles()
    for layer in layers:
        merged.apply(layer)
    return merged


# -- comparing ----------------------------------------------------------------------------------------


def compare_files(old: dict[str, tuple], new: dict[str, tuple]) -> list[FileChange]:
    """The paths ``new`` adds, changes and deletes against ``old``, sorted by path (metadata as
    :class:`LayerFiles` holds it; no times, so a folder is not changed by a file written in it)."""
    changes = []
    for path, metadata in new.items():
        before = old.get(path)
        if before is None:
            changes.append(FileChange("A", path, metadata[1] if metadata[0] == "f" else None))
        elif before != metadata:
            changes.append(FileChange("C", path, metadata[1] if metadata[0] == "f" else None))
    for path, metadata in old.items():
        if path not in new:
            changes.append(FileChange("D", path, metadata[1] if metadata[0] == "f" else None))
    changes.sort(key=lambda change: change.path)
    return changes


def compare_packages(old: dict[tuple[str, str], Package], new: dict[tuple[str, str], Package]) -> list[PackageChange]:
    """The packages ``new`` adds, removes and changes the version of, by manager then name."""
    changes = []
    for key in sorted(set(old) | set(new), key=lambda key: (MANAGERS.index(key[0]), key[1])):
        before, after = old.get(key), new.get(key)
        if before is None:
            changes.append(PackageChange(after.manager, after.name, "A", None, after.version, after.size))
        elif after is None:
            changes.append(PackageChange(before.manager, before.name, "D", before.version, None, before.size))
        elif before.version != after.version:
            changes.append(PackageChange(after.manager, after.name, "C", before.version, after.version, after.size))
    return changes


def _packages(records: dict[str, bytes]) -> dict[tuple[str, str], Package]:
    return packages_from_records(records)


# -- the operation ------------------------------------------------------------------------------------


def image_layers(image: dict) -> list[str]:
    """An inspected image's layer diff ids, oldest first."""
    return list((image.get("RootFS") or {}).get("Layers") or [])


def find_base_image(engine: Engine, image: dict) -> tuple[dict | None, str]:
    """The local image the given one was built FROM: the one whose layers are the longest proper prefix
    of its layers (the most recent when several share it). Also a sentence saying what was chosen."""
    layers = image_layers(image)
    best, best_length = None, 0
    for summary in engine.list_images():
        if summary.get("Id") == image["Id"]:
            continue
        try:
            candidate = engine.inspect_image(summary["Id"])
        except NotFound:
            continue  # removed meanwhile
        theirs = image_layers(candidate)
        if 0 < len(theirs) < len(layers) and layers[:len(theirs)] == theirs:
            if len(theirs) > best_length or (len(theirs) == best_length and best is not None and
                                             _has_tags(candidate) and not _has_tags(best)):
                best, best_length = candidate, len(theirs)
    if best is None:
        return None, (f"No local image has layers that {image_name(image)} starts with: its base image is not "
                      "on this engine (see %docker_history for the layers it was built on).")
    above = len(layers) - best_length
    return best, (f"Base: {image_name(best)}, the local image whose {_layers(best_length)} "
                  f"{image_name(image)} starts with ({_layers(above)} more above them).")


def _layers(count: int) -> str:
    return f"{count} layer" if count == 1 else f"{count} layers"


def _has_tags(image: dict) -> bool:
    return any(tag != "<none>:<none>" for tag in image.get("RepoTags") or ())


def image_name(image: dict) -> str:
    tags = [tag for tag in image.get("RepoTags") or () if tag != "<none>:<none>"]
    return familiar_image_name(tags[0]) if tags else image["Id"].split(":")[-1][:12]


def image_diff(image_a: str, image_b: str | None = None, *, base: bool = False,
               engine: Engine | None = None) -> ImageDiff:
    """What ``image_b`` adds, changes and deletes against ``image_a``: files and packages.

    With ``base=True`` (and no ``image_b``), compares ``image_a`` with the local image it was built on
    (see :func:`find_base_image`).

    Raises:
        NotFound: an image is not on the engine, or (``base``) no local image is its base.
        InvalidInput: neither or both of ``image_b`` and ``base``.
    """
    engine = engine or connect()
    started = time.perf_counter()
    if base == (image_b is not None):
        raise InvalidInput("Give two images to compare, or one image and --base (its base image).")
    note = ""
    if base:
        new = find_image(engine, image_a)
        old, note = find_base_image(engine, new)
        if old is None:
            raise NotFound(note)
        name_a, name_b = image_name(old), image_a
    else:
        old, new = find_image(engine, image_a), find_image(engine, image_b)
        name_a, name_b = image_a, image_b
    old_layers, new_layers = image_layers(old), image_layers(new)
    shared = 0
    for a, b in zip(old_layers, new_layers, strict=False):  # lengths differ: the shared prefix
        if a != b:
            break
        shared += 1
    merged_old, merged_new = _read_both(engine, old, new, shared)
    changes = compare_files(merged_old.files, merged_new.files)
    packages = [] if merged_old.records == merged_new.records else compare_packages(
        _packages(merged_old.records), _packages(merged_new.records))
    return ImageDiff(
        image_a=name_a, image_b=name_b, id_a=old["Id"], id_b=new["Id"], changes=changes, packages=packages,
        shared_layers=shared, base_note=note, seconds=time.perf_counter() - started, engine=engine.describe(),
    )


def _read_both(engine: Engine, old: dict, new: dict, shared: int) -> tuple[MergedFiles, MergedFiles]:
    """The merged files of both images, saving one image when the other's layers are its prefix."""
    old_count, new_count = len(image_layers(old)), len(image_layers(new))
    if shared in (old_count, new_count):
        longer = new if new_count >= old_count else old
        saved = read_save(engine.save_image(longer["Id"]))
        layers = [saved.layer(name) for name in saved.layer_names(longer["Id"])]
        if len(layers) != max(old_count, new_count):
            raise DockmagicError("The saved image's layers do not match its RootFS; cannot compare.")
        return merge(layers[:old_count]), merge(layers[:new_count])
    saved = read_save(engine.save_images([old["Id"], new["Id"]]))
    return (merge([saved.layer(name) for name in saved.layer_names(old["Id"])]),
            merge([saved.layer(name) for name in saved.layer_names(new["Id"])]))


__all__ = ["FileChange", "ImageDiff", "PackageChange", "compare_files", "compare_packages", "find_base_image",
           "image_diff", "KINDS"]
