"""``%docker_diff``: what a container changed in its filesystem."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..operations.diff import container_diff
from ..operations.replay import record_diff
from .base import DockmagicMagics
from .options import out_option, parse_line, record_option


@magics_class
class DiffMagics(DockmagicMagics):
    @magic_arguments()
    @argument("container", help="The container's name or id (running or stopped).")
    @record_option("the change list")
    @argument("--sizes", action="store_true",
              help="Also measure each added or changed file (streams the added directories' contents "
                   "and stats other paths through the archive API; see dockmagic.operations.diff).")
    @out_option("the diff (.changes, .added, .changed, .deleted, .counts, .tree)")
    @line_magic
    def docker_diff(self, line):
        """Show what a container changed in its filesystem since it was created, as ``docker diff`` does.

        In a notebook: a tree of the changes with A (added), C (changed) and D (deleted) badges, counts
        by kind, toggles to show or hide each kind and a path filter; folders open on click and load
        from the kernel a page at a time, so a diff of 100,000 paths opens at once. In a terminal: the
        lines ``docker diff`` prints.

        Returns the diff: .changes (each with .kind and .path, in docker diff's order), .added,
        .changed, .deleted, .counts, .tree, and .sizes with --sizes; str() of it is docker diff's text.

        Example::

            d = %docker_diff play
            d.added[:5]
        """
        args = parse_line(self.docker_diff, line)
        result = container_diff(args.container, engine=self.settings.engine(), sizes=args.sizes)
        if args.record:
            record_diff(result, args.record)
        return self.show(self.bind(args, result))
