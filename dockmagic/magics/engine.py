"""``%docker_info``: which engine the kernel talks to; ``%docker_context``: the Docker contexts, and switching."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..operations.contexts import context_table, use_context
from ..operations.info import engine_info
from .base import DockmagicMagics
from .options import out_option, parse_line


@magics_class
class EngineMagics(DockmagicMagics):
    @magic_arguments()
    @out_option("the engine's description (.available, .name, .version, .context, ...)")
    @line_magic
    def docker_info(self, line):
        """Show which container engine this kernel talks to (name, version, API version, address, and the
        Docker context that chose it), or, when none answers, what was tried and how to connect one.
        Returns an object with ``.available``.

        The engine is chosen as the docker CLI chooses it: ``%config DockMagic.docker_host``, then
        DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), then the Docker context named by
        DOCKER_CONTEXT or by ``currentContext`` in ~/.docker/config.json (see ``%docker_context``), then the
        local Docker and Podman sockets.
        """
        args = parse_line(self.docker_info, line)
        info = engine_info(self.settings.docker_host or None, timeout=self.settings.connect_timeout)
        self.bind(args, info)
        return info

    @magic_arguments()
    @argument("name", nargs="?", help="The context this kernel should use from now on ('default': "
              "DOCKER_HOST or the local sockets). Without it: list the contexts.")
    @out_option("the table of contexts (.contexts, .current, .in_use, .chosen_by)")
    @line_magic
    def docker_context(self, line):
        """List the Docker contexts (as ``docker context ls``: ``*`` marks the docker CLI's current one) and
        say which one this kernel uses and why; with NAME, make this kernel use context NAME.

        Switching sets DOCKER_CONTEXT=NAME in this kernel only, as ``export DOCKER_CONTEXT=NAME`` does in a
        shell: the kernel's engine and the ``!docker`` commands it runs follow NAME, while ~/.docker/config.json
        (``docker context use``, every other program's choice) is left alone. As for the docker CLI,
        DOCKER_HOST and ``%config DockMagic.docker_host`` still come first when set (the answer says so).
        Contexts are made with the docker CLI: ``docker context create NAME --docker host=...``.
        """
        args = parse_line(self.docker_context, line)
        docker_host = self.settings.docker_host or None
        table = use_context(args.name, docker_host) if args.name else context_table(docker_host)
        self.bind(args, table)
        return table
