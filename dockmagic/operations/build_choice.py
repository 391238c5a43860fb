"""Which builder runs a build: BuildKit or the legacy one, chosen as the docker CLI chooses.

Precedence, as the CLI's: the build's own option (``builder=``, ``%%dockerfile --builder``), then the
``DOCKER_BUILDKIT`` environment variable (0 or 1), then ``%config DockMagic.builder``, then ``auto``:
BuildKit on Docker Engine with API 1.39 or newer, the legacy builder elsewhere (Podman builds with buildah
through its compatible API, which already takes ``RUN --mount=type=cache`` and ``COPY --chmod``).
"""

from __future__ import annotations

import os

from ..errors import InvalidInput

AUTO, BUILDKIT, LEGACY = "auto", "buildkit", "legacy"
BUILDERS = (AUTO, BUILDKIT, LEGACY)
# The first Engine API version whose /build takes version=2 (Docker 18.09).
BUILDKIT_API_VERSION = (1, 39)
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def check_builder(value: str, where: str = "builder") -> str:
    """``value`` if it names a builder, else a clear error naming the three."""
    if value not in BUILDERS:
        raise InvalidInput(f"{where} {value!r} is not a builder: use 'auto' (BuildKit where the engine offers "
                           "it), 'buildkit' or 'legacy'.")
    return value


def requested_builder(option: str | None, setting: str | None = None, environ=None) -> tuple[str, str]:
    """The builder asked for and who asked: ``(builder, source)``, source being ``builder=``,
    ``DOCKER_BUILDKIT``, ``DockMagic.builder`` or ``auto``."""
    if option:
        return check_builder(option), "builder="
    environ = os.environ if environ is None else environ
    variable = environ.get("DOCKER_BUILDKIT", "").strip().lower()
    if variable:
        if variable in _TRUE:
            return BUILDKIT, "DOCKER_BUILDKIT"
        if variable in _FALSE:
            return LEGACY, "DOCKER_BUILDKIT"
        raise InvalidInput(f"DOCKER_BUILDKIT={variable!r} is neither 0 nor 1: set it to 1 (BuildKit) or 0 "
                           "(the legacy builder), or unset it.")
    if setting and setting != AUTO:
        return check_builder(setting, "DockMagic.builder"), "DockMagic.builder"
    return AUTO, "auto"


def _api_version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)


def engine_offers_buildkit(engine) -> bool:
    """Docker Engine (not Podman) whose API takes ``/build?version=2``."""
    return not engine.is_podman and _api_version(engine.api_version) >= BUILDKIT_API_VERSION


def choose_builder(option: str | None, engine, setting: str | None = None, environ=None) -> str:
    """``buildkit`` or ``legacy`` for a build on ``engine`` (see the module's precedence).

    Raises:
        InvalidInput: BuildKit was asked for where the engine does not offer it.
    """
    builder, source = requested_builder(option, setting, environ)
    if builder == AUTO:
        return BUILDKIT if engine_offers_buildkit(engine) else LEGACY
    if builder == BUILDKIT and not engine_offers_buildkit(engine):
        how = {"builder=": "ask for builder='legacy' (--builder legacy)",
               "DOCKER_BUILDKIT": "unset DOCKER_BUILDKIT or set it to 0",
               "DockMagic.builder": "set %config DockMagic.builder = 'auto' (or 'legacy')"}[source]
        if engine.is_podman:
            raise InvalidInput(
                f"BuildKit was asked for ({source}), but {engine.name} builds with buildah through its "
                "compatible API (buildah takes RUN --mount=type=cache and COPY --chmod too): "
                f"{how} to build with it.")
        raise InvalidInput(
            f"BuildKit was asked for ({source}), but {engine.name} {engine.version} (API {engine.api_version}) "
            f"has no BuildKit behind its API (API 1.39 or newer has): {how}.")
    return builder
