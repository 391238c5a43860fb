"""``%docker_info``: which engine the kernel talks to."""

from __future__ import annotations

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import magic_arguments, parse_argstring

from ..operations.info import engine_info


@magics_class
class EngineMagics(Magics):
    def __init__(self, shell, settings):
        super().__init__(shell)
        self.settings = settings

    @magic_arguments()
    @line_magic
    def docker_info(self, line):
        """Show which container engine this kernel talks to (name, version, API version, address), or,
        when none answers, what was tried and how to connect one. Returns an object with ``.available``.

        The engine is chosen as docker-py chooses it (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH),
        or by ``%config DockMagic.docker_host``.
        """
        parse_argstring(self.docker_info, line)
        return engine_info(self.settings.docker_host or None, timeout=self.settings.connect_timeout)
