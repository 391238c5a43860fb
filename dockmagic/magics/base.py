"""``DockmagicMagics``: what every family of dockmagic magics holds and does alike."""

from __future__ import annotations

from IPython.core.magic import Magics

from .options import bind_result


class DockmagicMagics(Magics):
    """A family of magics with the ``DockMagic`` settings and the publisher that shows results once."""

    def __init__(self, shell, settings, results):
        super().__init__(shell)
        self.settings = settings
        self.results = results

    def network(self, given: str | None) -> str | None:
        """The network a magic's ``--network`` gives, else ``%config DockMagic.network``, else the engine's."""
        return given or self.settings.network or None

    def bind(self, args, result):
        """Bind ``result`` to the ``-o NAME`` of ``args``, if given, and return it."""
        bind_result(self.shell, args, result)
        return result

    def show(self, result):
        """Show ``result`` once (not again as the cell's Out) and return it."""
        return self.results.show(result)
