"""What dockmagic keeps of each build, to say next time why a step missed the cache.

A record holds what decides a step's cache: the Dockerfile, the build arguments, the id of each base
image, and a fingerprint of each file of the context (size, time, and the SHA-256 of its bytes, taken
as the file is read to be sent; a file the engine did not ask for again keeps the digest it had). It is
filed under the keys that make two builds "the same": each tag (``tag:name``), the notebook cell
(``cell:id``), else the context folder (``context:/path``).

Where: one JSON file per engine in ``$XDG_CACHE_HOME/dockmagic/build-records`` (``~/.cache/...``),
``DockMagic.build_records_dir`` to move it. Bounded: the newest MAX_RECORDS records per engine, and the
fingerprints of at most MAX_FILES files a record (a larger context is compared by its steps only).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field

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
    builder: str = ""
    image_id: str = ""
    when: float = 0.0
    keys: list[str] = field(default_factory=list)


def record_keys(tags, cell_id: str | None, context: str | None) -> list[str]:
    """The keys a build is filed under, most telling first."""
    keys = [f"tag:{tag}" for tag in tags or ()]
    if cell_id:
        keys.append(f"cell:{cell_id}")
    if not keys:
        keys.append(f"context:{os.path.abspath(context) if context else ''}")
    return keys


def default_records_dir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "dockmagic", "build-records")


class RecordStore:
    """The records of one engine (by its address), in ``folder``."""

    def __init__(self, engine_address: str, folder: str | None = None):
        self.folder = folder or default_records_dir()
        name = hashlib.sha256(engine_address.encode("utf-8")).hexdigest()[:16]
        self.path = os.path.join(self.folder, f"{name}.json")

    def _load(self) -> list[dict]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                records = json.load(handle)
            return records if isinstance(records, list) else []
        except (OSError, ValueError):
            return []  # none yet, or unreadable: builds are explained as first builds

    def find(self, keys: list[str]) -> BuildRecord | None:
        """The newest record filed under the first of ``keys`` that has one."""
        records = self._load()
        for key in keys:
            for record in reversed(records):
                if key in record.get("keys", ()):
                    try:
                        return BuildRecord(**record)
                    except TypeError:
                        return None  # written by another version
        return None

    def save(self, record: BuildRecord) -> None:
        """Keep ``record`` as the newest under its keys; the oldest beyond MAX_RECORDS go."""
        record.when = record.when or time.time()
        if record.files is not None and len(record.files) > MAX_FILES:
            record.files = None
        records = self._load()
        for kept in records:  # a key names the newest build only
            kept["keys"] = [k for k in kept.get("keys", []) if k not in record.keys]
        records = [r for r in records if r.get("keys")] + [asdict(record)]
        records = records[-MAX_RECORDS:]
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(records, handle)
            os.replace(temporary, self.path)
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
