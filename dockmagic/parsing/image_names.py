"""Image names as an engine writes them, in the short form the docker CLI shows.

Podman's Docker-compatible API answers with fully qualified names (``docker.io/library/busybox:latest``)
where Docker keeps what was asked (``busybox``); the docker CLI shows both engines' names in their
familiar form (distribution/reference's FamiliarString): ``docker.io/`` and ``library/`` dropped.
"""

from __future__ import annotations

import re

_DOCKER_HUB = ("docker.io/", "index.docker.io/")
_BARE_ID = re.compile(r"[0-9a-f]{64}")


def familiar_image_name(name: str) -> str:
    """``docker.io/library/busybox:latest`` -> ``busybox:latest``; ``docker.io/team/x`` -> ``team/x``;
    any other name (another registry, ``localhost/x``, an id, ``<none>``) unchanged."""
    if not isinstance(name, str):
        return name
    for prefix in _DOCKER_HUB:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            path = rest.split("@", 1)[0].split(":", 1)[0]
            if rest.startswith("library/") and path.count("/") == 1:
                rest = rest[len("library/"):]
            return rest
    return name


def familiar_tag(name: str) -> str:
    """A tag a build or a commit gave, familiar and with its ``:tag`` (``:latest`` when none is written),
    so that Podman's ``docker.io/library/x:latest`` and its echo ``x`` are one tag, ``x:latest``, as
    Docker writes it."""
    name = familiar_image_name(name)
    if isinstance(name, str) and name and "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def docker_image_id(image_id: str) -> str:
    """An image or layer id as Docker writes it, ``sha256:<hex>``: Podman's API writes the bare hex."""
    return "sha256:" + image_id if isinstance(image_id, str) and _BARE_ID.fullmatch(image_id) else image_id
