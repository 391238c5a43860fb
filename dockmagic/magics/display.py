"""How magics show what operations return: a build while it runs, and result objects shown exactly once."""

from __future__ import annotations

import contextvars
import threading
import weakref

from IPython.display import display

from ..views.display import in_notebook_kernel
from ..views.throttle import Call, call_later

# A build still running this long after it started is shown live; one that ends sooner is shown once, ended
# (a cached rebuild takes a few tens of milliseconds: a view that changes three times in that is only cost).
SHOW_LIVE_AFTER_SECONDS = 0.2


class BuildDisplay:
    """A build as it runs: the live widget in a notebook kernel (when ``DockMagic.live_view`` is on), the
    docker CLI's text in a terminal, or nothing until the end with ``quiet``.

    Pass :meth:`build_options` to the build operation, then call :meth:`finish` with its result, whether
    the build succeeded, failed or was cancelled: the widget shows its final state, the text its summary.
    The widget appears ``SHOW_LIVE_AFTER_SECONDS`` after the build started, or at its end if that is sooner.

    ``cell`` (the notebook cell's id and the execution count) lets a cell run again show its build in the
    widget of its earlier run, whose output the notebook has just cleared: a cell rebuilt fifty times holds
    one widget, in the kernel and in the saved notebook, not fifty.
    """

    def __init__(self, settings, quiet: bool = False, show_after: float = SHOW_LIVE_AFTER_SECONDS,
                 cell: tuple[str | None, int] | None = None):
        self.live = not quiet and settings.live_view and in_notebook_kernel()
        self.cell = cell if cell is not None and cell[0] else None
        self.view = None
        self.handle = None
        self.printer = None
        self.show_after = show_after
        self._progress = None
        self._timer: Call | None = None
        self._lock = threading.Lock()
        if not self.live and not quiet:
            from ..views.build_text import CliBuildPrinter

            self.printer = CliBuildPrinter()

    def build_options(self) -> dict:
        """The ``watch``, ``on_event`` and ``notify`` keywords of the build operation. The live view shows
        the build's notices in its header (it appears before anything is sent), so they are not also
        written to stderr; the text form and a quiet build write them there."""
        return {"watch": self._show_live if self.live else None, "on_event": self.printer,
                "notify": _Discard() if self.live else None}

    def _show_live(self, progress) -> None:
        self._progress = progress
        # Run in this cell's context, so that the view is this cell's output whichever thread shows it.
        self._timer = call_later(self.show_after, contextvars.copy_context().run, self._show)

    def _show(self) -> bool:
        """Show the view now unless it is shown already; True if it was shown now."""
        from ..views.build_widget import LiveBuildView

        with self._lock:
            if self.view is not None or self._progress is None:
                return False
            self.view = LiveBuildView(self._progress, widget=self._earlier_widget())
            if self.cell is not None:
                _cell_widgets[self.cell[0]] = (self.cell[1], self.view.widget)
            # Its bundle as it is (no formatter has anything to add to it).
            data, metadata = self.view._repr_mimebundle_()
            self.handle = display(data, metadata=metadata, raw=True, display_id=True)
            return True

    def _earlier_widget(self):
        """The widget of this cell's earlier run, if it is still open (never one this run shows already:
        two builds in one run are two outputs)."""
        if self.cell is None:
            return None
        cell_id, count = self.cell
        count_then, widget = _cell_widgets.get(cell_id, (None, None))
        if widget is None or count_then == count or widget.comm is None:
            return None
        return widget

    def finish(self, result) -> None:
        """Show the build's end: the widget's last state (closed, kept in the saved notebook) or the text."""
        if self._timer is not None:
            self._timer.cancel()
        if self._show():
            self.view.close()  # shown ended: its state, and its snapshot for saved notebooks, are the last
        elif self.view is not None:
            self.view.flush()
            self.view.close()
            data, metadata = self.view._repr_mimebundle_()
            self.handle.update(data, metadata=metadata, raw=True)
        if self.printer is not None and result is not None and result.progress is not None:
            self.printer.finish(result.progress)


# The build widget each notebook cell showed last, with the execution count of that run, by cell id.
_cell_widgets: dict[str, tuple[int, object]] = {}


class _Discard:
    """A stream that keeps nothing: the notices of a build the live view shows."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class ResultPublisher:
    """Shows diffs, commits and histories, each once.

    A magic shows its result and returns it. Without this, a bare ``%docker_diff play`` would show it a
    second time as the cell's Out; with it, IPython shows a result of these types through
    :meth:`_display_result`, which skips the one a magic showed in this same cell.
    """

    def __init__(self, shell, settings, result_types=()):
        self.shell = shell
        self.settings = settings
        self._just_shown = None
        if shell is not None:
            formatter = shell.display_formatter.ipython_display_formatter
            for result_type in result_types:
                formatter.for_type(result_type, self._display_result)

    def show(self, result):
        """Show ``result`` now and return it, so that the cell's Out does not show it again."""
        self.publish(result)
        self._just_shown = (self.shell.execution_count if self.shell else None, weakref.ref(result))
        return result

    def publish(self, result) -> None:
        """Show ``result``: its text in a terminal; in a notebook its widget (a diff's tree) or its HTML."""
        from ..operations.diff import ContainerDiff

        if not in_notebook_kernel():
            text = str(result)
            if text:
                print(text)
        elif isinstance(result, ContainerDiff):
            from ..views.diff_view import DiffView, diff_html, diff_text_preview

            if self.settings.live_view:
                display(DiffView(result))
            else:
                display({"text/plain": diff_text_preview(result), "text/html": diff_html(result)}, raw=True)
        else:
            display(result._repr_mimebundle_(), raw=True)

    def _display_result(self, result) -> None:
        if self._just_shown is not None:
            count, shown = self._just_shown
            if shown() is result and count == self.shell.execution_count:
                self._just_shown = None
                return
        self.publish(result)
