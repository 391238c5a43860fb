"""The packages an image holds, from the package managers' own records: pure parsers over file contents.

- dpkg (Debian, Ubuntu): ``/var/lib/dpkg/status``, stanzas of ``Field: value`` lines; a package counts
  when its ``Status`` ends in ``installed``; ``Installed-Size`` is in KiB.
- pip: each ``*.dist-info/METADATA`` (``Name``, ``Version``); the installed size is the sum of the sizes
  that the ``RECORD`` beside it lists, when there is one.
- conda: each ``conda-meta/*.json`` (``name``, ``version``); the installed size is the sum of
  ``paths_data``'s ``size_in_bytes`` (the package's ``size`` is its download, used only when the paths
  are not listed).

The names of the files that matter are here too, so that the reader of an image knows which to keep.
"""

from __future__ import annotations

import csv
import io
import json
import re
from email.parser import HeaderParser
from typing import NamedTuple

DPKG_STATUS = "/var/lib/dpkg/status"
_DIST_INFO = re.compile(r"/(?:site|dist)-packages/[^/]+\.dist-info/(METADATA|RECORD)$")
_CONDA_META = re.compile(r"/conda-meta/[^/]+\.json$")
MANAGERS = ("dpkg", "pip", "conda")


class Package(NamedTuple):
    """An installed package: ``manager`` ("dpkg", "pip" or "conda"), ``name``, ``version``, ``size``
    (installed bytes, None when the records do not say)."""

    manager: str
    name: str
    version: str
    size: int | None


def is_package_record(path: str) -> bool:
    """True for the files whose contents say which packages are installed."""
    return path == DPKG_STATUS or bool(_DIST_INFO.search(path)) or bool(_CONDA_META.search(path))


def parse_dpkg_status(text: str) -> list[Package]:
    """The installed packages of a dpkg status file, in its order."""
    packages = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = _deb822_fields(stanza)
        name = fields.get("package")
        if not name or not fields.get("status", "").endswith(" installed"):
            continue
        try:
            size = int(fields["installed-size"]) * 1024
        except (KeyError, ValueError):
            size = None
        packages.append(Package("dpkg", name, fields.get("version", ""), size))
    return packages


def _deb822_fields(stanza: str) -> dict[str, str]:
    """The single-line fields of one stanza, names lowercased (continuation lines are left out)."""
    fields = {}
    for line in stanza.splitlines():
        if not line or line[0] in " \t" or ":" not in line:
            continue
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields


def parse_pip_metadata(metadata: str, record: str | None = None) -> Package | None:
    """The package a dist-info's METADATA names (None without a Name); its size from RECORD's rows."""
    headers = HeaderParser().parsestr(metadata, headersonly=True)
    name = (headers.get("Name") or "").strip()
    if not name:
        return None
    return Package("pip", name, (headers.get("Version") or "").strip(),
                   record_size(record) if record is not None else None)


def record_size(record: str) -> int:
    """The bytes of the files a RECORD lists (rows without a size, like RECORD's own, count 0)."""
    total = 0
    for row in csv.reader(io.StringIO(record)):
        if len(row) >= 3 and row[2].strip().isdigit():
            total += int(row[2])
    return total


def parse_conda_meta(text: str) -> Package | None:
    """The package of one conda-meta JSON file (None when it names none)."""
    try:
        meta = json.loads(text)
    except ValueError:
        return None
    if not isinstance(meta, dict) or not meta.get("name"):
        return None
    paths = (meta.get("paths_data") or {}).get("paths") if isinstance(meta.get("paths_data"), dict) else None
    if paths:
        size = sum(int(item.get("size_in_bytes") or 0) for item in paths if isinstance(item, dict))
    else:
        size = meta.get("size") if isinstance(meta.get("size"), int) else None
    return Package("conda", str(meta["name"]), str(meta.get("version") or ""), size)


def packages_from_records(records: dict[str, bytes]) -> dict[tuple[str, str], Package]:
    """The packages of an image from its package records (path -> contents), by (manager, name).

    A pip package found in two places keeps the first path's, in path order."""
    found: dict[tuple[str, str], Package] = {}

    def text(path: str) -> str:
        return records[path].decode("utf-8", "replace")

    if DPKG_STATUS in records:
        for package in parse_dpkg_status(text(DPKG_STATUS)):
            found.setdefault(("dpkg", package.name), package)
    for path in sorted(records):
        if path.endswith(".dist-info/METADATA") and _DIST_INFO.search(path):
            record_path = path[: -len("METADATA")] + "RECORD"
            package = parse_pip_metadata(text(path), text(record_path) if record_path in records else None)
            if package:
                found.setdefault(("pip", _normalized_pip_name(package.name)), package)
        elif _CONDA_META.search(path):
            package = parse_conda_meta(text(path))
            if package:
                found.setdefault(("conda", package.name), package)
    return found


def _normalized_pip_name(name: str) -> str:
    """PEP 503's form of a name: "Foo_Bar" and "foo-bar" are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()
