"""``%docker_recordings`` and ``%docker_replay``: a notebook's cells recorded where an engine answers, and
shown again, marked as replays, where none does. (The recording of each cell is in cell_recording.py.)"""

from __future__ import annotations

import glob
import os

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..operations.build import BuildResult
from ..operations.info import engine_info
from ..operations.replay import recording_kind, replay_build, replay_diff
from ..views.display import TextAndHtml, escape, in_notebook_kernel
from .base import DockmagicMagics
from .options import out_option, parse_line


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
        count = len(glob.glob(os.path.join(self.folder, "*.json")))
        return (f"dockmagic: no container engine is reachable, so the cells below replay {count} recordings "
                f"of real runs from {self.folder}, each marked as a replay. ({self.info.problem})")

    def _html(self) -> str:
        colour = "#15803d" if self.info.available else "#a16207"
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px">{escape(self._text())}</div>')


def show_replayed_build(settings, progress, result, quiet: bool = False) -> None:
    """A replayed build in the live build's widget (in a notebook), else its summary."""
    if settings.live_view and in_notebook_kernel() and not quiet:
        from ..views.build_widget import LiveBuildView

        view = LiveBuildView(progress)
        view.flush()
        display(view)
    else:
        display(result)


@magics_class
class RecordingMagics(DockmagicMagics):
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

    @magic_arguments()
    @argument("file", help="A recording made with %%%%dockerfile --record FILE or %%docker_diff --record FILE.")
    @out_option("the replayed build's result (or diff)")
    @line_magic
    def docker_replay(self, line):
        """Show a recorded build or diff in the same view as a live one, marked as a replay with the time
        it was recorded. Needs no engine: this is how a notebook shows a real build where none is reachable.

        Example::

            %docker_replay recordings/figlet-build.jsonl
        """
        args = parse_line(self.docker_replay, line)
        if recording_kind(args.file) == "diff":
            diff = replay_diff(args.file)
            self.bind(args, diff)
            self.results.publish(diff)
            return None
        progress = replay_build(args.file, log_dir=self.settings.log_dir or None)
        result = BuildResult.from_progress(progress)
        self.bind(args, result)
        show_replayed_build(self.settings, progress, result)
        return None
