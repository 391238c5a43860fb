"""Build secrets, as ``docker build --secret`` takes them: ``id=NAME,src=FILE`` (a file of this machine),
``id=NAME,env=VARIABLE`` (a variable of the kernel's environment), or ``id=NAME`` alone (the variable NAME).

A RUN step reads one with ``RUN --mount=type=secret,id=NAME`` (at ``/run/secrets/NAME``). BuildKit asks the
build session for it while that step runs; Podman's compatible API takes it inside the context's tar and
moves it out of the context before the build. Either way it goes into no image, no build cache and none of
dockmagic's recordings. Each is read once, before anything is sent, so that a missing file or variable is
said up front.
"""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import InvalidInput

# BuildKit refuses a secret larger than this (its secrets provider's limit).
MAX_SECRET_BYTES = 500 * 1024
_KINDS = ("file", "env")
_EXAMPLE = "--secret id=token,src=~/.token (a file) or --secret id=API_TOKEN (the variable API_TOKEN)"


@dataclass(frozen=True)
class BuildSecret:
    """One secret: its ``id``, and where its value comes from (``kind`` file or env, ``source``)."""

    id: str
    kind: str
    source: str
    value: bytes = field(repr=False, default=b"")


def parse_secret(spec: str) -> BuildSecret:
    """``id=NAME[,src=FILE|,env=VARIABLE][,type=file|env]`` as a :class:`BuildSecret`, its value read.

    Raises:
        InvalidInput: a malformed spec, a file that cannot be read, a variable that is not set, a value
        larger than BuildKit takes.
    """
    options = {}
    for part in spec.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not key:
            raise InvalidInput(f"--secret {spec!r}: {part.strip()!r} is not KEY=VALUE. Write {_EXAMPLE}.")
        key = {"source": "src"}.get(key.lower(), key.lower())
        if key not in ("id", "src", "env", "type"):
            raise InvalidInput(f"--secret {spec!r}: {key!r} is not a secret's option (id, src, env, type).")
        options[key] = value
    secret_id = options.get("id", "")
    if not secret_id:
        raise InvalidInput(f"--secret {spec!r} names no id. Write {_EXAMPLE}.")
    kind = options.get("type") or ("file" if "src" in options else "env")
    if kind not in _KINDS:
        raise InvalidInput(f"--secret {spec!r}: type={kind!r} is neither file nor env.")
    if kind == "file":
        path = os.path.expanduser(options.get("src") or secret_id)
        try:
            with open(path, "rb") as handle:
                value = handle.read(MAX_SECRET_BYTES + 1)
        except OSError as error:
            raise InvalidInput(f"--secret id={secret_id}: cannot read {path!r} ({error.strerror}). Give a "
                               "readable file as src=, or the value in a variable with env=.") from None
        source = path
    else:
        variable = options.get("env") or secret_id
        if variable not in os.environ:
            raise InvalidInput(
                f"--secret id={secret_id}: the variable {variable} is not set in the kernel's environment. Set "
                f"it (%env {variable}=... in a notebook), or give a file with src=.")
        value, source = os.environ[variable].encode(), variable
    if len(value) > MAX_SECRET_BYTES:
        raise InvalidInput(f"--secret id={secret_id}: {source} holds more than {MAX_SECRET_BYTES // 1024} KiB, "
                           "the most BuildKit takes for a secret.")
    return BuildSecret(secret_id, kind, source, value)


def parse_secrets(specs: Iterable[str] | None) -> dict[str, BuildSecret]:
    """The secrets by id (a repeated id is an error, as two values for one name would be a guess)."""
    secrets: dict[str, BuildSecret] = {}
    for spec in specs or ():
        secret = parse_secret(spec)
        if secret.id in secrets:
            raise InvalidInput(f"--secret id={secret.id} is given twice: give each secret once.")
        secrets[secret.id] = secret
    return secrets


def add_podman_secrets(archive, secrets: dict[str, BuildSecret]) -> list[str]:
    """Put each secret in the context tar ``archive`` (a seekable file, left at its start) under a name of
    its own, and return the ``secrets`` a Podman build takes for them (``id=NAME,src=FILE``): Podman's
    compatible API reads them from the uploaded context, as podman-remote sends them, and moves them out of
    the context before the build (a ``COPY .`` does not get them)."""
    specs = []
    with tarfile.open(fileobj=archive, mode="a", format=tarfile.PAX_FORMAT) as tar:
        for secret in secrets.values():
            name = f".dockmagic-secret-{uuid.uuid4().hex}"
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode = len(secret.value), 0o600
            tar.addfile(entry, io.BytesIO(secret.value))
            specs.append(f"id={secret.id},src={name}")
    archive.seek(0)
    return specs
