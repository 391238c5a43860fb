"""``%docker_info``: which engine the kernel talks to."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import magic_arguments

from ..operations.info import engine_info
from .base import DockmagicMagics
from .options import out_option, parse_line


@magics_class
class EngineMagics(DockmagicMagics):
    @magic_arguments()
    @out_option("the engine's description (.available, .name, .version, ...)")
    @line_magic
    def docker_info(self, line):
        """Show which container engine this kernel talks to (name, version, API version, address), or,
        when none answers, what was tried and how to connect one. Returns an object with ``.available``.

        The engine is chosen as docker-py chooses it (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH),
        or by ``%config DockMagic.docker_host``.
        """
        args = parse_line(self.docker_info, line)
        info = engine_info(self.settings.docker_host or None, timeout=self.settings.connect_timeout)
        self.bind(args, info)
        return info
