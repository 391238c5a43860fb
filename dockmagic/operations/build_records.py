"""What dockmagic keeps of each build, to say next time why a step missed the cache.

A record holds what decides a step's cache: the Dockerfile, the build arguments, the id of each base
image, and a fingerprint of each file of the context (size, time, and the SHA-256 of its bytes, taken
as the file is read to be sent; a file the engine did not ask for again keeps the digest it had). It is
filed under the keys that make two builds "the same": each tag (``tag:name``), the notebook cell
(``cell:id``), else the context folder (``context:/path``); a build with none of these is compared with
nothing.

Where: a folder per engine in ``$XDG_CACHE_HOME/dockmagic/build-records`` (``~/.cache/...``), a JSON file
per key in it (a build reads only the one it is compared with); ``DockMagic.build_records_dir`` moves it.
Bounded: the newest MAX_RECORDS files per engine, and the fingerprints of at most MAX_FILES files a record (a
larger context is compared by its steps only).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace

MAX_RECORDS = 40
MAX_FILES = 20_000

# A file's fingerprint: [size, modification time in ns, SHA-256 hex or "" when it was not read].
Fingerprint = list


@dataclass
class BuildRecord:
    dockerfile: str
    build_args: dict[str, str] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)  # FROM reference -> image id
    files: dict[str, Fingerprint] | None = None  # context path -> fingerprint; None: not kept
    layers: dict[str, str] = field(default_factory=dict)  # "stage:position" -> its layer (legacy builder)
    layer_sizes: dict[str, int] = field(default_factory=dict)  # "stage:position" -> bytes its layer adds
    size: int | None = None  # the image's
    builder: str = ""
    image_id: str = ""
    when: float = 0.0
    keys: list[str] = field(default_factory=list)


def record_keys(tags, cell_id: str | None, context: str | None) -> list[str]:
    """The keys a build is filed under, most telling first."""
    keys = [f"tag:{tag}" for tag in tags or ()]
    if cell_id:
        keys.append(f"cell:{cell_id}")
    if not keys and context:
        keys.append(f"context:{os.path.abspath(context)}")
    return keys  # none: a Dockerfile alone, untagged, outside a notebook, is like no earlier build


def default_records_dir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "dockmagic", "build-records")


class RecordStore:
    """The records of one engine (by its address): a folder, a JSON file per key, so that a build reads only
    the record it is compared with."""

    def __init__(self, engine_address: str, folder: str | None = None):
        root = folder or default_records_dir()
        self.folder = os.path.join(root, hashlib.sha256(engine_address.encode("utf-8")).hexdigest()[:16])

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + ".json")

    def find(self, keys: list[str]) -> BuildRecord | None:
        """The newest record filed under the first of ``keys`` that has one."""
        for key in keys:
            try:
                with open(self._path(key), encoding="utf-8") as handle:
                    return BuildRecord(**json.load(handle))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, TypeError):
                return None  # unreadable, or written by another version: explained as a first build
        return None

    def save(self, record: BuildRecord, previous: BuildRecord | None = None) -> None:
        """Keep ``record`` under each of its keys (replacing what they held); the oldest beyond MAX_RECORDS
        files go. A record equal to ``previous`` (an unchanged rebuild) is not written again: its files
        are only marked as the newest."""
        record.when = record.when or time.time()
        if record.files is not None and len(record.files) > MAX_FILES:
            record.files = None
        if previous is not None and replace(previous, when=record.when) == record:
            try:
                for key in record.keys:
                    os.utime(self._path(key))
                return
            except OSError:
                pass  # one went missing meanwhile: write them all
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            text = json.dumps(asdict(record))
            for key in record.keys:
                descriptor, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temporary, self._path(key))
            kept = sorted((entry for entry in os.scandir(self.folder) if entry.name.endswith(".json")),
                          key=lambda entry: entry.stat().st_mtime, reverse=True)
            for entry in kept[MAX_RECORDS:]:
                os.unlink(entry.path)
        except OSError:
            pass  # a read-only home: the next build is explained as a first build


class ContextFingerprints:
    """The fingerprints of a context's files. A file whose size and time are those of the earlier build's
    fingerprint keeps its digest (the engine holds those bytes: BuildKit does not even ask for it again);
    the others get theirs as they are read to be sent (``reporter(path)`` is for a :class:`HashingReader`,
    None when the digest is known already)."""

    def __init__(self, stats: dict[str, tuple[int, int]], previous: dict[str, Fingerprint] | None = None):
        self.files: dict[str, Fingerprint] = {}
        for path, (size, mtime) in stats.items():
            old = (previous or {}).get(path)
            known = old[2] if old and old[0] == size and old[1] == mtime else ""
            self.files[path] = [size, mtime, known]

    def digest_of(self, path: str, digest: str) -> None:
        if path in self.files:
            self.files[path][2] = digest

    def reporter(self, path: str):
        """What a :class:`HashingReader` of ``path`` calls with its digest; None: the digest is known."""
        if path in self.files and self.files[path][2]:
            return None
        return lambda digest: self.digest_of(path, digest)


class HashingReader:
    """A file object read to be sent, hashing what goes through; ``done()`` gives the digest."""

    def __init__(self, handle, on_digest):
        self._handle = handle
        self._hash = hashlib.sha256()
        self._on_digest = on_digest

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        if data:
            self._hash.update(data)
        else:
            self.done()
        return data

    def done(self) -> None:
        if self._on_digest is not None:
            self._on_digest(self._hash.hexdigest())
            self._on_digest = None
