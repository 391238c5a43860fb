"""The build context: the tar sent to the engine, the same one ``docker build DIR`` sends.

With a folder, the tar holds the folder's files filtered by its ``.dockerignore`` with the docker CLI's
pattern rules, the ``.dockerignore`` itself unchanged, and the cell's Dockerfile as ``Dockerfile``, in
the place of the folder's own (which stays untouched on disk). Every header is what the CLI writes (owner
0:0 without names, permission bits only, whole-second times, the CLI's walk order), so an unchanged folder
and cell give the same bytes every time: the engine's cache serves ``COPY .`` and shares its entries
with the CLI's builds of the same folder. The engine, not the client, removes a ``Dockerfile`` or
``.dockerignore`` that the ``.dockerignore`` excludes, as it does for the CLI.

This tar is what the legacy builder and Podman receive. BuildKit gets the same files through a build
session instead (:mod:`dockmagic.operations.context_sync`), since an uploaded tar is copied whole by it: the
pattern rules here serve both.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import stat
import tarfile
import tempfile
import typing
from dataclasses import dataclass

from ..errors import BuildContextError
from .build_records import HashingReader

DOCKERFILE_NAME = "Dockerfile"
IGNORE_FILE = ".dockerignore"


def read_dockerignore(folder: str) -> list[str]:
    """The patterns of ``folder/.dockerignore`` as the docker CLI reads them: a UTF-8 BOM dropped, a line
    starting with ``#`` is a comment (only at the very start of the line), blanks trimmed, each path
    cleaned and made relative (``/a/./b/`` is ``a/b``), ``!`` kept in front."""
    path = os.path.join(folder, IGNORE_FILE)
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise BuildContextError(f"Cannot read {path}: {error.strerror}.") from None
    patterns = []
    for line in text.removeprefix("\ufeff").splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        negated = pattern.startswith("!")
        if negated:
            pattern = pattern[1:].strip()
        if pattern:
            # Go's filepath.Clean, then a leading / dropped: patterns are relative to the context.
            pattern = re.sub("^/+", "/", posixpath.normpath(pattern))
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if negated else pattern)
    return patterns


class _Pattern:
    """One .dockerignore pattern as the docker CLI compiles it: ``*`` and ``?`` stop at ``/``, ``**``
    crosses folders, ``[...]`` is a class, ``\\`` makes the next character literal. Like the CLI, a
    pattern without wildcards is compared as text, ``x**`` as a prefix and ``**x`` as a suffix."""

    def __init__(self, text: str):
        self.exclusion = text.startswith("!")
        if self.exclusion:
            text = text[1:]
        self.text = text
        self.kind, expression = self._compile(text)
        self.regex = re.compile(expression) if self.kind == "regex" else None

    @staticmethod
    def _compile(pattern: str) -> tuple[str, str]:
        """The kind of match and the regular expression the CLI builds: only ``.+()|{}$`` escaped,
        ``[`` and ``]`` passed on to the regular expression."""
        out, kind, i, n = ["^"], "exact", 0, len(pattern)
        while i < n:
            first = i == 0
            char = pattern[i]
            i += 1
            if char == "*":
                if i < n and pattern[i] == "*":
                    i += 1
                    if i < n and pattern[i] == "/":
                        i += 1
                    if i >= n:
                        out.append(".*")
                        kind = "prefix" if kind == "exact" else "regex"
                    else:
                        out.append("(.*/)?")
                        kind = "regex"
                    if first:
                        kind = "suffix"
                else:
                    out.append("[^/]*")
                    kind = "regex"
            elif char == "?":
                out.append("[^/]")
                kind = "regex"
            elif char in ".+()|{}$":
                out.append("\\" + char)
            elif char == "\\":
                if i < n:
                    out.append(re.escape(pattern[i]))
                    i += 1
                    kind = "regex"
                else:
                    out.append("\\\\")
            elif char in "[]":
                out.append(char)
                kind = "regex"
            else:
                out.append(char)
        return kind, "".join(out) + r"\Z"

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return self.regex.match(path) is not None


class IgnoreRules:
    """The patterns of a .dockerignore, matched against paths the way the docker CLI's walk does."""

    def __init__(self, patterns: list[str]):
        self.patterns = []
        for text in patterns:
            if text == "!":
                raise BuildContextError('.dockerignore has a line "!" alone: write the path to keep after it.')
            try:
                self.patterns.append(_Pattern(text))
            except (ValueError, re.error) as error:
                raise BuildContextError(f".dockerignore pattern {text!r} is not valid ({error}). "
                                        "Fix or remove that line.") from None
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    def excluded(self, path: str, parent: list[bool] | None = None) -> tuple[bool, list[bool]]:
        """Whether ``path`` (relative, with ``/``) is left out, and what each pattern matched, to pass as
        ``parent`` for the paths inside it. Without ``parent``, every folder above ``path`` is tried."""
        matched, state = False, []
        for index, pattern in enumerate(self.patterns):
            hit = bool(parent) and parent[index]
            if not hit and pattern.exclusion == matched:
                hit = pattern.match(path)
                if not hit and parent is None:
                    folders = path.split("/")[:-1]
                    hit = any(pattern.match("/".join(folders[:k])) for k in range(1, len(folders) + 1))
            state.append(hit)
            if hit:
                matched = not pattern.exclusion
        return matched, state

    def may_keep_inside(self, folder: str) -> bool:
        """True when a ``!`` pattern could bring back something inside an excluded ``folder``."""
        prefix = folder + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)


def context_paths(folder: str, patterns: list[str]) -> list[str]:
    """The paths of ``folder`` (relative, ``/``-separated) that the docker CLI sends for these patterns,
    in its order. The CLI always sends its Dockerfile and .dockerignore: the engine removes them after
    reading them when the patterns exclude them."""
    patterns = list(patterns)
    for always in (IGNORE_FILE, DOCKERFILE_NAME):
        if IgnoreRules(patterns).excluded(always)[0]:
            patterns.append("!" + always)
    rules = IgnoreRules(patterns)
    found: list[str] = []

    def walk(relative: str, parent: list[bool] | None) -> None:
        try:
            names = sorted(os.listdir(os.path.join(folder, relative)))
        except OSError as error:
            raise BuildContextError(f"Cannot read the folder {os.path.join(folder, relative)!r} of the build "
                                    f"context: {error.strerror}.") from None
        for name in names:
            path = posixpath.join(relative, name) if relative else name
            try:
                is_folder = stat.S_ISDIR(os.lstat(os.path.join(folder, path)).st_mode)
            except OSError as error:  # gone since the folder was listed
                raise BuildContextError(f"Cannot read {os.path.join(folder, path)!r} in the build context: "
                                        f"{error.strerror}.") from None
            skip, state = rules.excluded(path, parent)
            if skip and not (is_folder and rules.has_exclusions and rules.may_keep_inside(path)):
                continue
            if not skip:
                found.append(path)
            if is_folder:
                walk(path, state)

    walk("", None)
    return found


def _header(archive: tarfile.TarFile, full_path: str, name: str) -> tarfile.TarInfo | None:
    """The tar header the docker CLI writes for a file: owner 0:0 with no names, whole seconds."""
    info = archive.gettarinfo(full_path, arcname=name)
    if info is None:  # a socket: the CLI leaves those out too
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = int(info.mtime)
    return info


def cell_dockerfile_header(folder: str, data: bytes) -> tarfile.TarInfo:
    """The cell's Dockerfile as if saved over ``folder/Dockerfile``: that file's mode and time when it
    exists (so an unchanged cell gives an unchanged header), else a new file's."""
    info = tarfile.TarInfo(DOCKERFILE_NAME)
    info.size = len(data)
    info.mode = 0o644
    try:
        existing = os.stat(os.path.join(folder, DOCKERFILE_NAME)) if folder else None
    except OSError:
        existing = None
    if existing is not None and stat.S_ISREG(existing.st_mode):
        info.mode = existing.st_mode & 0o7777
        info.mtime = int(existing.st_mtime)
    elif folder:
        info.mtime = int(os.stat(folder).st_mtime)
    return info


def same_dockerfile_text(cell: str, on_disk: bytes) -> bool:
    """True when a file's bytes hold the cell's text, up to line endings and the newlines at the end (a
    notebook cell keeps no final newline; a file written on Windows has CRLF)."""
    def normal(text: str) -> str:
        return text.replace("\r\n", "\n").rstrip("\n")

    return normal(on_disk.decode("utf-8", errors="replace")) == normal(cell)


def folder_dockerfile(folder: str | None) -> bytes | None:
    """The bytes of ``folder/Dockerfile``, or None when there is no such regular file."""
    if not folder:
        return None
    path = os.path.join(folder, DOCKERFILE_NAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise BuildContextError(f"Cannot read {path}: {error.strerror}.") from None


def folder_dockerfile_warning(dockerfile: str, folder: str | None) -> str:
    """A warning when ``folder`` holds a Dockerfile whose text differs from the cell's, else ""."""
    on_disk = folder_dockerfile(folder)
    if on_disk is None or same_dockerfile_text(dockerfile, on_disk):
        return ""
    path = os.path.join(folder, DOCKERFILE_NAME)
    return (f"Warning: {path} differs from the cell; the cell's Dockerfile was built (sent as Dockerfile in "
            "the context, as if saved there; the file on disk is unchanged). Save the cell there for the "
            "docker CLI to build the same image.")


def check_context_folder(folder: str | None) -> None:
    """Raises :class:`BuildContextError` when ``folder`` is missing, or holds a folder named Dockerfile."""
    if folder is not None and not os.path.isdir(folder):
        raise BuildContextError(
            f"The build context folder {folder!r} does not exist (from {os.getcwd()!r}). "
            "Give --context an existing folder, or leave it out to send only the Dockerfile."
        )
    if folder is not None and os.path.isdir(os.path.join(folder, DOCKERFILE_NAME)):
        raise BuildContextError(f"{os.path.join(folder, DOCKERFILE_NAME)!r} is a folder: the build needs that "
                                "name for the cell's Dockerfile. Rename the folder, or give another --context.")


@dataclass(frozen=True)
class ContextSummary:
    """What a build would send of a folder: its files' bytes, its links that point outside it, and each
    regular file's (size, modification time in ns)."""
    size: int
    links_leaving: list[tuple[str, str]]
    stats: dict[str, tuple[int, int]]


def link_target_inside(path: str, target: str) -> str | None:
    """Where a symbolic link at ``path`` (relative to the context folder) that points at ``target`` leads,
    relative to the folder; None when it leads out of it (an absolute target, or one climbing above it)."""
    if target.startswith("/"):
        return None
    inside = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return None if inside == ".." or inside.startswith("../") else inside


def summarize_context(folder: str) -> ContextSummary:
    """The size of what ``docker build folder`` sends (the files its .dockerignore keeps) and the symbolic
    links among them that point outside the folder (an absolute target, or one climbing above it): the
    engine gets such a link as a link, never what it points to."""
    size, links, stats = 0, [], {}
    for path in context_paths(folder, read_dockerignore(folder)):
        full_path = os.path.join(folder, path)
        try:
            info = os.lstat(full_path)
            if stat.S_ISREG(info.st_mode):
                size += info.st_size
                stats[path] = (info.st_size, info.st_mtime_ns)
            elif stat.S_ISLNK(info.st_mode):
                target = os.readlink(full_path)
                if link_target_inside(path, target) is None:
                    links.append((path, target))
        except OSError as error:
            raise BuildContextError(f"Cannot read {full_path!r} in the build context: {error.strerror}.") from None
    return ContextSummary(size, links, stats)


def make_context(dockerfile: str, folder: str | None = None, fingerprints=None) -> tuple[typing.BinaryIO, str]:
    """The context tar, at its start, and the name of the Dockerfile in it (always ``Dockerfile``).

    With ``folder``: what ``docker build folder`` sends when ``folder/Dockerfile`` holds the cell's text,
    in a temporary file (a context can be large). When that file already holds the cell's text (up to line
    endings and final newlines), it is sent as it is, byte for byte, as the CLI sends it. Without: a context
    holding only the Dockerfile. ``fingerprints`` (a :class:`~dockmagic.operations.build_records.
    ContextFingerprints`) gets the SHA-256 of each file as it is read. Raises
    :class:`BuildContextError` when the folder is missing or a file in it cannot be read."""
    data = dockerfile.encode("utf-8")
    check_context_folder(folder)
    buffer = io.BytesIO() if folder is None else tempfile.TemporaryFile()
    try:
        _write_context(buffer, data, folder, fingerprints)
    except BaseException:
        buffer.close()
        raise
    buffer.seek(0)
    return buffer, DOCKERFILE_NAME


def _write_context(buffer: typing.BinaryIO, data: bytes, folder: str | None, fingerprints=None) -> None:
    """Writes the tar of ``folder``'s context, with ``data`` as its Dockerfile, into ``buffer``."""
    on_disk = folder_dockerfile(folder)
    replace_dockerfile = on_disk is None or not same_dockerfile_text(data.decode("utf-8"), on_disk)
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        paths = context_paths(folder, read_dockerignore(folder)) if folder is not None else [DOCKERFILE_NAME]
        if DOCKERFILE_NAME not in paths:
            paths = sorted([*paths, DOCKERFILE_NAME], key=lambda p: p.split("/"))
        for path in paths:
            if path == DOCKERFILE_NAME and replace_dockerfile:
                archive.addfile(cell_dockerfile_header(folder, data), io.BytesIO(data))
                continue
            full_path = os.path.join(folder, path)
            try:
                info = _header(archive, full_path, path)
                if info is None:
                    continue
                if info.isreg():
                    with open(full_path, "rb") as handle:
                        report = fingerprints.reporter(path) if fingerprints is not None else None
                        if report is not None:
                            handle = HashingReader(handle, report)
                        archive.addfile(info, handle)
                        if report is not None:
                            handle.done()
                else:
                    archive.addfile(info)
            except OSError as error:
                raise BuildContextError(f"Cannot read {full_path!r} in the build context: {error.strerror}. "
                                        "Make it readable, or list it in .dockerignore.") from None
