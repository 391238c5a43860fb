"""``%docker_info``: which engine the kernel talks to."""

from __future__ import annotations

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..operations.info import engine_info
from ..views.display import TextAndHtml, escape
from .arguments import parse_line


class RecordingsStatus(TextAndHtml):
    """Says whether this notebook's cells run live (and are recorded) or are replayed."""

    def __init__(self, folder: str, info):
        self.folder = folder
        self.info = info

    def _text(self) -> str:
        if not self.folder:
            return "dockmagic: recording is off"
        if self.info.available:
            return (f"dockmagic: cells run live on {self.info._text()} and are recorded to {self.folder}")
        import glob
        import os

        count = len(glob.glob(os.path.join(self.folder, "*.json")))
        return (f"dockmagic: no container engine is reachable, so the cells below replay {count} recordings "
                f"of real runs from {self.folder}, each marked as a replay. ({self.info.problem})")

    def _html(self) -> str:
        colour = "#15803d" if self.info.available else "#a16207"
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px">{escape(self._text())}</div>')


@magics_class
class EngineMagics(Magics):
    def __init__(self, shell, settings):
        super().__init__(shell)
        self.settings = settings

    @magic_arguments()
    @line_magic
    def docker_info(self, line):
        """Show which container engine this kernel talks to (name, version, API version, address), or,
        when none answers, what was tried and how to connect one. Returns an object with ``.available``.

        The engine is chosen as docker-py chooses it (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH),
        or by ``%config DockMagic.docker_host``.
        """
        parse_line(self.docker_info, line)
        return engine_info(self.settings.docker_host or None, timeout=self.settings.connect_timeout)

    @magic_arguments()
    @argument("folder", nargs="?", help="Where this notebook's recordings live, e.g. recordings/01-lesson. "
              "Without it: say where recording goes now. 'off' turns it off.")
    @line_magic
    def docker_recordings(self, line):
        """Record every dockmagic cell of this notebook to FOLDER when an engine is reachable, and replay
        them from FOLDER when none is (on Binder, say).

        With an engine each magic runs for real and what it showed is saved (one file per cell; for
        %%dockerfile the engine's raw build stream, for %docker_diff its change list). With no engine,
        each magic shows its recording instead, after a notice saying that it is a replay and when it was
        recorded. The same notebook runs top to bottom in both places.

        Example::

            %docker_recordings recordings/01-interactive-image
        """
        args = parse_line(self.docker_recordings, line)
        if args.folder == "off":
            self.settings.recordings = ""
            print("dockmagic: recording is off")
            return None
        if args.folder:
            # A fresh count of each cell's runs: the notebook starts over.
            self.settings._store = None
            self.settings.recordings = args.folder
        info = engine_info(self.settings.docker_host or None, timeout=self.settings.connect_timeout)
        display(RecordingsStatus(self.settings.recordings, info))
        return None
