"""``%docker_diff``, ``%docker_commit`` and ``%docker_history``: what a container changed, keeping it as an
image, and what an image's layers hold."""

from __future__ import annotations

import weakref

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..operations.commit import CommitResult, commit
from ..operations.diff import ContainerDiff, container_diff
from ..operations.history import ImageHistory, image_history
from ..operations.replay import record_diff
from ..views.display import in_notebook_kernel
from .arguments import parse_line


@magics_class
class ImageMagics(Magics):
    def __init__(self, shell, settings):
        super().__init__(shell)
        self.settings = settings
        self._just_shown = None
        if shell is not None:
            # Each magic shows its result and returns it. Without this, a bare `%docker_diff play` would
            # show it a second time as the cell's Out; with it, IPython shows a result through
            # _display_result, which skips the one the magic showed in this same cell.
            formatter = shell.display_formatter.ipython_display_formatter
            for result_type in (ContainerDiff, CommitResult, ImageHistory):
                formatter.for_type(result_type, self._display_result)

    @magic_arguments()
    @argument("container", help="The container's name or id (running or stopped).")
    @argument("--record", metavar="FILE", help="Also save the change list to FILE (JSON lines), for %%docker_replay.")
    @argument("--sizes", action="store_true",
              help="Also measure each added or changed file (streams the added directories' contents "
                   "and stats other paths through the archive API; see dockmagic.operations.diff).")
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
        return self._show(result)

    @magic_arguments()
    @argument("-m", "--message", default="", help="Commit message (shown by docker history as the comment).")
    @argument("-a", "--author", default="", help='Author, e.g. "Ada <ada@example.org>".')
    @argument("-c", "--change", action="append", default=[], metavar="INSTRUCTION",
              help="Apply a Dockerfile instruction to the image (repeatable): CMD, ENTRYPOINT, ENV, "
                   "EXPOSE, LABEL, USER, WORKDIR or VOLUME, e.g. -c 'CMD [\"figlet\"]'.")
    @argument("--no-pause", action="store_true", help="Do not pause a running container while committing.")
    @argument("container", help="The container's name or id.")
    @argument("repository", metavar="REPO[:TAG]", help="The new image's name, e.g. figlet or team/figlet:1.0.")
    @line_magic
    def docker_commit(self, line):
        """Save a container's changes as a new image, as ``docker commit`` does.

        The name and every -c change are checked before anything is sent: an invalid name or change
        commits nothing. Shows the new layer's size and what it holds (paths added, changed and
        deleted, from a diff taken just before committing).

        Returns the result: .image_id, .tags, .size (the image), .layer_size (the new layer), .counts.

        Example::

            %docker_commit -m "with figlet" -c 'CMD ["figlet", "hello"]' play figlet:1.0
        """
        args = parse_line(self.docker_commit, line)
        result = commit(
            args.container, args.repository, message=args.message, author=args.author, changes=args.change,
            pause=not args.no_pause, engine=self.settings.engine(),
        )
        return self._show(result)

    @magic_arguments()
    @argument("image", help="The image's name or id.")
    @argument("--no-files", action="store_true",
              help="Only the layers, as docker history lists them (skips reading the saved image).")
    @line_magic
    def docker_history(self, line):
        """Show an image's layers, newest first, as ``docker history`` does, and what each one holds.

        Each layer opens to the files it added, changed or deleted, with the bytes it adds and the
        bytes that later layers hide ("wasted": its files that a later layer overwrites or deletes).
        The files come from one ``docker save`` of the image, read as a stream (contents are skipped).

        Returns the history: .layers (newest first, each with .id, .created_by, .size, .comment,
        .files, .added_bytes, .wasted_bytes) and .wasted_bytes for the whole image.

        Example::

            h = %docker_history figlet:1.0
            h.layers[0].files
        """
        args = parse_line(self.docker_history, line)
        result = image_history(args.image, engine=self.settings.engine(), files=not args.no_files)
        return self._show(result)

    # -- showing results ------------------------------------------------------------------------------

    def _show(self, result):
        self._publish(result)
        self._just_shown = (self.shell.execution_count if self.shell else None, weakref.ref(result))
        return result

    def _publish(self, result) -> None:
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
        self._publish(result)
