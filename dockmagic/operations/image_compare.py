"""Comparing the files of two images (or containers): what a rebuild reproduced and what it did not."""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass

from ..engine import Engine
from .tar_stream import ENGINE_MOUNT_POINTS, ChunkReader

# Paths whose differences say nothing about the reproduction: logs, caches, temporary files, shell
# history, and files the engine writes into every container.
IGNORED_PATHS = (
    "/var/log", "/var/cache", "/var/lib/apt/lists", "/tmp", "/var/tmp", "/root/.cache",
    "/root/.bash_history", "/root/.ash_history", "/root/.sh_history",
    "/proc", "/sys", "/dev", "/etc/mtab", *ENGINE_MOUNT_POINTS,
)


@dataclass(frozen=True)
class Difference:
    """A path whose file differs: ``kind`` is "changed", "only in rebuilt" or "only in committed"."""

    path: str
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        letter = {"changed": "C", "only in rebuilt": "A", "only in committed": "D"}[self.kind]
        detail = f"  ({self.detail})" if self.detail else ""
        return f"{letter} {self.path}{detail}"


def _ignored(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in IGNORED_PATHS)


def filesystem_signature(engine: Engine, container_id: str) -> dict[str, tuple]:
    """``{path: (type, mode, uid, gid, link, size, sha1)}`` for a container's files (times left out)."""
    signature = {}
    stream = engine.export_container(container_id, chunk_size=1 << 20)
    with tarfile.open(fileobj=ChunkReader(stream), mode="r|") as archive:
        for member in archive:
            name = member.name[2:] if member.name.startswith("./") else member.name
            path = "/" + name.strip("/")
            if path == "/" or _ignored(path):
                continue
            digest = ""
            if member.isreg():
                digest = _sha1(archive.extractfile(member))
            signature[path] = (member.type, member.mode, member.uid, member.gid, member.linkname, member.size,
                               digest)
    return signature


def _sha1(handle) -> str:
    if handle is None:
        return ""
    digest = hashlib.sha1()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def image_signature(engine: Engine, image: str) -> dict[str, tuple]:
    """:func:`filesystem_signature` of an image's files."""
    # A created (never started) container exposes the image's files to export.
    container_id = engine.create_container(image, command=["/dockmagic-never-started"],
                                           labels={"dockmagic": "compare"})
    try:
        return filesystem_signature(engine, container_id)
    finally:
        engine.remove_container(container_id)


def compare(committed: dict[str, tuple], rebuilt: dict[str, tuple]) -> list[Difference]:
    """The paths whose files differ between two signatures, sorted."""
    differences = []
    for path in sorted(set(committed) | set(rebuilt)):
        a, b = committed.get(path), rebuilt.get(path)
        if a == b:
            continue
        if a is None:
            differences.append(Difference(path, "only in rebuilt"))
        elif b is None:
            differences.append(Difference(path, "only in committed"))
        else:
            fields = ("type", "mode", "owner", "owner", "link", "size", "content")
            what = [name for name, x, y in zip(fields, a, b, strict=True) if x != y]
            differences.append(Difference(path, "changed", ", ".join(dict.fromkeys(what))))
    return differences
