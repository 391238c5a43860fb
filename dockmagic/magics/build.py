"""``%%dockerfile``: the cell is the Dockerfile."""

from __future__ import annotations

from IPython.core.magic import cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..errors import BuildCancelled, DockerBuildError
from ..operations.build import BuildResult, build, failure_message, parse_key_values
from ..operations.build_choice import BUILDKIT, LEGACY, requested_builder
from ..operations.replay import replay_build
from ..parsing.dockerfile import find_problems
from ..views.dockerfile_check import DockerfileCheck
from .base import DockmagicMagics
from .display import BuildDisplay
from .options import builder_option, network_option, out_option, parse_line, quiet_option, record_option
from .recording import show_replayed_build


@magics_class
class BuildMagics(DockmagicMagics):
    @magic_arguments()
    @argument("-t", "--tag", action="append", default=[], help="Name the image (repeatable): -t hello -t hello:1.0")
    @argument("--context", metavar="DIR", help="Send DIR as the build context (its .dockerignore is honoured). "
              "Default: a context holding only the Dockerfile.")
    @argument("--build-arg", action="append", default=[], metavar="K=V", help="Set a build argument (repeatable).")
    @argument("--target", metavar="STAGE", help="Build up to this stage of a multi-stage Dockerfile.")
    @argument("--no-cache", action="store_true", help="Run every step again instead of using the build cache.")
    @argument("--pull", action="store_true", help="Always try to pull a newer version of the base images.")
    @network_option("Network mode for RUN steps (BuildKit takes host or none)")
    @builder_option
    @argument("--secret", action="append", default=[], metavar="id=NAME[,src=FILE|,env=VAR]",
              help="Give RUN --mount=type=secret,id=NAME a secret (repeatable): a file, or a variable of the "
              "kernel's environment (id=NAME alone: the variable NAME). Never in the image.")
    @argument("--label", action="append", default=[], metavar="K=V", help="Add a label to the image (repeatable).")
    @out_option("the build's result (with --check: the check)")
    @quiet_option
    @argument("--check", action="store_true", help="Do not build: list the steps and the problems of the "
              "Dockerfile by line (works with no engine).")
    @record_option("the engine's raw build stream")
    @cell_magic
    def dockerfile(self, line, cell):
        """Build the cell's Dockerfile, showing each step live.

        The view shows the build's state, step i of N, elapsed time and cache hits; one row per step
        (instruction, state, time, layer id) that opens to its log; a failing step opens by itself and
        its exit code and last lines are repeated at the top. In a terminal the progress prints as the
        docker CLI prints it.

        On Docker Engine the build runs with BuildKit (cache and bind mounts, ``COPY --chmod``, stages
        in parallel); ``--builder legacy`` (or DOCKER_BUILDKIT=0, or %config DockMagic.builder) runs the
        legacy builder, which Podman always uses (buildah). The footer says which builder ran.

        A failed build raises DockerBuildError (so "Run all" stops there) and tags nothing; an
        interrupt cancels the build and removes its intermediate containers. The result (``-o NAME``)
        has .ok, .image_id, .tags, .seconds, .size, .steps (each with .instruction, .cached, .seconds,
        .layer_id, .log, .stage, .started), .builder and .error.

        Example::

            %%dockerfile -t hello
            FROM busybox
            RUN echo hello
            CMD ["echo", "hi"]

        A step that needs a token reads it as a secret, which stays out of the image and its cache::

            %%dockerfile --secret id=token,src=~/.token
            FROM busybox
            RUN --mount=type=secret,id=token wc -c /run/secrets/token
        """
        args = parse_line(self.dockerfile, line)
        if args.check:
            return self._check(cell, args)
        if self.settings.replaying:
            return self._replay_cell(args)
        cell_id = self._cell_id()
        options = dict(
            tags=args.tag, context=args.context, build_args=parse_key_values(args.build_arg, "--build-arg"),
            labels=parse_key_values(args.label, "--label"), target=args.target, no_cache=args.no_cache,
            pull=args.pull, network=self.network(args.network), record=args.record or self._recording_path(),
            context_warning_bytes=self.settings.context_warning_bytes, **self.settings.build_log_options(),
            builder=args.builder, builder_setting=self.settings.builder, cache_key=cell_id,
            secrets=args.secret,
        )
        shown = BuildDisplay(self.settings, quiet=args.quiet, cell=(cell_id, self.shell.execution_count))
        try:
            result = build(cell, engine=self.settings.engine(), **shown.build_options(), **options)
        except (DockerBuildError, BuildCancelled) as error:
            self._finish(shown, error.result, args)
            raise
        except BaseException:
            shown.finish(None)  # the view, if the build had one, shows where it stopped
            raise
        self._finish(shown, result, args)
        return None

    def _finish(self, shown: BuildDisplay, result, args) -> None:
        shown.finish(result)
        if args.quiet and result is not None:
            display(result)
        self.bind(args, result)

    def _cell_id(self) -> str | None:
        """The notebook cell being run (JupyterLab and Notebook 7 send its id), so that a rebuild of the same
        cell is compared with its earlier build."""
        kernel = getattr(self.shell, "kernel", None)
        try:
            return kernel.get_parent()["metadata"].get("cellId") if kernel is not None else None
        except (AttributeError, KeyError, TypeError):
            return None

    def _recording_path(self):
        """Where %docker_recordings keeps this cell's build stream, when it is on."""
        if self.settings.current_recording is None:
            return None
        recordings, key = self.settings.current_recording
        return recordings.path(key, ".stream.jsonl")

    def _replay_cell(self, args):
        """The cell's build, replayed from its %docker_recordings stream (no engine is reachable)."""
        recordings, key, _ = self.settings.replaying
        progress = replay_build(recordings.path(key, ".stream.jsonl"), log_dir=self.settings.log_dir or None)
        result = BuildResult.from_progress(progress)
        show_replayed_build(self.settings, progress, result, args.quiet)
        self.bind(args, result)
        if not result.ok:
            raise DockerBuildError(failure_message(result), result)
        return None

    def _check(self, cell, args):
        builder, _ = requested_builder(args.builder, self.settings.builder)
        # With no engine asked, "auto" is checked as BuildKit: what Docker Engine builds with by default.
        instructions, problems = find_problems(cell, LEGACY if builder == LEGACY else BUILDKIT)
        check = DockerfileCheck(instructions, problems)
        self.bind(args, check)
        display(check)
        return None
