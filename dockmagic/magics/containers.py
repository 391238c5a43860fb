"""Container magics: ``%docker_run``, ``%docker_start``, ``%%docker_shell``, ``%docker_stop``,
``%docker_rm``, ``%docker_ps``, ``%docker_images``, ``%docker_rmi``, ``%docker_dockerfile``.

Thin: parse the line, call an operation, show or return its result.
"""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..errors import BuildCancelled, DockerBuildError
from ..operations import containers, session_dockerfile, shell
from ..operations.names import check_image_reference
from ..views.display import in_notebook_kernel
from .arguments import parse_line


def _check_out_name(name: str | None) -> None:
    if name is not None and not name.isidentifier():
        raise UsageError(f"-o {name!r} is not a Python name to bind the result to, e.g. -o result.")


@magics_class
class ContainerMagics(Magics):
    def __init__(self, shell, settings):
        super().__init__(shell)
        self.settings = settings

    def _network(self, given: str | None) -> str | None:
        return given or self.settings.network or None

    @magic_arguments()
    @argument("--name", help="Name the container (default: a name the engine makes up).")
    @argument("-e", "--env", action="append", default=[], metavar="K=V",
              help="Set an environment variable (repeatable); -e K alone passes this process's value of K.")
    @argument("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]",
              help="Mount a folder or volume (repeatable); a relative SRC is relative to the current folder.")
    @argument("-w", "--workdir", metavar="DIR", help="Working directory in the container (absolute).")
    @argument("--network", metavar="MODE", help="Network mode (host, none, ...). Default: %%config DockMagic.network.")
    @argument("-u", "--user", metavar="USER", help="User (name or uid[:gid]) to run as.")
    @argument("--entrypoint", metavar="PROGRAM", help="Run PROGRAM instead of the image's entrypoint.")
    @argument("-d", "--detach", action="store_true",
              help="Start it and return at once; it keeps running (removed when it exits, unless --keep).")
    @argument("--keep", action="store_true", help="Do not remove the container when it exits.")
    @argument("-o", "--out", metavar="NAME",
              help="Bind the result (.exit_code, .output, .container_id) to NAME in the notebook.")
    @argument("image", help="The image, e.g. busybox or myimage:1.0 (see %%docker_images).")
    @argument("command", nargs=argparse.REMAINDER, help="The program and its arguments (default: the image's).")
    @line_magic
    def docker_run(self, line):
        """Run a program in a new container, like ``docker run --rm``.

        Its stdout and stderr stream into the cell as they come (colours kept), and the container is
        removed when it exits (unless --keep). Nothing else is shown, so ``%docker_run figlet-image
        figlet hi`` shows just the banner. A non-zero exit raises ContainerError with the exit code (so
        "Run all" stops there). With -o NAME the result is bound to NAME: .exit_code, .output (the last
        256 KiB of stdout and stderr together: memory stays bounded however much the program prints)
        and .container_id. With -d the container is started and returned while it runs.

        Interrupting the cell kills the container and removes it. An image that is not on the engine is
        pulled once; if that fails the error says so (see the local images with %docker_images).

        Example::

            %docker_run busybox echo hello
            %docker_run -e NAME=you busybox sh -c 'echo hello $NAME'
            %docker_run -o r busybox ls /nowhere
        """
        args = parse_line(self.docker_run, line)
        _check_out_name(args.out)
        result = containers.run(
            args.image, args.command, name=args.name, environment=args.env, volumes=args.volume,
            workdir=args.workdir, network=self._network(args.network), user=args.user,
            entrypoint=args.entrypoint, detach=args.detach, keep=args.keep, check=False,
            engine=self.settings.engine(),
        )
        if args.out:
            self.shell.user_ns[args.out] = result
        if args.detach:
            return result
        if result.exit_code != 0:
            raise containers.run_failure(result)
        return None

    @magic_arguments()
    @argument("--name", help="Name the container, to use it in %%%%docker_shell NAME (default: made up).")
    @argument("--network", metavar="MODE", help="Network mode, e.g. host so that apt can download. "
              "Default: %%config DockMagic.network.")
    @argument("-e", "--env", action="append", default=[], metavar="K=V", help="Set an environment variable (repeatable).")
    @argument("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]", help="Mount a folder or volume (repeatable).")
    @argument("image", help="The image to start from, e.g. debian:bookworm.")
    @line_magic
    def docker_start(self, line):
        """Start a long-lived container for interactive work: the notebook's ``docker run -it``.

        The container keeps running (a shell with stdin held open) until %docker_stop or %docker_rm -f.
        Run cells in it with ``%%docker_shell NAME``; see what changed with %docker_diff NAME, save it
        with %docker_commit, get a Dockerfile with %docker_dockerfile NAME. Returns the container (name,
        id, image, state).

        Example::

            %docker_start debian:bookworm --name play --network host
        """
        args = parse_line(self.docker_start, line)
        return containers.start(args.image, name=args.name, network=self._network(args.network),
                                environment=args.env, volumes=args.volume, engine=self.settings.engine())

    @magic_arguments()
    @argument("name", help="The running container (see %%docker_ps).")
    @cell_magic
    def docker_shell(self, line, cell):
        """Run the cell in container NAME's persistent shell, as if typed into ``docker run -it``.

        The working directory, exported variables and shell functions carry over from cell to cell
        (bash when the image has it, else sh). If the shell ends (``exit``), the next cell starts a
        new one in the last directory with the exported variables (and, in bash, the functions)
        restored. Output streams as it comes. The cell fails with
        ContainerError (and its exit code) when its script fails; the shell keeps its state. Commands
        read no input (stdin is /dev/null, as in a Dockerfile's RUN): use -y with apt-get. Interrupting
        stops the running command, not the shell or the container. Each cell is recorded, for
        %docker_dockerfile NAME.

        Example::

            %%docker_shell play
            apt-get update && apt-get install -y figlet
        """
        args = parse_line(self.docker_shell, line)
        shell.run_cell(args.name, cell, engine=self.settings.engine())
        return None

    @magic_arguments()
    @argument("-t", "--time", type=int, default=None, metavar="SECONDS",
              help="Seconds to wait after SIGTERM before killing it (default 10; 1 for a container from "
                   "%%docker_start, whose idle shell ignores SIGTERM).")
    @argument("name", help="The container to stop.")
    @line_magic
    def docker_stop(self, line):
        """Stop a container (SIGTERM, then SIGKILL after -t seconds), as ``docker stop`` does. Returns it,
        now stopped; its files stay (see them with %docker_diff, remove it with %docker_rm)."""
        args = parse_line(self.docker_stop, line)
        return containers.stop(args.name, timeout=args.time, engine=self.settings.engine())

    @magic_arguments()
    @argument("-f", "--force", action="store_true", help="Remove running containers too (killing them).")
    @argument("names", nargs="+", metavar="NAME", help="The containers to remove.")
    @line_magic
    def docker_rm(self, line):
        """Remove containers. All names are checked first: an unknown one, or a running one without -f,
        is an error and nothing is removed."""
        args = parse_line(self.docker_rm, line)
        return containers.remove(args.names, force=args.force, engine=self.settings.engine())

    @magic_arguments()
    @argument("-a", "--all", action="store_true", help="Show stopped containers too.")
    @line_magic
    def docker_ps(self, line):
        """List the running containers (-a: all), as ``docker ps`` does: a table in a notebook, columns
        in a terminal. The result's .rows and .records hold the data."""
        args = parse_line(self.docker_ps, line)
        return containers.list_containers(all=args.all, engine=self.settings.engine())

    @magic_arguments()
    @line_magic
    def docker_images(self, line):
        """List the local images, as ``docker images`` does: a table in a notebook, columns in a
        terminal."""
        parse_line(self.docker_images, line)
        return containers.list_images(engine=self.settings.engine())

    @magic_arguments()
    @argument("-f", "--force", action="store_true", help="Remove them even if stopped containers use them.")
    @argument("images", nargs="+", metavar="IMAGE", help="The images (names or ids) to remove.")
    @line_magic
    def docker_rmi(self, line):
        """Remove images. All are checked first: an unknown one is an error and nothing is removed.
        Prints what was untagged and deleted, as ``docker rmi`` does."""
        args = parse_line(self.docker_rmi, line)
        return containers.remove_images(args.images, force=args.force, engine=self.settings.engine())

    @magic_arguments()
    @argument("name", help="The container whose %%%%docker_shell session to write down.")
    @argument("--build", metavar="TAG", help="Build the Dockerfile as TAG and show which files differ from "
              "the committed image (or the container).")
    @argument("-o", "--out", metavar="PATH", help="Write the Dockerfile to PATH.")
    @argument("--cmd", metavar="COMMAND", help="The CMD to write (split like a shell), e.g. --cmd 'figlet hi'. "
              "Default: the CMD of the image committed from the container, if it differs from the base's.")
    @argument("--network", metavar="MODE", help="Network mode for the build's RUN steps. Default: "
              "%%config DockMagic.network, else the container's (e.g. host).")
    @line_magic
    def docker_dockerfile(self, line):
        """The Dockerfile that reproduces the ``%%docker_shell`` session of container NAME.

        FROM the container's image; one RUN per cell that succeeded (failed and interrupted cells are
        left out); WORKDIR where the directory changed and ENV where exported variables changed (a cell
        that only does cd/export becomes just that); bash functions a cell calls are defined in its RUN
        (sh, e.g. busybox, cannot list its functions: there a cell calling a function defined in an
        earlier cell needs editing).
        CMD: --cmd, else the one committed with %docker_commit (found by the image's Container field)
        when it differs from the base image's. Not carried over: unexported shell variables and aliases.

        --build TAG builds it (network: --network, the setting, else the container's, so apt works as
        it did) and lists the files that differ from the committed image, leaving out logs, caches,
        /tmp and shell history. Returns the result (.text, .differences, .build, .reproduces).

        Example::

            %docker_dockerfile play --build figlet-rebuilt -o Dockerfile
        """
        args = parse_line(self.docker_dockerfile, line)
        engine = self.settings.engine()
        if args.build:
            check_image_reference(args.build, what="tag")
        result = session_dockerfile.session_dockerfile(args.name, cmd=args.cmd, engine=engine)
        if args.out:
            session_dockerfile.write_dockerfile(result, args.out)
        if args.build:
            self._rebuild(result, args, engine)
        return result

    def _rebuild(self, result, args, engine):
        from ..views.build_text import CliBuildPrinter

        live = self.settings.live_view and in_notebook_kernel()
        options = {"log_dir": self.settings.log_dir or None}
        view = handle = printer = None
        if live:
            def show_live(progress):
                nonlocal view, handle
                from ..views.build_widget import LiveBuildView

                view = LiveBuildView(progress)
                handle = display(view, display_id=True)

            options["watch"] = show_live
        else:
            printer = CliBuildPrinter()
            options["on_event"] = printer
        build_result = None
        try:
            session_dockerfile.rebuild(result, args.build, network=self._network(args.network), engine=engine,
                                       **options)
            build_result = result.build
        except (DockerBuildError, BuildCancelled) as error:
            build_result = error.result
            raise
        finally:
            if view is not None:
                view.flush()
                view.close()
                handle.update(view)
            if printer is not None and build_result is not None and build_result.progress is not None:
                printer.finish(build_result.progress)
