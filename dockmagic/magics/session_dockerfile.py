"""``%docker_dockerfile``: the Dockerfile that reproduces a ``%%docker_shell`` session, rebuilt on demand."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import BuildCancelled, DockerBuildError
from ..operations import session_dockerfile
from ..operations.names import check_image_reference
from .base import DockmagicMagics
from .display import BuildDisplay
from .options import network_option, out_option, parse_line


@magics_class
class SessionDockerfileMagics(DockmagicMagics):
    @magic_arguments()
    @argument("name", help="The container whose %%%%docker_shell session to write down.")
    @argument("--build", metavar="TAG", help="Build the Dockerfile as TAG and show which files differ from "
              "the committed image (or the container).")
    @argument("--file", metavar="PATH", help="Write the Dockerfile to PATH.")
    @out_option("the result (.text, .differences, .build, .reproduces)")
    @argument("--cmd", metavar="COMMAND", help="The CMD to write (split like a shell), e.g. --cmd 'figlet hi'. "
              "Default: the CMD of the image committed from the container, if it differs from the base's.")
    @argument("--skip", metavar="N[,N-M]", help="Leave out these cells (the numbers of the '# from cell N' "
              "comments), e.g. --skip 3,5; a cell whose first line is '# dockmagic: skip' is left out too.")
    @network_option("Network mode for the build's RUN steps", default="the container's (e.g. host)")
    @line_magic
    def docker_dockerfile(self, line):
        """The Dockerfile that reproduces the ``%%docker_shell`` session of container NAME.

        FROM the container's image; one RUN per cell that succeeded (failed and interrupted cells are
        left out), under a comment saying which cell it came from (``# from cell 3 (In [12])``: the
        session's cell number, and the notebook's). Leave one-off checks out with --skip 3,5 (those
        numbers) or a first line ``# dockmagic: skip`` in the cell; what such cells did to the
        directory and exported variables is kept, as the shell kept it. WORKDIR where the directory
        changed and ENV where exported variables changed (a cell that only does cd/export becomes just
        that); bash functions a cell calls are defined in its RUN
        (sh, e.g. busybox, cannot list its functions: there a cell calling a function defined in an
        earlier cell needs editing).
        CMD: --cmd, else the one committed with %docker_commit (found by the image's Container field)
        when it differs from the base image's. Not carried over: unexported shell variables and aliases.

        --build TAG builds it (network: --network, the setting, else the container's, so apt works as
        it did) and lists the files that differ from the committed image, leaving out logs, caches,
        /tmp and shell history. --file PATH writes it to PATH. Returns the result (.text, .differences,
        .build, .reproduces).

        Example::

            %docker_dockerfile play --build figlet-rebuilt --file Dockerfile
        """
        args = parse_line(self.docker_dockerfile, line)
        engine = self.settings.engine()
        if args.build:
            check_image_reference(args.build, what="tag")
        result = session_dockerfile.session_dockerfile(args.name, cmd=args.cmd, skip=args.skip or "", engine=engine)
        self.bind(args, result)
        if args.file:
            session_dockerfile.write_dockerfile(result, args.file)
        if args.build:
            self._rebuild(result, args, engine)
        return result

    def _rebuild(self, result, args, engine) -> None:
        shown = BuildDisplay(self.settings)
        build_result = None
        try:
            session_dockerfile.rebuild(result, args.build, network=self.network(args.network), engine=engine,
                                       **shown.build_options(), **self.settings.build_log_options())
            build_result = result.build
        except (DockerBuildError, BuildCancelled) as error:
            build_result = error.result
            raise
        finally:
            shown.finish(build_result)
