"""Looking up the containers and images a user names: a typo becomes a clear :class:`NotFound` saying
how to list what exists, before anything else is sent."""

from __future__ import annotations

from ..engine import Engine
from ..errors import InvalidInput, NotFound
from .names import check_container_name, check_image_reference


def find_container(engine: Engine, name: str) -> dict:
    """The engine's inspect of container ``name`` (a name or an id).

    Raises:
        NotFound: no such container (a name no container can have says so).
    """
    try:
        check_container_name(name)
    except InvalidInput as error:
        raise NotFound(str(error)) from None
    try:
        return engine.inspect_container(name)
    except NotFound:
        raise NotFound(
            f"No container named {name!r} on {engine.describe()}. See the containers with %docker_ps -a; "
            f"start one with %docker_start IMAGE --name {name}."
        ) from None


def find_image(engine: Engine, reference: str) -> dict:
    """The engine's inspect of image ``reference`` (a name, tag or id); nothing is pulled.

    Raises:
        InvalidInput: ``reference`` is not an image name. NotFound: no such image on the engine.
    """
    check_image_reference(reference)
    try:
        return engine.inspect_image(reference)
    except NotFound:
        raise NotFound(missing_image_message(engine, reference)) from None


def missing_image_message(engine: Engine, reference: str, pull_error: str = "") -> str:
    """Why image ``reference`` cannot be used, and how to see the images there are."""
    pulled = f" and pulling it failed ({pull_error})" if pull_error else ""
    return (
        f"Image {reference!r} is not on {engine.describe()}{pulled}. See the local images with "
        "%docker_images; build one with %%dockerfile, or pull it with docker pull where a registry "
        "is reachable."
    )


def check_free_name(engine: Engine, name: str | None) -> None:
    """Raise :class:`InvalidInput` when a container named ``name`` already exists."""
    if name is None:
        return
    check_container_name(name)
    try:
        existing = engine.inspect_container(name)
    except NotFound:
        return
    raise InvalidInput(
        f"A container named {name!r} already exists ({existing['State'].get('Status', '?')}). Pick another "
        f"--name, or remove it with %docker_rm -f {name}."
    )
