"""``%%dockerfile``: the cell is the Dockerfile."""

from __future__ import annotations

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..parsing.dockerfile import find_problems
from ..errors import BuildCancelled, DockerBuildError
from ..operations.build import BuildResult, build, failure_message, parse_key_values
from ..operations.replay import recording_kind, replay_build, replay_diff
from ..views.build_text import CliBuildPrinter
from ..views.display import in_notebook_kernel
from ..views.dockerfile_check import DockerfileCheck
from .arguments import parse_line


@magics_class
class BuildMagics(Magics):
    def __init__(self, shell, settings):
        super().__init__(shell)
        self.settings = settings

    @magic_arguments()
    @argument("-t", "--tag", action="append", default=[], help="Name the image (repeatable): -t hello -t hello:1.0")
    @argument("--context", metavar="DIR", help="Send DIR as the build context (its .dockerignore is honoured). "
              "Default: a context holding only the Dockerfile.")
    @argument("--build-arg", action="append", default=[], metavar="K=V", help="Set a build argument (repeatable).")
    @argument("--target", metavar="STAGE", help="Build up to this stage of a multi-stage Dockerfile.")
    @argument("--no-cache", action="store_true", help="Run every step again instead of using the build cache.")
    @argument("--pull", action="store_true", help="Always try to pull a newer version of the base images.")
    @argument("--network", metavar="MODE", help="Network mode for RUN steps (e.g. host). "
              "Default: %%config DockMagic.network.")
    @argument("--label", action="append", default=[], metavar="K=V", help="Add a label to the image (repeatable).")
    @argument("-o", "--out", metavar="NAME", help="Bind the build's result object to NAME in the notebook.")
    @argument("--quiet", action="store_true", help="No live view: show only the final summary.")
    @argument("--check", action="store_true", help="Do not build: list the steps and the problems of the "
              "Dockerfile by line (works with no engine).")
    @argument("--record", metavar="FILE", help="Also save the engine's raw build stream to FILE (JSON lines), "
              "for %%docker_replay.")
    @cell_magic
    def dockerfile(self, line, cell):
        """Build the cell's Dockerfile, showing each step live.

        The view shows the build's state, step i of N, elapsed time and cache hits; one row per step
        (instruction, state, time, layer id) that opens to its log; a failing step opens by itself and
        its exit code and last lines are repeated at the top. In a terminal the progress prints as the
        docker CLI prints it.

        A failed build raises DockerBuildError (so "Run all" stops there) and tags nothing; an
        interrupt cancels the build and removes its intermediate containers. The result (``-o NAME``)
        has .ok, .image_id, .tags, .seconds, .size, .steps (each with .instruction, .cached, .seconds,
        .layer_id, .log) and .error.

        Example::

            %%dockerfile -t hello
            FROM busybox
            RUN echo hello
            CMD ["echo", "hi"]
        """
        args = parse_line(self.dockerfile, line)
        if args.check:
            return self._check(cell, args)
        if self.settings.replaying:
            return self._replay_cell(args)
        build_args = parse_key_values(args.build_arg, "--build-arg")
        labels = parse_key_values(args.label, "--label")
        options = dict(
            tags=args.tag, context=args.context, build_args=build_args, labels=labels, target=args.target,
            no_cache=args.no_cache, pull=args.pull, network=args.network or self.settings.network or None,
            log_dir=self.settings.log_dir or None, record=args.record or self._recording_path(),
            context_warning_bytes=self.settings.context_warning_bytes,
        )
        live = not args.quiet and self.settings.live_view and in_notebook_kernel()
        handle = None
        view = None
        printer = None

        def show_live(progress):
            nonlocal handle, view
            from ..views.build_widget import LiveBuildView

            view = LiveBuildView(progress)
            handle = display(view, display_id=True)

        if not live and not args.quiet:
            printer = CliBuildPrinter()
        try:
            result = build(
                cell, engine=self.settings.engine(),
                watch=show_live if live else None, on_event=printer, **options,
            )
        except (DockerBuildError, BuildCancelled) as error:
            self._finish(view, handle, printer, error.result, args)
            raise
        self._finish(view, handle, printer, result, args)
        return None

    def _recording_path(self):
        """Where %docker_recordings keeps this cell's build stream, when it is on."""
        if self.settings.current_recording is None:
            return None
        recordings, key = self.settings.current_recording
        return recordings.path(key, ".stream.jsonl")

    def _replay_cell(self, args):
        recordings, key, _ = self.settings.replaying
        progress = replay_build(recordings.path(key, ".stream.jsonl"), log_dir=self.settings.log_dir or None)
        result = BuildResult.from_progress(progress)
        self._show_replay(progress, result, args.quiet)
        if args.out:
            self.shell.user_ns[args.out] = result
        if not result.ok:
            raise DockerBuildError(failure_message(result), result)
        return None

    def _show_replay(self, progress, result, quiet=False):
        if self.settings.live_view and in_notebook_kernel() and not quiet:
            from ..views.build_widget import LiveBuildView

            view = LiveBuildView(progress)
            view.flush()
            display(view)
        else:
            display(result)

    def _check(self, cell, args):
        instructions, problems = find_problems(cell)
        check = DockerfileCheck(instructions, problems)
        if args.out:
            self.shell.user_ns[args.out] = check
        display(check)
        return None

    @magic_arguments()
    @argument("file", help="A recording made with %%%%dockerfile --record FILE or %%docker_diff --record FILE.")
    @argument("-o", "--out", metavar="NAME", help="Bind the replayed build's result (or diff) to NAME.")
    @line_magic
    def docker_replay(self, line):
        """Show a recorded build or diff in the same view as a live one, marked as a replay with the time
        it was recorded. Needs no engine: this is how a notebook shows a real build where none is reachable.

        Example::

            %docker_replay recordings/figlet-build.jsonl
        """
        args = parse_line(self.docker_replay, line)
        if recording_kind(args.file) == "diff":
            diff = replay_diff(args.file)
            if args.out:
                self.shell.user_ns[args.out] = diff
            image_magics = self.shell.magics_manager.registry.get("ImageMagics")
            if image_magics is not None:
                image_magics._publish(diff)
            else:
                display(diff)
            return None
        progress = replay_build(args.file, log_dir=self.settings.log_dir or None)
        result = BuildResult.from_progress(progress)
        if args.out:
            self.shell.user_ns[args.out] = result
        self._show_replay(progress, result)
        return None

    def _finish(self, view, handle, printer, result, args):
        if view is not None:
            view.flush()
            view.close()
            handle.update(view)
        if printer is not None and result is not None and result.progress is not None:
            printer.finish(result.progress)
        if args.quiet and result is not None:
            display(result)
        if args.out and result is not None:
            self.shell.user_ns[args.out] = result
