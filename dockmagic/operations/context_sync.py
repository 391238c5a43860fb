"""The build context as BuildKit's file sync asks for it: what ``docker build DIR`` serves through its
build session, so that BuildKit applies the folder's ``.dockerignore`` itself, as it does for the CLI.

Through a session BuildKit asks for two folders by name: ``dockerfile`` (the cell's Dockerfile) and
``context`` (the folder), each with the paths it wants: ``followpaths`` (these paths only: the
Dockerfile, the ``.dockerignore``), ``exclude-patterns`` (the ``.dockerignore`` it has just read) and, on
newer engines, ``include-patterns``. The engine then asks only for the files it does not already hold
from an earlier build under the same shared key, which it tells by size, mode and time: an unchanged
folder costs a walk and no upload.

The cell's Dockerfile stands in the place of the folder's own ``Dockerfile`` (which stays untouched on
disk) when the two differ, as with the legacy builder: ``docker build DIR`` after saving the cell there.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import zlib
from dataclasses import dataclass, field

from ..errors import BuildContextError
from ..parsing.fsutil_packets import GO_DIR, FileStat, go_file_mode
from .context import (
    DOCKERFILE_NAME,
    IgnoreRules,
    cell_dockerfile_header,
    folder_dockerfile,
    link_target_inside,
    make_context,
    same_dockerfile_text,
)


@dataclass(frozen=True)
class SyncedFile:
    """One entry the sender announces, and where its bytes come from (a path on disk, or bytes)."""
    stat: FileStat
    source: str | bytes | None = None


class SyncedFolder:
    """A folder served under one name: the files of ``folder`` (None: none) with ``replaced`` files (a
    relative path and its bytes) in place of, or beside, those on disk. Owners are sent as 0:0, as the
    docker CLI sends a build context."""

    def __init__(self, folder: str | None, replaced: dict[str, tuple[FileStat, str | bytes]] | None = None):
        self.folder = folder
        self.replaced = dict(replaced or {})

    def files(self, excludes: list[str] = (), includes: list[str] = (), follow: list[str] = ()) -> list[SyncedFile]:
        """What the engine asked for, in the order Go's ``filepath.Walk`` gives (each folder's names
        sorted, a folder before what it holds). As fsutil reads them, ``follow`` paths (and the targets of
        those that are links) are include patterns: a path is kept when a pattern matches it or a folder
        above it. A folder left out by the patterns is still announced when something inside it is kept,
        so that the engine can create it."""
        exclude_rules = IgnoreRules(list(excludes)) if excludes else None
        includes = [*includes, *self._with_link_targets(follow)]
        include_rules = IgnoreRules(includes) if includes else None
        # Where a pattern without wildcards can match: only under its own folders.
        plain = [p.rstrip("/") for p in includes if not any(c in p for c in "*?[\\")]
        wild = len(plain) < len(includes)
        found: list[SyncedFile] = []
        seen_inodes: dict[tuple[int, int], str] = {}

        def wanted(path: str, is_folder: bool, parent_included: bool) -> tuple[bool, bool]:
            """(announce it, look inside it)."""
            if include_rules is None or parent_included:
                return True, is_folder
            included = include_rules.excluded(path)[0]  # "excluded" is "matched" for an include list
            look_inside = is_folder and (included or wild or any(p.startswith(path + "/") for p in plain))
            return included, look_inside

        # Folders entered without being announced, each with whether it has been since (a kept file inside).
        unannounced: list[list] = []

        def walk(relative: str, exclude_state, parent_included: bool) -> None:
            for name in self._names(relative):
                path = posixpath.join(relative, name) if relative else name
                entry = self._entry(path, seen_inodes)
                if entry is None:
                    continue
                is_folder = bool(entry.stat.mode & GO_DIR)
                announce, look_inside = wanted(path, is_folder, parent_included)
                state = None
                if exclude_rules is not None:
                    skip, state = exclude_rules.excluded(path, exclude_state)
                    if skip:
                        announce = False
                        look_inside = look_inside and exclude_rules.has_exclusions and \
                            exclude_rules.may_keep_inside(path)
                if announce:
                    for folder in unannounced:
                        if not folder[1]:
                            found.append(folder[0])
                            folder[1] = True
                    found.append(entry)
                if look_inside:
                    if not announce:
                        unannounced.append([entry, False])
                    walk(path, state, parent_included or (announce and include_rules is not None))
                    if not announce:
                        unannounced.pop()

        walk("", None, False)
        return found

    def _with_link_targets(self, follow) -> list[str]:
        """The follow paths, and the target (inside the folder) of each that is a symbolic link."""
        paths = []
        for path in follow:
            path = posixpath.normpath(path).lstrip("/")
            paths.append(path)
            full_path = os.path.join(self.folder, path) if self.folder else None
            if full_path and os.path.islink(full_path):
                target = link_target_inside(path, os.readlink(full_path))
                if target is not None:
                    paths.append(target)
        return paths

    def _names(self, relative: str) -> list[str]:
        names = set()
        if self.folder is not None:
            try:
                names.update(os.listdir(os.path.join(self.folder, relative)))
            except OSError as error:
                raise BuildContextError(f"Cannot read the folder {os.path.join(self.folder, relative)!r} of the "
                                        f"build context: {error.strerror}.") from None
        names.update(path.rsplit("/", 1)[-1] for path in self.replaced
                     if posixpath.dirname(path) == relative)
        return sorted(names)

    def _entry(self, path: str, seen_inodes: dict) -> SyncedFile | None:
        replaced = self.replaced.get(path)
        if replaced is not None:
            return SyncedFile(replaced[0], replaced[1])
        full_path = os.path.join(self.folder, path)
        try:
            info = os.lstat(full_path)
        except OSError as error:
            raise BuildContextError(f"Cannot read {full_path!r} in the build context: {error.strerror}.") from None
        if stat.S_ISSOCK(info.st_mode):
            return None  # the docker CLI leaves sockets out
        mode = go_file_mode(info.st_mode)
        size = 0 if stat.S_ISDIR(info.st_mode) else info.st_size
        linkname = ""
        if stat.S_ISLNK(info.st_mode):
            linkname = os.readlink(full_path)
        elif not stat.S_ISDIR(info.st_mode) and info.st_nlink > 1:
            first = seen_inodes.setdefault((info.st_dev, info.st_ino), path)
            if first != path:
                linkname, size = first, 0
        devices = (os.major(info.st_rdev), os.minor(info.st_rdev)) if stat.S_ISBLK(info.st_mode) or \
            stat.S_ISCHR(info.st_mode) else (0, 0)
        return SyncedFile(FileStat(path, mode, size, info.st_mtime_ns, 0, 0, linkname, *devices),
                          full_path if stat.S_ISREG(info.st_mode) and not linkname else None)


def dockerfile_entry(dockerfile: str, folder: str | None) -> tuple[FileStat, str | bytes]:
    """The ``Dockerfile`` entry: the folder's own file when it holds the cell's text (sent as it is, as the
    CLI sends it), else the cell's text with that file's mode. Its time is the file's, with the nanoseconds
    taken from the text: the engine tells an unchanged file by size and time, and a cell edited to the same
    length must still be sent again (BuildKit leaves times out of its cache keys)."""
    data = dockerfile.encode("utf-8")
    on_disk = folder_dockerfile(folder)
    if on_disk is not None and same_dockerfile_text(dockerfile, on_disk):
        path = os.path.join(folder, DOCKERFILE_NAME)
        info = os.stat(path)
        return FileStat(DOCKERFILE_NAME, go_file_mode(info.st_mode), info.st_size, info.st_mtime_ns), path
    header = cell_dockerfile_header(folder, data)
    mod_time_ns = int(header.mtime) * 10**9 + zlib.crc32(data) % 10**9
    return FileStat(DOCKERFILE_NAME, go_file_mode(stat.S_IFREG | header.mode), len(data), mod_time_ns), data


def session_folders(dockerfile: str, folder: str | None) -> dict[str, SyncedFolder]:
    """The two folders a BuildKit session serves for a build of ``dockerfile`` with ``folder`` as context."""
    entry = dockerfile_entry(dockerfile, folder)
    return {"context": SyncedFolder(folder, {DOCKERFILE_NAME: entry}),
            "dockerfile": SyncedFolder(None, {DOCKERFILE_NAME: entry})}


@dataclass(frozen=True)
class SessionContext:
    """A build's context as a session serves it: the cell's Dockerfile and the folder (None: none), and
    the fingerprints that get the SHA-256 of each file of the folder the engine asks for."""
    dockerfile: str
    folder: str | None
    fingerprints: object = field(default=None, compare=False)

    @property
    def folders(self) -> dict[str, SyncedFolder]:
        return session_folders(self.dockerfile, self.folder)

    @property
    def key(self) -> str:
        """The key under which the engine keeps what it received of the folder, to ask next time only for
        what changed (the docker CLI uses a hash of the folder's path too)."""
        where = os.path.abspath(self.folder) if self.folder else ""
        return hashlib.sha256(f"dockmagic:{where}".encode()).hexdigest()

    def archive(self):
        """The same context as a tar, for an engine that opens no session."""
        return make_context(self.dockerfile, self.folder, self.fingerprints)[0]
