"""``DockMagic``: the settings every dockmagic magic reads, as traitlets (``%config DockMagic``).

Each setting that can be given a bad value is checked when it is set (``@validate``), so ``%config`` refuses
it at once with a sentence saying what is allowed, instead of a magic failing later.
"""

from __future__ import annotations

import math
import os
import re

from traitlets import Bool, Float, Int, TraitError, Unicode, validate
from traitlets.config import SingletonConfigurable

from ..engine import CONNECT_TIMEOUT_SECONDS, Engine, connect

# The schemes docker-py connects through; an address without one is taken as tcp://.
_ENGINE_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")
# Docker's rule for network and container names; "container:NAME" shares a container's network.
_NETWORK_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
BUILD_LOGS_KEPT = 50


class DockMagic(SingletonConfigurable):
    """Settings for dockmagic's magics. Set them with ``%config DockMagic.<name> = value``."""

    docker_host = Unicode(
        "",
        help="Engine address (unix://, tcp://, ssh://). Empty: DOCKER_HOST, then the Docker context "
        "(DOCKER_CONTEXT, currentContext; see %docker_context), then the default sockets.",
    ).tag(config=True)

    network = Unicode(
        "",
        help="Network mode for builds and new containers when a magic gives none (e.g. 'host'). "
        "Empty: the engine's default.",
    ).tag(config=True)

    connect_timeout = Float(
        CONNECT_TIMEOUT_SECONDS, help="Seconds to wait for the engine to answer before giving up."
    ).tag(config=True)

    live_view = Bool(
        True, help="Show the live widget in a notebook; when False, print plain text as the docker CLI does."
    ).tag(config=True)

    log_dir = Unicode(
        "",
        help="Folder for full build logs. Empty: a folder under the system's temporary directory.",
    ).tag(config=True)

    build_logs_kept = Int(
        BUILD_LOGS_KEPT,
        help="How many builds' full logs to keep on disk (in log_dir); the oldest are deleted.",
    ).tag(config=True)

    build_records_dir = Unicode(
        "",
        help="Folder for what is kept of each build to say why a later build's step missed the cache (one "
             "file per engine, bounded). Empty: $XDG_CACHE_HOME/dockmagic/build-records (~/.cache/...).",
    ).tag(config=True)

    context_warning_bytes = Int(
        500 * 1024 * 1024,
        help="Warn before sending a build context larger than this many bytes (0: never warn).",
    ).tag(config=True)

    builder = Unicode(
        "auto",
        help="The builder of %%dockerfile and dockmagic.build(): 'auto' (BuildKit on Docker Engine, the legacy "
        "builder on Podman), 'buildkit' or 'legacy'. DOCKER_BUILDKIT=0/1 and a cell's --builder come first.",
    ).tag(config=True)

    recordings = Unicode(
        "",
        help="Folder where each magic's cell is recorded (with an engine) or replayed from (without one). "
        "Empty: off. %docker_recordings FOLDER sets it.",
    ).tag(config=True)

    @validate("docker_host")
    def _check_docker_host(self, proposal):
        address = proposal["value"]
        scheme = address.split("://", 1)[0] if "://" in address else "tcp"
        if (address and scheme not in _ENGINE_SCHEMES) or any(c.isspace() for c in address):
            raise TraitError(
                f"DockMagic.docker_host {proposal['value']!r} is not an engine address: use "
                "unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://USER@HOST, or '' for DOCKER_HOST."
            )
        return address

    @validate("network")
    def _check_network(self, proposal):
        mode = proposal["value"]
        name = mode[len("container:"):] if mode.startswith("container:") else mode
        if mode and not _NETWORK_NAME.fullmatch(name):
            raise TraitError(
                f"DockMagic.network {mode!r} is not a network mode: use host, none, bridge, a network's name "
                "(letters, digits and _ . -, starting with a letter or digit), container:NAME, or '' for "
                "the engine's default."
            )
        return mode

    @validate("builder")
    def _check_builder(self, proposal):
        from ..operations.build_choice import BUILDERS

        if proposal["value"] not in BUILDERS:
            raise TraitError(
                f"DockMagic.builder {proposal['value']!r} is not a builder: use 'auto' (BuildKit where the "
                "engine offers it), 'buildkit' or 'legacy'."
            )
        return proposal["value"]

    @validate("connect_timeout")
    def _check_connect_timeout(self, proposal):
        seconds = proposal["value"]
        if not (seconds > 0 and math.isfinite(seconds)):
            raise TraitError(
                f"DockMagic.connect_timeout {seconds!r} is not allowed: give a number of seconds above 0, e.g. 2."
            )
        return seconds

    @validate("context_warning_bytes")
    def _check_context_warning_bytes(self, proposal):
        return _at_least(proposal, 0, "a number of bytes, 0 or more (0: never warn), e.g. 524288000")

    @validate("build_logs_kept")
    def _check_build_logs_kept(self, proposal):
        return _at_least(proposal, 1, f"a count of builds, 1 or more, e.g. {BUILD_LOGS_KEPT}")

    @validate("log_dir", "recordings", "build_records_dir")
    def _check_folder(self, proposal):
        folder = proposal["value"]
        if folder and os.path.exists(folder) and not os.path.isdir(folder):
            raise TraitError(
                f"DockMagic.{proposal['trait'].name} {folder!r} is a file, not a folder: give a folder "
                "(made if missing), or ''."
            )
        return folder

    # Set while a magic records or replays a cell (see magics/cell_recording.py); not settings.
    current_recording = None
    replaying = None
    _store = None

    @property
    def recordings_store(self):
        """The recordings of the folder in ``recordings``, or None when recording is off."""
        if not self.recordings:
            return None
        from .cell_recording import CellRecordings

        if self._store is None or self._store.folder != self.recordings:
            self._store = CellRecordings(self.recordings)
        return self._store

    def build_log_options(self) -> dict:
        """The build operation's keywords for its full logs and its records: where they go and how many
        logs are kept."""
        return {"log_dir": self.log_dir or None, "records_dir": self.build_records_dir or None,
                "keep_build_logs": self.build_logs_kept}

    def connect(self) -> Engine:
        """Connect to the configured engine now (raises EngineUnavailable with what was tried)."""
        return connect(self.docker_host or None, timeout=self.connect_timeout)

    def engine(self) -> EngineWhenNeeded:
        """The configured engine, connected on first use: an operation checks what the user typed first,
        so a typo is reported as a typo (with nothing sent) even when no engine answers."""
        return EngineWhenNeeded(self.connect)


def _at_least(proposal, lowest: int, allowed: str) -> int:
    value = proposal["value"]
    if value < lowest:
        raise TraitError(f"DockMagic.{proposal['trait'].name} {value!r} is not allowed: give {allowed}.")
    return value


class EngineWhenNeeded:
    """Stands for an :class:`Engine` and connects the first time one of its attributes is used."""

    def __init__(self, connect_now):
        self._connect_now = connect_now
        self._engine: Engine | None = None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._engine is None:
            self._engine = self._connect_now()
        return getattr(self._engine, name)

    def __repr__(self) -> str:
        return repr(self._engine) if self._engine is not None else "<Engine, not connected yet>"
