"""Container magics: ``%docker_run``, ``%docker_start``, ``%%docker_shell``, ``%docker_stop``,
``%docker_rm`` and ``%docker_ps``: running programs in containers and looking after them."""

from __future__ import annotations

import argparse

from IPython.core.magic import cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import ContainerError
from ..operations import containers, shell
from .base import DockmagicMagics
from .options import environment_and_volume_options, keep_going_option, network_option, out_option, parse_line


@magics_class
class ContainerMagics(DockmagicMagics):
    @magic_arguments()
    @argument("--name", help="Name the container (default: a name the engine makes up).")
    @environment_and_volume_options
    @argument("-w", "--workdir", metavar="DIR", help="Working directory in the container (absolute).")
    @network_option()
    @argument("-u", "--user", metavar="USER", help="User (name or uid[:gid]) to run as.")
    @argument("--entrypoint", metavar="PROGRAM", help="Run PROGRAM instead of the image's entrypoint.")
    @argument("-d", "--detach", action="store_true",
              help="Start it and return at once; it keeps running (removed when it exits, unless --keep).")
    @argument("--keep", action="store_true", help="Do not remove the container when it exits.")
    @out_option("the result (.exit_code, .output, .container_id)")
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
        result = containers.run(
            args.image, args.command, name=args.name, environment=args.env, volumes=args.volume,
            workdir=args.workdir, network=self.network(args.network), user=args.user,
            entrypoint=args.entrypoint, detach=args.detach, keep=args.keep, check=False,
            engine=self.settings.engine(),
        )
        self.bind(args, result)
        if args.detach:
            return result
        if result.exit_code != 0:
            raise containers.run_failure(result)
        return None

    @magic_arguments()
    @argument("--name", help="Name the container, to use it in %%%%docker_shell NAME (default: made up).")
    @network_option("Network mode, e.g. host so that apt can download")
    @environment_and_volume_options
    @out_option("the container (.name, .id, .image, .state)")
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
        started = containers.start(args.image, name=args.name, network=self.network(args.network),
                                   environment=args.env, volumes=args.volume, engine=self.settings.engine())
        return self.bind(args, started)

    @magic_arguments()
    @keep_going_option
    @argument("name", help="The running container (see %%docker_ps).")
    @cell_magic
    def docker_shell(self, line, cell):
        """Run the cell in container NAME's persistent shell, as if typed into ``docker run -it``.

        The working directory, exported variables and shell functions carry over from cell to cell
        (bash when the image has it, else sh). If the shell ends (``exit``), the next cell starts a
        new one in the last directory with the exported variables (and, in bash, the functions)
        restored. Output streams as it comes, and the cell ends with its exit status ("exit status
        127"): the status of its last command, as with ``sh -c`` (``set -e`` stops at the first failure).
        A cell whose status is not 0 raises ContainerError (with .exit_code), so "Run all" stops there;
        with --keep-going it only shows the status. The shell keeps its state either way. A first line
        ``# dockmagic: skip`` leaves the cell out of %docker_dockerfile. Commands
        read no input (stdin is /dev/null, as in a Dockerfile's RUN): use -y with apt-get. Interrupting
        stops the running command, not the shell or the container. Each cell is recorded, for
        %docker_dockerfile NAME.

        Example::

            %%docker_shell play
            apt-get update && apt-get install -y figlet
        """
        args = parse_line(self.docker_shell, line)
        # IPython counts the running cell before running it: its In [n] is one less.
        execution_count = self.shell.execution_count - 1 if self.shell.execution_count > 1 else None
        try:
            record = shell.run_cell(args.name, cell, engine=self.settings.engine(), check=not args.keep_going,
                                    execution_count=execution_count)
        except ContainerError as error:
            if getattr(error, "record", None) is not None:
                self.results.publish(error.record)
            raise
        self.results.publish(record)
        return None

    @magic_arguments()
    @argument("-t", "--time", type=int, default=None, metavar="SECONDS",
              help="Seconds to wait after SIGTERM before killing it (default 10; 1 for a container from "
                   "%%docker_start, whose idle shell ignores SIGTERM).")
    @out_option("the stopped container")
    @argument("name", help="The container to stop.")
    @line_magic
    def docker_stop(self, line):
        """Stop a container (SIGTERM, then SIGKILL after -t seconds), as ``docker stop`` does. Returns it,
        now stopped; its files stay (see them with %docker_diff, remove it with %docker_rm)."""
        args = parse_line(self.docker_stop, line)
        return self.bind(args, containers.stop(args.name, timeout=args.time, engine=self.settings.engine()))

    @magic_arguments()
    @argument("-f", "--force", action="store_true", help="Remove running containers too (killing them).")
    @out_option("what was removed")
    @argument("names", nargs="+", metavar="NAME", help="The containers to remove.")
    @line_magic
    def docker_rm(self, line):
        """Remove containers. All names are checked first: an unknown one, or a running one without -f,
        is an error and nothing is removed."""
        args = parse_line(self.docker_rm, line)
        return self.bind(args, containers.remove(args.names, force=args.force, engine=self.settings.engine()))

    @magic_arguments()
    @argument("-a", "--all", action="store_true", help="Show stopped containers too.")
    @out_option("the table (.rows, .records)")
    @line_magic
    def docker_ps(self, line):
        """List the running containers (-a: all), as ``docker ps`` does: a table in a notebook, columns
        in a terminal. The result's .rows and .records hold the data."""
        args = parse_line(self.docker_ps, line)
        return self.bind(args, containers.list_containers(all=args.all, engine=self.settings.engine()))
