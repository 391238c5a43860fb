"""The build context: the tar sent to the engine with the cell's Dockerfile in it."""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import uuid

from docker.utils.build import tar as tar_folder

from ..errors import BuildContextError


def read_dockerignore(folder: str) -> list[str]:
    """The patterns of ``folder/.dockerignore`` (comments and blank lines left out)."""
    path = os.path.join(folder, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle.read().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def make_context(dockerfile: str, folder: str | None = None) -> tuple[io.BytesIO, str]:
    """A tar of ``folder`` (honouring its .dockerignore) plus the Dockerfile; returns it and the name the
    Dockerfile has inside it. Without a folder, the context holds only the Dockerfile."""
    data = dockerfile.encode("utf-8")
    if folder is None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        buffer.seek(0)
        return buffer, "Dockerfile"
    if not os.path.isdir(folder):
        raise BuildContextError(
            f"The build context folder {folder!r} does not exist (from {os.getcwd()!r}). "
            "Give --context an existing folder, or leave it out to send only the Dockerfile."
        )
    # A name of its own, so that a Dockerfile already in the folder is neither used nor overwritten.
    name = f".dockmagic-{uuid.uuid4().hex[:8]}.Dockerfile"
    try:
        archive = tar_folder(folder, exclude=read_dockerignore(folder), dockerfile=(name, dockerfile))
    except OSError as error:
        raise BuildContextError(f"Cannot read the build context {folder!r}: {error}.") from None
    return archive, name


def links_leaving_context(archive) -> list[tuple[str, str]]:
    """``(link, target)`` of each symbolic link in the context tar that points outside the context (an
    absolute target, or one climbing above the context's root). The engine receives such a link as a
    link, never what it points to: a COPY of it gives a dangling link in the image, and a COPY through
    a linked folder finds nothing. The tar is read back to its start."""
    found = []
    archive.seek(0)
    try:
        with tarfile.open(fileobj=archive, mode="r:") as tar:
            for member in tar:
                if not member.issym():
                    continue
                target = member.linkname
                inside = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), target))
                if target.startswith("/") or inside == ".." or inside.startswith("../"):
                    found.append((member.name, target))
    finally:
        archive.seek(0)
    return found
