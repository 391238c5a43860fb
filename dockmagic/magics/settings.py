"""``DockMagic``: the settings every dockmagic magic reads, as traitlets (``%config DockMagic``)."""

from __future__ import annotations

from traitlets import Bool, Float, Int, Unicode
from traitlets.config import SingletonConfigurable

from ..engine import CONNECT_TIMEOUT_SECONDS, Engine, connect


class DockMagic(SingletonConfigurable):
    """Settings for dockmagic's magics. Set them with ``%config DockMagic.<name> = value``."""

    docker_host = Unicode(
        "",
        help="Engine address (unix://, tcp://, ssh://). Empty: DOCKER_HOST, then the default sockets.",
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

    context_warning_bytes = Int(
        500 * 1024 * 1024,
        help="Warn before sending a build context larger than this many bytes.",
    ).tag(config=True)

    recordings = Unicode(
        "",
        help="Folder where each magic's cell is recorded (with an engine) or replayed from (without one). "
        "Empty: off. %docker_recordings FOLDER sets it.",
    ).tag(config=True)

    # Set while a magic records or replays a cell (see magics/recording.py); not settings.
    current_recording = None
    replaying = None
    _store = None

    @property
    def recordings_store(self):
        """The recordings of the folder in ``recordings``, or None when recording is off."""
        if not self.recordings:
            return None
        from .recording import CellRecordings

        if self._store is None or self._store.folder != self.recordings:
            self._store = CellRecordings(self.recordings)
        return self._store

    def connect(self) -> Engine:
        """Connect to the configured engine now (raises EngineUnavailable with what was tried)."""
        return connect(self.docker_host or None, timeout=self.connect_timeout)

    def engine(self) -> "EngineWhenNeeded":
        """The configured engine, connected on first use: an operation checks what the user typed first,
        so a typo is reported as a typo (with nothing sent) even when no engine answers."""
        return EngineWhenNeeded(self.connect)


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
