"""``%docker_diff``: what a container changed in its filesystem."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import InvalidInput, NotFound
from ..operations.diff import container_diff
from ..operations.image_diff import image_diff
from ..operations.replay import record_diff
from .base import DockmagicMagics
from .options import out_option, parse_line, record_option


@magics_class
class DiffMagics(DockmagicMagics):
    @magic_arguments()
    @argument("container", help="The container's name or id (running or stopped); or, with a second name "
                                "or --base, the first image to compare.")
    @argument("image_b", nargs="?", metavar="IMAGE_B", default=None,
              help="Compare the image CONTAINER with this image: files and packages (dpkg, pip, conda).")
    @argument("--base", action="store_true",
              help="Compare the image CONTAINER with the local image it was built FROM.")
    @record_option("the change list")
    @argument("--sizes", action="store_true", default=None,
              help="Measure each added or changed file even when that is not cheap (streams the added "
                   "directories' contents and stats other paths through the archive API; see "
                   "dockmagic.operations.diff). Without it, sizes are measured where cheap.")
    @argument("--no-sizes", dest="sizes", action="store_false", help="Do not measure the files' sizes.")
    @out_option("the diff (.changes, .added, .changed, .deleted, .counts, .tree)")
    @line_magic
    def docker_diff(self, line):
        """Show what a container changed in its filesystem since it was created, as ``docker diff`` does.

        In a notebook: a tree of the changes with A (added), C (changed) and D (deleted) badges, counts
        by kind, toggles to show or hide each kind and a path filter; folders open on click and load
        from the kernel a page at a time, so a diff of 100,000 paths opens at once. In a terminal: the
        lines ``docker diff`` prints.

        Returns the diff: .changes (each with .kind and .path, in docker diff's order), .added,
        .changed, .deleted, .counts, .tree, and .sizes (the bytes of each added or changed file, measured
        where cheap: at most 64 requests to the engine and 5,000 changes; --sizes always, --no-sizes
        never; the header says when they were not); str() of it is docker diff's text.

        With two images, ``%docker_diff IMAGE_A IMAGE_B``, or one image and --base (the local image it
        was built FROM), compares images as container-diff did: the files added, changed and deleted with
        their bytes (as the tree), and the packages of dpkg, pip and conda (a table). Returns .changes
        (kind, path, size) and .packages (manager, name, kind, old_version, new_version, size).

        Example::

            d = %docker_diff play
            %docker_diff my-notebook:1.0 --base
            d.added[:5]
        """
        args = parse_line(self.docker_diff, line)
        if args.image_b is not None or args.base:
            if args.record or args.sizes:
                raise InvalidInput("--record and --sizes are for a container's diff; an image diff has sizes.")
            engine = self.settings.engine()
            _check_not_container(engine, [args.container] + ([args.image_b] if args.image_b else []))
            return self.show(self.bind(args, image_diff(args.container, args.image_b, base=args.base,
                                                        engine=engine)))
        result = container_diff(args.container, engine=self.settings.engine(), sizes=args.sizes)
        if args.record:
            record_diff(result, args.record)
        return self.show(self.bind(args, result))


def _check_not_container(engine, names: list[str]) -> None:
    """An image diff names images: a name that is only a container's gets a clear error."""
    for name in names:
        try:
            engine.inspect_image(name)
            continue
        except NotFound:
            pass
        try:
            engine.inspect_container(name)
        except NotFound:
            continue  # image_diff names the missing image
        raise InvalidInput(f"{name!r} is a container, not an image: compare images with %docker_diff IMAGE_A "
                           f"IMAGE_B, or see a container's changes with %docker_diff {name} alone.")
