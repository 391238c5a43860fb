"""Build logs on disk, kept bounded: each build writes its steps' full output to a folder of its own
(``build-*`` in ``/tmp/dockmagic-builds`` by default), made with its first log (a fully cached build writes
none), and the oldest folders are removed as new builds make theirs.

A folder that a build of this process still refers to (its :class:`BuildProgress` or a
:class:`BuildResult` is alive: a result bound in the notebook, a widget) is never removed, so ``.log``
of a result a user kept still reads the whole output.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import weakref

# How many build log folders are kept in one place by default (DockMagic settings may change it).
KEEP_BUILD_LOGS = 50
LOG_FOLDER_PREFIX = "build-"


def default_log_root() -> str:
    """The folder that holds build log folders when DockMagic.log_dir names none: a folder of its own in
    the system's temporary folder, so that pruning lists only build logs, however full /tmp is."""
    root = os.path.join(tempfile.gettempdir(), "dockmagic-builds")
    os.makedirs(root, mode=0o700, exist_ok=True)
    return root


def new_log_folder(root: str | None = None) -> str:
    """A new, empty folder for one build's logs in ``root`` (default: :func:`default_log_root`)."""
    root = root or default_log_root()
    os.makedirs(root, exist_ok=True)
    return tempfile.mkdtemp(prefix=LOG_FOLDER_PREFIX, dir=root)


def reserve_log_folder(root: str | None = None) -> str:
    """The path of a new folder for one build's logs in ``root``, not made yet: the build's models make it
    with the first log they write."""
    root = root or default_log_root()
    os.makedirs(root, exist_ok=True)
    return os.path.join(root, f"{LOG_FOLDER_PREFIX}{uuid.uuid4().hex[:12]}")

# (weak reference to an object that reads the logs, its folder): the folders in use in this process.
_in_use: list[tuple[weakref.ref, str]] = []


def keep_while_alive(owner, log_dir: str) -> None:
    """Never prune ``log_dir`` while ``owner`` (a build's progress or result) is alive."""
    _in_use.append((weakref.ref(owner), os.path.abspath(log_dir)))


def folders_in_use() -> set[str]:
    """The log folders that live objects of this process refer to."""
    _in_use[:] = [(ref, path) for ref, path in _in_use if ref() is not None]
    return {path for _, path in _in_use}


def _folder_size(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def prune_build_logs(keep: int | None = KEEP_BUILD_LOGS, max_bytes: int | None = None, *,
                     folder: str | None = None, prefix: str = LOG_FOLDER_PREFIX) -> list[str]:
    """Remove the oldest build log folders (``folder/prefix*``, by default ``build-*`` in
    :func:`default_log_root`) beyond the newest ``keep`` and, with ``max_bytes``, until the rest take at
    most that many bytes. Folders in use in this process (see :func:`keep_while_alive`) are never
    removed, nor counted against ``keep``. Returns the removed folders, oldest first."""
    folder = os.path.abspath(folder or default_log_root())
    try:
        with os.scandir(folder) as entries:  # one pass, each entry's type known without a call
            found = [entry for entry in entries if entry.name.startswith(prefix)]
    except OSError:
        return []
    if max_bytes is None and keep is not None and len(found) <= keep:
        return []  # too few to remove any: no need to look at their times
    names = [entry.name for entry in found]
    in_use = folders_in_use()
    candidates = []
    for entry in found:
        path = os.path.join(folder, entry.name)
        if path in in_use:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):  # a link to a folder is never removed
                candidates.append((entry.stat(follow_symlinks=False).st_mtime, path))
        except OSError:
            continue
    candidates.sort()  # oldest first
    doomed = []
    if keep is not None and len(candidates) > keep:
        doomed = candidates[:len(candidates) - keep]
        candidates = candidates[len(candidates) - keep:]
    if max_bytes is not None:
        sizes = {path: _folder_size(path) for _, path in candidates}
        # Folders in use count against the budget too, but only this folder's: a live result's logs kept
        # elsewhere are another budget's.
        in_use_here = [os.path.abspath(os.path.join(folder, name)) for name in names
                       if os.path.abspath(os.path.join(folder, name)) in in_use]
        total = sum(sizes.values()) + sum(_folder_size(path) for path in in_use_here if os.path.isdir(path))
        while candidates and total > max_bytes:
            entry = candidates.pop(0)
            total -= sizes[entry[1]]
            doomed.append(entry)
    removed = []
    for _, path in doomed:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            removed.append(path)
    return removed
