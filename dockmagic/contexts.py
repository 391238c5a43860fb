"""Docker contexts, read as the docker CLI stores them, and the choice of engine they take part in.

The docker CLI keeps each context in ``$DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json`` (its
endpoint) and ``contexts/tls/<sha256>/docker/{ca,cert,key}.pem`` (its TLS material); ``currentContext`` in
``$DOCKER_CONFIG/config.json`` names the one in use (DOCKER_CONFIG defaults to ~/.docker). This module reads
that layout itself: docker-py's ``ContextAPI`` finds the contexts only when config.json exists (it looks in
the working directory otherwise), drops a context's description, and ignores a ca.pem without a client
certificate. It also gives the CLI's order of choice:

    %config DockMagic.docker_host  >  DOCKER_HOST  >  DOCKER_CONTEXT  >  currentContext  >  default sockets

``%docker_context NAME`` sets DOCKER_CONTEXT in the kernel, as ``export DOCKER_CONTEXT=NAME`` would in a
shell: the kernel (and the docker commands it runs) follow NAME, and ~/.docker/config.json is left alone.
The context named ``default`` is "DOCKER_HOST, or the local sockets", as for the CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from docker.tls import TLSConfig

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
    # For a context: what named it ("DOCKER_CONTEXT", "currentContext in ~/.docker/config.json").
    named_by: str = ""


def docker_config_folder() -> str:
    """The docker CLI's folder: DOCKER_CONFIG, else ~/.docker."""
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def config_file() -> str:
    """The docker CLI's config.json (it need not exist)."""
    return os.path.join(docker_config_folder(), "config.json")


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
    meta_folder = os.path.join(_contexts_folder(), "meta")
    names = []
    for entry in sorted(os.listdir(meta_folder)) if os.path.isdir(meta_folder) else ():
        meta = _read_meta(os.path.join(meta_folder, entry, "meta.json"))
        if meta is not None:
            names.append(str(meta.get("Name") or entry))
    return [_default_context()] + [find_context(name) for name in sorted(names)]


def find_context(name: str, named_by: str = "") -> DockerContext:
    """The context called ``name`` (``named_by``: what named it, for the error message).

    Raises:
        UnknownContext: there is none; the message lists the ones there are.
    """
    if name == DEFAULT_CONTEXT:
        return _default_context()
    by = f" (named by {named_by})" if named_by else ""
    context_id = hashlib.sha256(name.encode("utf-8")).hexdigest()
    meta = _read_meta(os.path.join(_contexts_folder(), "meta", context_id, "meta.json"), name, by)
    if meta is None:
        known = ", ".join(c.name for c in list_contexts())
        raise UnknownContext(f"There is no Docker context {name!r}{by}. Known contexts: {known}. Make one with "
                             f"`docker context create {name} --docker host=...`.")
    endpoint = (meta.get("Endpoints") or {}).get("docker") or {}
    description = str((meta.get("Metadata") or {}).get("Description") or "")
    tls_folder = os.path.join(_contexts_folder(), "tls", context_id, "docker")
    tls = _tls_config(tls_folder, skip_verify=bool(endpoint.get("SkipTLSVerify")))
    return DockerContext(name, str(endpoint.get("Host") or ""), description, tls,
                         tls_folder if tls is not None else None)


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
    return EngineChoice((context.host,), f"context {name} ({why})", name, context.tls, context.tls_folder, why)


def _default_context() -> DockerContext:
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    description = "DOCKER_HOST" if os.environ.get("DOCKER_HOST") else "the local sockets (Docker, then Podman)"
    return DockerContext(DEFAULT_CONTEXT, host, description)


def _read_meta(path: str, name: str = "", by: str = "") -> dict | None:
    """A context's meta.json, or None when there is none."""
    try:
        with open(path) as handle:
            meta = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise UnknownContext(f"Docker context {name or path!r}{by} cannot be read ({path}: {error}); fix or "
                             "remove it with `docker context rm`.") from None
    if not isinstance(meta, dict):
        raise UnknownContext(f"Docker context {name or path!r}{by} cannot be read: {path} is not a JSON object.")
    return meta


def _tls_config(folder: str, skip_verify: bool) -> TLSConfig | None:
    """The context's TLS, as the docker CLI reads its folder: TLS as soon as any of ca.pem, cert.pem and
    key.pem is there; the engine checked against ca.pem (the system's CAs without one) unless
    SkipTLSVerify; a client certificate when both cert.pem and key.pem are there."""
    files = {name: os.path.join(folder, f"{name}.pem") for name in ("ca", "cert", "key")}
    present = {name: path for name, path in files.items() if os.path.isfile(path)}
    if not present:
        return None
    client_cert = (present["cert"], present["key"]) if "cert" in present and "key" in present else None
    return TLSConfig(client_cert=client_cert, ca_cert=present.get("ca"), verify=not skip_verify)


def _contexts_folder() -> str:
    return os.path.join(os.path.dirname(config_file()), "contexts")


def _home_short(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home != "/" and path.startswith(home + os.sep) else path
