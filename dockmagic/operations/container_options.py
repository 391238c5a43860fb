"""The options of a new container, as the docker CLI writes them (-e, -v, --network), checked before
anything is sent."""

from __future__ import annotations

import os

from .. import notices
from ..engine import Engine
from ..errors import InvalidInput
from .names import check_container_name, check_image_reference


def parse_environment(pairs) -> dict[str, str]:
    """``["K=V", "K"]`` as a dict; a bare ``K`` takes its value from this process's environment, as
    ``docker run -e K`` does (and is left out when unset)."""
    environment = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not key or any(c.isspace() for c in key):
            raise InvalidInput(f"-e {pair!r} is not KEY=VALUE. Write it as e.g. -e NAME=value.")
        if sep:
            environment[key] = value
        elif key in os.environ:
            environment[key] = os.environ[key]
    return environment


def parse_volumes(specs) -> list[str]:
    """``["SRC:DST[:ro|rw]"]`` as engine binds. A relative SRC path is made absolute from the current
    folder (the engine needs absolute paths); a SRC without ``/`` names a volume."""
    binds = []
    for spec in specs or ():
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise InvalidInput(
                f"-v {spec!r} is not SRC:DST. Write it as e.g. -v ./data:/data or -v ./data:/data:ro."
            )
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else "rw"
        if mode not in ("ro", "rw"):
            raise InvalidInput(f"-v {spec!r}: the mode after the second ':' must be ro or rw, not {mode!r}.")
        if not target.startswith("/"):
            raise InvalidInput(f"-v {spec!r}: the path in the container ({target!r}) must be absolute.")
        if source.startswith((".", "~")) or "/" in source:
            source = os.path.abspath(os.path.expanduser(source))
        binds.append(f"{source}:{target}:{mode}")
    return binds


def note_remote_binds(engine: Engine, binds: list[str], notify=None) -> None:
    """Say, before running, that a bind mount's source is a folder of the engine's machine when the
    engine is elsewhere (a remote DOCKER_HOST): Docker makes a missing one there, empty, without a word."""
    folders = [bind.split(":")[0] for bind in binds if bind.startswith("/")]
    if not folders or engine.is_on_this_machine:
        return
    notices.notify(
        f"note: the engine at {engine.address} runs on another machine: -v mounts "
        f"{', '.join(folders)} from that machine, not from this one (made there, empty, if missing). "
        "To bring files from here, COPY them in a %%dockerfile build.", notify)


def check_network(network: str | None) -> str | None:
    if network is None or network == "":
        return None
    if not all(c.isalnum() or c in "_.-:" for c in network):
        raise InvalidInput(
            f"--network {network!r} is not a network mode. Use host, none, bridge or a network's name."
        )
    return network


def checked_options(image, name, environment, volumes, network):
    """The options of a new container, checked before anything is sent: (environment, binds, network)."""
    environment = dict(environment) if isinstance(environment, dict) else parse_environment(environment)
    binds = parse_volumes(volumes)
    network = check_network(network)
    check_image_reference(image)
    if name is not None:
        check_container_name(name)
    return environment, binds, network
