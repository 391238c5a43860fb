"""Checking names before anything is sent: image references, tags and container names."""

from __future__ import annotations

import re

from ..errors import InvalidInput

# Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest], path lowercase.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_HOST = (r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
         r"|\[[0-9a-fA-F:]+\](?::[0-9]+)?)")
_REFERENCE = re.compile(
    rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?"
)
_CONTAINER_NAME = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def check_image_reference(reference: str, what: str = "image name") -> str:
    """Raise a clear error if ``reference`` is not a valid image name (``repo[:tag]``)."""
    if not reference or not _REFERENCE.fullmatch(reference) or len(reference) > 255:
        hint = " (repository names are lowercase)" if reference.lower() != reference else ""
        raise InvalidInput(
            f"{reference!r} is not a valid {what}{hint}. Use lowercase letters, digits and . _ - "
            "separated by /, optionally :tag, e.g. myimage:1.0 or team/figlet:latest."
        )
    return reference


def check_container_name(name: str) -> str:
    """Raise a clear error if ``name`` cannot name a container (Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]*)."""
    if not name or not _CONTAINER_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a valid container name. Use letters, digits and _ . - "
            "(starting with a letter or digit), e.g. play or figlet-session."
        )
    return name


def check_names(names, check, none_given: str) -> list[str]:
    """``names`` as a list, each passed through ``check``; :class:`InvalidInput` saying ``none_given``
    when there is none."""
    names = list(names)
    if not names:
        raise InvalidInput(none_given)
    for name in names:
        check(name)
    return names
