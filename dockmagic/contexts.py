"""Docker contexts, read as the docker CLI stores them, and the choice of engine they take part in.

The docker CLI keeps each context in ``$DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json`` (its
endpoint) and ``contexts/tls/<sha256>/docker/{ca,cert,key}.pem`` (its TLS material); ``currentContext`` in
``$DOCKER_CONFIG/config.json`` names the one in use (DOCKER_CONFIG defaults to ~/.docker). docker-py's
:class:`docker.context.ContextAPI` reads that layout; this module adds the CLI's order of choice:

    %config DockMagic.docker_host  >  DOCKER_HOST  >  DOCKER_CONTEXT  >  currentContext  >  default sockets

``%docker_context NAME`` sets DOCKER_CONTEXT in the kernel, as ``export DOCKER_CONTEXT=NAME`` would in a
shell: the kernel (and the docker commands it runs) follow NAME, and ~/.docker/config.json is left alone.
The context named ``default`` is "DOCKER_HOST, or the local sockets", as for the CLI.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import docker.errors
from docker.context import ContextAPI
from docker.context.config import get_meta_file, get_tls_dir
from docker.tls import TLSConfig
from docker.utils.config import find_config_file

from .errors import InvalidInput

DEFAULT_CONTEXT = "default"


class UnknownContext(InvalidInput):
    """A context name that the docker CLI's store does not hold (or holds unreadable)."""


@dataclass(frozen=True)
class DockerContext:
    """One context: its ``name``, its engine's ``host`` and ``description``; ``tls`` is the TLS material
    stored with it (None when it has none), ``tls_folder`` where that material lies."""

    name: str
    host: str
    description: str = ""
    tls: TLSConfig | None = field(default=None, compare=False, repr=False)
    tls_folder: str | None = None


@dataclass(frozen=True)
class EngineChoice:
    """Where to connect and why.

    ``hosts`` are the addresses to try, in order (several only for the default sockets); ``source`` says
    what chose them (``"DOCKER_HOST"``, ``"context tls (DOCKER_CONTEXT)"``...); ``context`` is the
    context's name (``"default"`` when no context chose); ``tls`` the context's TLS material, or None to
    read DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as docker-py does.
    """

    hosts: tuple[str, ...]
    source: str
    context: str = DEFAULT_CONTEXT
    tls: TLSConfig | None = field(default=None, compare=False, repr=False)
    tls_folder: str | None = None


def config_file() -> str:
    """The docker CLI's config.json: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    return find_config_file() or os.path.join(os.environ.get("DOCKER_CONFIG") or
                                              os.path.join(os.path.expanduser("~"), ".docker"), "config.json")


def current_context_name() -> tuple[str, str]:
    """The context the docker CLI would use when DOCKER_HOST is not set, and why:
    ``(name, "DOCKER_CONTEXT" | "currentContext in <config.json>" | "no context chosen")``."""
    if os.environ.get("DOCKER_CONTEXT"):
        return os.environ["DOCKER_CONTEXT"], "DOCKER_CONTEXT"
    path = config_file()
    try:
        with open(path) as handle:
            name = json.load(handle).get("currentContext") or ""
    except (OSError, ValueError, AttributeError):
        name = ""
    if name:
        return name, f"currentContext in {_home_short(path)}"
    return DEFAULT_CONTEXT, "no context chosen"


def list_contexts() -> list[DockerContext]:
    """Every context the docker CLI knows, ``default`` first, then by name.

    Raises:
        UnknownContext: a context's meta.json cannot be read (the message names it).
    """
    try:
        found = ContextAPI.contexts()
    except (docker.errors.ContextException, OSError, ValueError, KeyError) as error:
        raise UnknownContext(f"The docker CLI's contexts ({_home_short(_contexts_folder())}) cannot be read: "
                             f"{error}") from None
    named = sorted((context for context in found if context.name != DEFAULT_CONTEXT), key=lambda c: c.name)
    return [_default_context()] + [_from_docker_py(context) for context in named]


def find_context(name: str, named_by: str = "") -> DockerContext:
    """The context called ``name`` (``named_by``: what named it, for the error message).

    Raises:
        UnknownContext: there is none; the message lists the ones there are.
    """
    by = f" (named by {named_by})" if named_by else ""
    if name == DEFAULT_CONTEXT:
        return _default_context()
    try:
        context = ContextAPI.get_context(name)
    except Exception as error:  # docker-py raises a bare Exception for a corrupted meta.json
        raise UnknownContext(f"Docker context {name!r}{by} cannot be read: {error}") from None
    if context is None:
        known = ", ".join(c.name for c in list_contexts())
        raise UnknownContext(f"There is no Docker context {name!r}{by}. Known contexts: {known}. Make one with "
                             f"`docker context create {name} --docker host=...`.")
    return _from_docker_py(context)


def choose_engine(docker_host: str | None, default_hosts: list[str]) -> EngineChoice:
    """The engine to connect to, in the docker CLI's order (see the module's docstring).

    Args:
        docker_host: ``%config DockMagic.docker_host`` ('' or None when not set).
        default_hosts: the local sockets to try when nothing else chooses.
    Raises:
        UnknownContext: DOCKER_CONTEXT or currentContext names a context that does not exist.
    """
    if docker_host:
        return EngineChoice((docker_host,), "%config DockMagic.docker_host")
    if os.environ.get("DOCKER_HOST"):
        return EngineChoice((os.environ["DOCKER_HOST"],), "DOCKER_HOST")
    name, why = current_context_name()
    if name == DEFAULT_CONTEXT:
        return EngineChoice(tuple(default_hosts), "the default sockets (DOCKER_HOST is not set)")
    context = find_context(name, named_by=why)
    return EngineChoice((context.host,), f"context {name} ({why})", name, context.tls, context.tls_folder)


def _default_context() -> DockerContext:
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    description = "DOCKER_HOST" if os.environ.get("DOCKER_HOST") else "the local sockets (Docker, then Podman)"
    return DockerContext(DEFAULT_CONTEXT, host, description)


def _from_docker_py(context) -> DockerContext:
    tls = context.TLSConfig
    folder = os.path.join(get_tls_dir(context.name), "docker") if tls is not None else None
    return DockerContext(context.name, context.Host or "", _description(context.name), tls, folder)


def _description(name: str) -> str:
    # docker-py drops a context's Description; the CLI keeps it in meta.json's Metadata.
    try:
        with open(get_meta_file(name)) as handle:
            return str((json.load(handle).get("Metadata") or {}).get("Description") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def _contexts_folder() -> str:
    return os.path.join(os.path.dirname(config_file()), "contexts")


def _home_short(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home != "/" and path.startswith(home + os.sep) else path
