"""Registry magics: ``%docker_pull``, ``%docker_push`` and ``%docker_login``, with the credentials
``docker login`` keeps in docker's config.json."""

from __future__ import annotations

import getpass

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..models.transfer import PULL, PUSH, TransferProgress
from ..operations import registry
from ..views.display import in_notebook_kernel
from .base import DockmagicMagics
from .options import out_option, parse_line, quiet_option


class TransferDisplay:
    """A pull or push as it runs: the live widget in a notebook kernel (``DockMagic.live_view``), the
    docker CLI's lines in a terminal (a line each time a layer changes phase), or nothing with quiet."""

    def __init__(self, settings, progress: TransferProgress, quiet: bool = False):
        self.view = self.handle = None
        self._printed: dict[str, str] = {}
        self._notes = 0
        if quiet:
            return
        if settings.live_view and in_notebook_kernel():
            from ..views.transfer_view import LiveTransferView

            self.view = LiveTransferView(progress)
            self.handle = display(self.view, display_id=True)
        else:
            progress.subscribe(self._print_new_lines)

    def _print_new_lines(self, progress: TransferProgress) -> None:
        from ..views.transfer_text import layer_line

        for kind, value in progress.lines():
            if kind == "layer":
                layer = progress.layers[value]
                if self._printed.get(value) != layer.status:
                    self._printed[value] = layer.status
                    print(layer_line(layer).split(" [", 1)[0])  # phases, not every byte count
        notes = [value for kind, value in progress.lines() if kind == "note"]
        for note in notes[self._notes:]:
            print(note)
        self._notes = len(notes)

    def finish(self, progress: TransferProgress) -> None:
        """Show the end: the widget's last state, or the summary line."""
        if self.view is not None:
            self.view.flush()
            self.view.close()
            self.handle.update(self.view)
        elif self._printed or self._notes:
            from ..views.transfer_text import transfer_summary

            print(transfer_summary(progress))


@magics_class
class RegistryMagics(DockmagicMagics):
    def _transfer(self, kind: str, line: str, magic):
        args = parse_line(magic, line)
        reference = registry.with_tag(args.image)
        progress = TransferProgress(kind, reference)
        shown = TransferDisplay(self.settings, progress, quiet=args.quiet)
        operation = registry.pull if kind == PULL else registry.push
        try:
            result = operation(reference, engine=self.settings.engine(), progress=progress)
        finally:
            shown.finish(progress)
        self.bind(args, result)

    @magic_arguments()
    @quiet_option
    @out_option("the pull's result (.reference, .digest, .progress)")
    @argument("image", metavar="IMAGE", help="The image, e.g. 127.0.0.1:5000/busybox:latest (tag: latest).")
    @line_magic
    def docker_pull(self, line):
        """Pull an image from its registry, as ``docker pull`` does, with the credentials that
        ``docker login`` or ``%docker_login`` stored in docker's config.json.

        Shows each layer's download and extraction with its bytes, the totals and the speed, and the
        layers the engine already has. Wrong credentials, an unknown image or a registry that does not
        answer end in one sentence saying what to do.

        Example::

            %docker_pull 127.0.0.1:5443/debian:bookworm
        """
        self._transfer(PULL, line, self.docker_pull)

    @magic_arguments()
    @quiet_option
    @out_option("the push's result (.reference, .digest, .progress)")
    @argument("image", metavar="IMAGE", help="The local image, named for its registry: REGISTRY/NAME[:TAG].")
    @line_magic
    def docker_push(self, line):
        """Push a local image to the registry its name gives, as ``docker push`` does, with the
        credentials from docker's config.json.

        Shows each layer's upload with its bytes, the totals and the speed, and the layers the registry
        already has. A push cut in the middle leaves no tag in the registry.

        Example::

            %docker_push 127.0.0.1:5000/figlet:1.0
        """
        self._transfer(PUSH, line, self.docker_push)

    @magic_arguments()
    @argument("-u", "--username", default="", help="The user name (asked for when not given).")
    @argument("registry", metavar="REGISTRY", help="The registry, host:port, e.g. 127.0.0.1:5443.")
    @line_magic
    def docker_login(self, line):
        """Log in to a registry, as ``docker login`` does: asks for the password without echoing it,
        checks it with the registry through the engine, and keeps it in docker's config.json (mode
        0600), where ``docker pull``, ``docker push`` and these magics find it.

        The password is never shown, and never kept in the notebook, its outputs or its variables.

        Example::

            %docker_login 127.0.0.1:5443 -u dockmagic
        """
        args = parse_line(self.docker_login, line)
        username = args.username or input(f"Username for {args.registry}: ").strip()
        print(registry.login(args.registry, username, getpass.getpass(f"Password for {username} at {args.registry}: "),
                             engine=self.settings.engine()))
