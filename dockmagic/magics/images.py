"""Image magics: ``%docker_images``, ``%docker_rmi``, ``%docker_history`` and ``%docker_commit``: the local
images, what each layer holds, and keeping a container's changes as a new one."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import InvalidInput
from ..operations import containers
from ..operations.commit import commit
from ..operations.history import image_history
from .base import DockmagicMagics
from .options import out_option, parse_line


@magics_class
class ImageMagics(DockmagicMagics):
    @magic_arguments()
    @out_option("the table (.rows, .records)")
    @line_magic
    def docker_images(self, line):
        """List the local images, as ``docker images`` does: a table in a notebook, columns in a
        terminal."""
        args = parse_line(self.docker_images, line)
        return self.bind(args, containers.list_images(engine=self.settings.engine()))

    @magic_arguments()
    @argument("-f", "--force", action="store_true", help="Remove them even if stopped containers use them.")
    @out_option("what was untagged and deleted")
    @argument("images", nargs="+", metavar="IMAGE", help="The images (names or ids) to remove.")
    @line_magic
    def docker_rmi(self, line):
        """Remove images. All are checked first: an unknown one is an error and nothing is removed.
        Prints what was untagged and deleted, as ``docker rmi`` does."""
        args = parse_line(self.docker_rmi, line)
        return self.bind(args, containers.remove_images(args.images, force=args.force,
                                                        engine=self.settings.engine()))

    @magic_arguments()
    @argument("-m", "--message", default="", help="Commit message (shown by docker history as the comment).")
    @argument("-a", "--author", default="", help='Author, e.g. "Ada <ada@example.org>".')
    @argument("-c", "--change", action="append", default=[], metavar="INSTRUCTION",
              help="Apply a Dockerfile instruction to the image (repeatable): CMD, ENTRYPOINT, ENV, "
                   "EXPOSE, LABEL, USER, WORKDIR or VOLUME, e.g. -c 'CMD [\"figlet\"]'.")
    @argument("--no-pause", action="store_true", help="Do not pause a running container while committing.")
    @out_option("the commit's result (.image_id, .tags, .size, .layer_size, .counts)")
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
        return self.show(self.bind(args, result))

    @magic_arguments()
    @argument("image", help="The image's name or id.")
    @argument("--no-files", action="store_true",
              help="Only the layers, as docker history lists them (skips reading the saved image).")
    @argument("--treemap", action="store_true",
              help="Show the image by size instead: a treemap of its folders, coloured by layer; click to zoom.")
    @out_option("the history (.layers, .wasted_bytes)")
    @line_magic
    def docker_history(self, line):
        """Show an image's layers, newest first, as ``docker history`` does, and what each one holds.

        Each layer opens to the files it added, changed or deleted, with the bytes it adds and the
        bytes that later layers hide ("wasted": its files that a later layer overwrites or deletes).
        The files come from one ``docker save`` of the image, read as a stream (contents are skipped).

        Below the layers: dive's efficiency score and the wasted files (path, bytes, the layer that wrote
        it, the layer that removed or overwrote it). With --treemap: the image's folders by size as a
        treemap coloured by layer (click a folder to zoom in); text: the largest folders.

        Returns the history: .layers (newest first, each with .id, .created_by, .size, .comment,
        .files, .added_bytes, .wasted_bytes), .wasted_bytes for the whole image, .efficiency,
        .wasted_files and .treemap().

        Example::

            h = %docker_history figlet:1.0
            h.layers[0].files
        """
        args = parse_line(self.docker_history, line)
        if args.treemap and args.no_files:
            raise InvalidInput("--treemap needs the image's files: leave out --no-files.")
        result = image_history(args.image, engine=self.settings.engine(), files=not args.no_files)
        if args.treemap:
            self.bind(args, result)
            return self.show(result.treemap())
        return self.show(self.bind(args, result))
