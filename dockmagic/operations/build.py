"""Building an image from Dockerfile text: send the context, follow the stream, return a result.

``build()`` is the Python API behind ``%%dockerfile`` and needs no IPython. It validates what can be
validated before anything is sent, streams the engine's build events into a :class:`BuildProgress`
model (that views may watch), and on an interrupt closes the stream, which makes the daemon cancel the
build, then removes any intermediate container it left.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .. import notices
from ..engine import Engine, connect
from ..errors import BuildConnectionLost, DockerBuildError, DockerfileError, DockmagicError, InvalidInput
from ..models.build import DONE, FAILED, BuildProgress, StepProgress, row_key
from ..models.build_buildkit import BuildKitProgress
from ..parsing.build_stream import BuildEvent
from ..parsing.dockerfile import (
    LEGACY,
    builder_problems,
    check_buildable,
    from_image_and_stage,
    secret_mounts,
    stage_names,
)
from .build_buildkit import (
    BaseCheck,
    BasesMissing,
    network_mode,
    notifier,
    pull_bases,
    refuse_what_buildkit_cannot,
    run_buildkit_build,
)
from .build_choice import BUILDKIT, choose_builder
from .build_legacy import run_legacy_build
from .build_logs import KEEP_BUILD_LOGS, default_log_root, keep_while_alive, prune_build_logs, reserve_log_folder
from .build_records import ContextFingerprints, RecordStore, record_keys
from .build_secrets import add_podman_secrets, parse_secrets
from .cache_miss import BUILD_WIDE_REASONS, explain_build, step_places
from .context import (
    DOCKERFILE_NAME,
    ContextSummary,
    check_context_folder,
    folder_dockerfile_warning,
    make_context,
    summarize_context,
)
from .context_sync import SessionContext
from .names import check_image_reference

EventListener = Callable[[BuildEvent], None]

# A build context larger than this is sent after a warning (DockMagic.context_warning_bytes sets it).
CONTEXT_WARNING_BYTES = 500 * 1024 * 1024


@dataclass
class StepResult:
    """One step of a finished build: a Dockerfile instruction (or, in ``BuildResult.rows`` of a BuildKit
    build, an internal vertex), its ``stage`` (name, or index for an unnamed one; "" for a single-stage
    legacy build), ``started`` (Unix time) and ``seconds``."""

    number: int
    total: int
    instruction: str
    state: str
    seconds: float
    label: str
    layer_id: str | None
    log_path: str
    line_count: int
    _tail: list = field(default_factory=list, repr=False)
    stage: str = ""
    started: float | None = None
    internal: bool = False
    # Why it ran instead of coming from the cache, in one sentence (None: cached, or not a layer step).
    cache_miss: str | None = None
    # The bytes its layer adds to the image built (None: a step of another stage, or no layer).
    layer_size: int | None = None

    @property
    def cached(self) -> bool:
        return self.state == "cached"

    @property
    def log(self) -> str:
        """The step's whole output, read from its log file."""
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def tail(self, lines: int = 20) -> str:
        """The last lines of the step's output, as the views show them."""
        return "\n".join(text for text, _ in self._tail[-lines:])

    @classmethod
    def from_progress(cls, step: StepProgress) -> StepResult:
        return cls(step.number, step.total, step.instruction, step.state, round(step.seconds, 3), step.label,
                   step.layer_id, step.log_path, step.line_count, list(step.tail), stage=step.stage or "",
                   started=step.started_at, internal=getattr(step, "internal", False))


@dataclass
class BuildResult:
    """What a build gave: ``ok``, ``image_id`` (full ``sha256:`` id), ``tags``, ``seconds``, ``steps``
    (one per Dockerfile instruction, with their logs), ``error`` and ``exit_code`` when it failed, the image
    ``size`` in bytes, the ``builder`` that ran (``buildkit`` or ``legacy``) and, for BuildKit, ``rows``:
    the steps and the internal vertices, as the view shows them."""

    ok: bool
    state: str
    image_id: str | None
    tags: list[str]
    seconds: float
    steps: list[StepResult]
    error: str | None
    exit_code: int | None
    size: int | None
    engine: str
    log_dir: str
    warnings: list[str] = field(default_factory=list)
    progress: BuildProgress | None = field(default=None, repr=False, compare=False)
    builder: str = LEGACY
    rows: list[StepResult] = field(default_factory=list, repr=False)

    def __post_init__(self):
        if self.log_dir:
            keep_while_alive(self, self.log_dir)  # its steps' .log read from there

    @property
    def cached_steps(self) -> int:
        return sum(1 for step in self.steps if step.cached)

    @property
    def failed_step(self) -> StepResult | None:
        return next((step for step in self.steps if step.state == FAILED), None)

    @classmethod
    def from_progress(cls, progress: BuildProgress) -> BuildResult:
        rows = [StepResult.from_progress(step) for step in progress.steps]
        if progress.builder == LEGACY:
            _name_legacy_stages(rows)
        return cls(
            ok=progress.state == DONE,
            state=progress.state,
            image_id=progress.image_id,
            tags=list(progress.tags),
            seconds=round(progress.seconds, 3),
            steps=[row for row in rows if not row.internal],
            error=progress.error,
            exit_code=progress.exit_code,
            size=progress.size,
            engine=progress.engine,
            log_dir=progress.log_dir,
            warnings=list(progress.warnings),
            progress=progress,
            builder=progress.builder,
            rows=rows,
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..views.build_text import build_html, build_summary_text

        return {"text/plain": build_summary_text(self.progress), "text/html": build_html(self.progress)}

    def __str__(self) -> str:
        from ..views.build_text import build_summary_text

        return build_summary_text(self.progress)


def _name_legacy_stages(steps: list[StepResult]) -> None:
    """The legacy builder's steps run stage after stage, each from its FROM: give each its stage's name,
    or index for an unnamed one (as BuildKit's rows have them)."""
    index, name = -1, ""
    for step in steps:
        if step.instruction.split(None, 1)[0].upper() == "FROM":
            index += 1
            name = from_image_and_stage(step.instruction[len("FROM"):])[1] or str(index)
        step.stage = name if index >= 0 else ""


def parse_key_values(pairs: Iterable[str], what: str) -> dict[str, str]:
    """``["K=V", ...]`` as a dict; a pair without ``=`` is a clear error naming it."""
    values = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} {pair!r} is not KEY=VALUE. Write it as e.g. {what} NAME=value.")
        values[key] = value
    return values


def build(
    dockerfile: str,
    *,
    tags: Iterable[str] = (),
    context: str | None = None,
    build_args: dict[str, str] | None = None,
    target: str | None = None,
    no_cache: bool = False,
    pull: bool = False,
    network: str | None = None,
    labels: dict[str, str] | None = None,
    engine: Engine | None = None,
    log_dir: str | None = None,
    keep_build_logs: int | None = KEEP_BUILD_LOGS,
    max_log_bytes: int | None = None,
    check: bool = True,
    watch: Callable[[BuildProgress], None] | None = None,
    on_event: EventListener | None = None,
    record: str | None = None,
    context_warning_bytes: int | None = CONTEXT_WARNING_BYTES,
    notify=None,
    builder: str | None = None,
    builder_setting: str | None = None,
    cache_key: str | None = None,
    explain_cache: bool = True,
    records_dir: str | None = None,
    secrets: Iterable[str] | None = None,
) -> BuildResult:
    """Build ``dockerfile`` (the text of a Dockerfile) and return a :class:`BuildResult`.

    ``context`` is a folder sent with it (its .dockerignore honoured); without it, only the Dockerfile is
    sent. ``watch`` is called once with the live :class:`BuildProgress` before the stream starts (views
    subscribe there); ``on_event`` receives each parsed event. A failed build raises
    :class:`DockerBuildError` (its ``.result`` holds the steps and logs; :class:`BuildConnectionLost`, also
    an ``EngineConnectionLost``, when the engine stopped answering) unless ``check=False``; an
    interrupt raises :class:`BuildCancelled` after the stream is closed and leftovers are removed.
    ``record`` names a JSON-lines file that receives the engine's raw stream. A context larger than
    ``context_warning_bytes`` is still sent, after a warning written to ``notify`` (default sys.stderr)
    and kept in the result's ``warnings``. With ``log_dir``, each build's logs go to a folder of their own
    in it, made with the build's first log (a fully cached build writes none). The logs of at most
    ``keep_build_logs`` builds are kept there, this one included (and at most ``max_log_bytes`` in all): the
    oldest are removed when a build writes its first log, never one a live result of this process refers to
    (None: no limit).

    ``builder`` is ``"buildkit"``, ``"legacy"`` or ``"auto"`` (None: ``DOCKER_BUILDKIT``, then
    ``builder_setting``, then auto: BuildKit on Docker Engine, the legacy builder on Podman); the result's
    ``builder`` says which one ran. With BuildKit, ``network`` is host or none (none, said once, on an
    engine with no bridge network), missing base images are pulled through the engine first, and what this
    engine's BuildKit cannot do (heredocs before Engine 23, secret and ssh mounts) is refused with a
    sentence before anything is sent.

    Each step that ran instead of coming from the cache gets ``cache_miss``: why, in one sentence, from
    the record of the earlier build under the same tag, else the same ``cache_key`` (the magic passes the
    notebook cell's id), else the same context folder (see :mod:`dockmagic.operations.build_records`;
    ``explain_cache=False`` keeps no record, ``records_dir`` says where they are kept).

    ``secrets`` are given as ``docker build --secret`` takes them (``id=token,src=FILE``, ``id=token,env=VAR``,
    or ``id=API_TOKEN`` for the variable of that name); a ``RUN --mount=type=secret,id=token`` step reads
    one at ``/run/secrets/token``. BuildKit asks for them while the step runs (they are in no layer, no
    cache key and no recording). Podman's compatible API takes them inside the context's tar, as podman-remote
    sends them, and moves them out of the context before the build; Docker's legacy builder takes none.
    """
    instructions = check_buildable(dockerfile)
    given_secrets = parse_secrets(secrets)
    tags = list(tags or ())
    for tag in tags:
        check_image_reference(tag, what="tag")
    if target is not None:
        stages = stage_names(instructions)
        if target not in stages:
            raise DockerfileError(
                f"--target {target!r} names no stage of this Dockerfile. Its named stages: "
                f"{', '.join(stages) or 'none (name one with FROM image AS name)'}."
            )
    check_context_folder(context)
    summary = summarize_context(context) if context is not None else None

    context_warnings = [w for w in (_context_size_warning(summary, context, context_warning_bytes),
                                     _context_links_warning(summary),
                                     folder_dockerfile_warning(dockerfile, context)) if w]
    if context_warnings:
        notices.notify("\n".join(context_warnings), notify)
    engine = engine or connect()
    chosen = choose_builder(builder, engine, builder_setting)
    records = RecordStore(engine.address, records_dir) if explain_cache else None
    record_names = record_keys(tags, cache_key, context)
    previous = records.find(record_names) if records is not None else None
    fingerprints = ContextFingerprints(summary.stats, previous.files if previous else None) \
        if summary is not None and records is not None else None
    if chosen == BUILDKIT:
        refuse_what_buildkit_cannot(dockerfile, instructions, engine, given_secrets)
    elif given_secrets and not engine.is_podman:
        raise InvalidInput("--secret: the legacy builder takes no secrets: build with --builder buildkit (they "
                           "are served through its build session), or COPY the value in a stage the final "
                           "image does not keep.")
    elif not engine.is_podman:
        refuse_what_legacy_cannot(dockerfile, instructions)
    else:  # buildah takes secret mounts too: a required one with no secret is refused as with BuildKit
        refuse_missing_secrets(dockerfile, instructions, given_secrets)
    # The legacy builder (and Podman) get a tar; BuildKit asks for the files through a session.
    archive = None if chosen == BUILDKIT else make_context(dockerfile, context, fingerprints)[0]
    podman_secrets = add_podman_secrets(archive, given_secrets) if archive is not None and given_secrets else None
    # A folder per build: logs are step-001.log, ..., so two builds sharing one folder (two at once, or
    # one after another) would append to each other's logs.
    log_root = log_dir or default_log_root()
    log_dir = reserve_log_folder(log_root)

    def prune() -> None:  # when this build writes its first log: a fully cached build makes no folder
        prune_build_logs(_others_kept(keep_build_logs), max_log_bytes, folder=log_root)

    early_warnings: list[str] = []
    if chosen == BUILDKIT:
        network = network_mode(engine, network, early_warnings.append)
        progress = BuildKitProgress(log_dir, dockerfile, target, engine=engine.describe(), before_first_log=prune)
    else:
        progress = BuildProgress(log_dir, engine=engine.describe(), before_first_log=prune)
    keep_while_alive(progress, log_dir)
    progress.requested_tags = tags
    if chosen != BUILDKIT:  # BuildKit's model has its own rows for the instructions still to come
        progress.planned_instructions = [instruction.written for instruction in instructions]
    progress.warnings.extend(context_warnings)
    if chosen == BUILDKIT or engine.is_podman:
        early_warnings.extend(_secrets_not_given(instructions, given_secrets))
    if early_warnings:
        progress.warnings.extend(early_warnings)
        notices.notify("\n".join(early_warnings), notify)
    if watch is not None:
        watch(progress)

    params = {
        "t": tags, "q": False, "nocache": no_cache, "rm": True, "forcerm": True, "pull": pull,
        "dockerfile": DOCKERFILE_NAME,
    }
    if target:
        params["target"] = target
    if network:
        params["networkmode"] = network
    if build_args:
        params["buildargs"] = json.dumps(build_args)
    if labels:
        params["labels"] = json.dumps(labels)
    if podman_secrets:
        params["secrets"] = json.dumps(podman_secrets)

    if chosen == BUILDKIT:
        _run_buildkit(engine, dockerfile, context, target, pull, params, progress, fingerprints, notify,
                      given_secrets, instructions, record=record, on_event=on_event)
    elif not progress.finished:
        recorder = _Recorder(record, dockerfile, engine, chosen, target) if record else None
        run_legacy_build(engine, archive, params, progress, pull=pull, on_event=on_event, recorder=recorder,
                         result_of=BuildResult.from_progress)
    # The same image as the earlier build of this cell or tag (an unchanged rebuild): its size, its layers'
    # sizes and its bases are those on record, and asking the engine again would only cost time.
    same_image = previous is not None and progress.state == DONE and previous.image_id == progress.image_id
    if progress.state == DONE and progress.image_id:
        try:
            progress.size = previous.size if same_image and previous.size is not None else \
                engine.inspect_image(progress.image_id).get("Size")
        except DockmagicError:
            progress.size = None
        if not progress.tags and tags:
            progress.tags = list(tags)
    result = BuildResult.from_progress(progress)
    if not progress.connection_lost:
        _measure_and_explain(engine, progress, result, dockerfile, build_args, target, no_cache, records,
                             record_names, previous if same_image else None, previous, fingerprints)
    progress.touch()  # once, for the size, the tags, the layer sizes and the explanations together
    if check and not result.ok:
        failure = BuildConnectionLost if progress.connection_lost else DockerBuildError
        raise failure(failure_message(result), result)
    return result


def _run_buildkit(engine, dockerfile, context, target, pull, params, progress, fingerprints, notify,
                  given_secrets, instructions, *, record, on_event) -> None:
    """Send the build to BuildKit with ``pull=0``: with ``pull``, after pulling every base image through the
    engine; otherwise at once, while a :class:`BaseCheck` asks whether they are there, and again after
    pulling those that are not (the first request cancelled unread)."""
    warn = notifier(progress, notify)
    if pull and not _pulled(engine, dockerfile, target, True, warn, progress):
        return
    params = dict(params, pull=False)  # the bases are pulled through the engine's pull API (with its credentials)
    secrets = {secret.id: secret.value for secret in given_secrets.values()} \
        if given_secrets or secret_mounts(instructions) else None

    def send(check_bases: bool) -> None:
        recorder = _Recorder(record, dockerfile, engine, BUILDKIT, target) if record else None
        # A folder goes through a build session, as the CLI sends it; a Dockerfile alone is uploaded (with a
        # session beside it only for its secrets).
        source = SessionContext(dockerfile, context, fingerprints) if context is not None else \
            make_context(dockerfile)[0]
        run_buildkit_build(engine, source, params, progress, on_event=on_event, recorder=recorder,
                           result_of=BuildResult.from_progress, secrets=secrets,
                           bases=BaseCheck(engine, dockerfile, target) if check_bases else None)

    try:
        send(check_bases=not pull)
    except BasesMissing:
        if _pulled(engine, dockerfile, target, False, warn, progress):
            send(check_bases=False)


def _pulled(engine, dockerfile, target, pull, warn, progress) -> bool:
    """:func:`pull_bases`; False when one could not be pulled, the build failed with its sentence."""
    try:
        pull_bases(engine, dockerfile, target, pull, warn)
        return True
    except DockerfileError as error:
        progress.fail(str(error).rstrip("."))  # shown and raised as the legacy builder's failure
        return False


def _measure_and_explain(engine, progress, result, dockerfile, build_args, target, no_cache, records, record_names,
                         same_as, previous, fingerprints) -> None:
    """The extras of a finished build: each step's layer size and why each step that ran missed the cache.
    They ask the engine again after the build; whatever goes wrong there (the engine gone the moment after,
    a record that cannot be written) leaves them out and never hides the build's own outcome."""
    try:
        if progress.state == DONE and progress.image_id:
            if same_as is not None and same_as.layer_sizes:
                _layer_sizes_on_record(progress, result, same_as, dockerfile)
            else:
                _measure_layers(engine, progress, result)
        if records is not None and progress.state in (DONE, FAILED):
            explain_build(engine, result, dockerfile, build_args=build_args, target=target, no_cache=no_cache,
                          store=records, keys=record_names, previous=previous, fingerprints=fingerprints,
                          same_image=same_as is not None, size=progress.size)
            rows = [row for row in progress.steps if not getattr(row, "internal", False)]
            shown, said = {}, set()
            for row, step in zip(rows, result.steps, strict=False):
                # A sentence true of the whole build (--no-cache, a first build) is said on its first row only.
                if step.cache_miss and not (step.cache_miss in BUILD_WIDE_REASONS and step.cache_miss in said):
                    shown[row_key(row)] = step.cache_miss
                    said.add(step.cache_miss)
            progress.cache_misses = shown
    except Exception as error:  # noqa: BLE001 (see the docstring)
        progress.warnings.append(f"The layer sizes and cache explanations were left out: {error}.")


_LAYER_KEYWORDS = ("RUN", "COPY", "ADD", "WORKDIR")


def _layer_sizes_on_record(progress, result: BuildResult, record, dockerfile: str) -> None:
    """The layer sizes of an unchanged rebuild: those its record keeps, by each step's place."""
    places = step_places(dockerfile, result.steps) or []
    for place, step in zip(places, result.steps, strict=False):
        step.layer_size = record.layer_sizes.get(f"{place.stage}:{place.position}")
    rows = [row for row in progress.steps if not getattr(row, "internal", False)]
    progress.layer_sizes = {row_key(row): step.layer_size for row, step in zip(rows, result.steps, strict=False)
                            if step.layer_size is not None}


def _measure_layers(engine: Engine, progress, result: BuildResult) -> None:
    """Each step's layer size in the image built, from its history (one request): the legacy builder's
    steps by their layer ids; BuildKit's steps of the final stage that make a layer, in order, against the
    newest entries the build wrote (their history marks them ``# buildkit``)."""
    try:
        history = list(reversed(engine.image_history(progress.image_id)))  # oldest first
    except DockmagicError:
        return
    rows = [row for row in progress.steps if not getattr(row, "internal", False)]
    if progress.builder == LEGACY:
        by_id = {entry.get("Id", "").removeprefix("sha256:"): entry.get("Size") for entry in history}
        for step in result.steps:
            if step.instruction.upper().startswith("FROM"):
                continue  # its "layer" is the base image's last
            layer = (step.layer_id or "").removeprefix("sha256:")
            size = next((size for full, size in by_id.items() if layer and full.startswith(layer)), None)
            step.layer_size = size
    else:
        final = rows[-1].stage if rows else None
        pairs = [(row, step) for row, step in zip(rows, result.steps, strict=False)
                 if row.stage == final and step.instruction.split(None, 1)[0].upper() in _LAYER_KEYWORDS
                 and step.state in ("done", "cached")]
        written = [entry for entry in history if str(entry.get("CreatedBy", "")).endswith("# buildkit")
                   and str(entry.get("CreatedBy", "")).split(None, 1)[0] in _LAYER_KEYWORDS]
        if len(written) >= len(pairs):
            for (_, step), entry in zip(pairs, written[len(written) - len(pairs):], strict=True):
                step.layer_size = entry.get("Size")
    progress.layer_sizes = {row_key(row): step.layer_size for row, step in zip(rows, result.steps, strict=False)
                            if step.layer_size is not None}


def refuse_what_legacy_cannot(dockerfile: str, instructions) -> None:
    """Docker's legacy builder rejects BuildKit's flags and heredocs: one sentence before anything is sent."""
    for problem in builder_problems(dockerfile, instructions, LEGACY):
        if problem.rule in ("legacy-mount", "legacy-chmod", "heredoc"):
            raise DockerfileError(f"Line {problem.line}: {problem.message}.")


def refuse_missing_secrets(dockerfile: str, instructions, given: dict) -> None:
    """Raise :class:`DockerfileError` for a ``required=true`` secret mount whose secret is not ``given``."""
    for problem in builder_problems(dockerfile, instructions, BUILDKIT, secrets=list(given)):
        if problem.rule == "missing-secret":
            raise DockerfileError(f"Line {problem.line}: {problem.message}.")


def _secrets_not_given(instructions, given: dict) -> list[str]:
    """A notice for each optional secret mount with no secret given (its file will be absent, as with
    ``docker build``; a required one is refused before the build), and for each secret no step mounts (a
    misspelt id, most likely)."""
    mounts = secret_mounts(instructions)
    notices = [f"Line {mount.line}: no --secret id={mount.id} was given, so {mount.target} will not exist in "
               f"that step (give it with --secret id={mount.id},src=FILE or env=VARIABLE)."
               for mount in mounts if not mount.required and mount.id not in given]
    mounted = {mount.id for mount in mounts}
    notices += [f"--secret id={secret_id}: no RUN --mount=type=secret,id={secret_id} reads it."
                for secret_id in given if secret_id not in mounted]
    return notices


def _others_kept(keep_build_logs: int | None) -> int | None:
    """How many earlier builds' logs to keep beside the one about to start."""
    return None if keep_build_logs is None else max(keep_build_logs - 1, 0)


def _context_size_warning(summary: ContextSummary | None, folder: str | None, limit: int | None) -> str:
    """A warning when the context about to be sent is larger than ``limit`` bytes, else ""."""
    if summary is None or not limit or summary.size <= limit:
        return ""
    from ..views.units import human_size

    return (f"Warning: the build context {folder!r} is {human_size(summary.size)} (more than {human_size(limit)}); "
            "sending it to the engine may take a while. List what the build does not need in "
            f"{os.path.join(folder, '.dockerignore')}, or raise %config DockMagic.context_warning_bytes.")


def _context_links_warning(summary: ContextSummary | None) -> str:
    """A warning naming the symbolic links that point outside the context, else ""."""
    links = summary.links_leaving if summary is not None else []
    if not links:
        return ""
    shown = ", ".join(f"{link} -> {target}" for link, target in links[:5]) + (" …" if len(links) > 5 else "")
    return (f"Warning: {len(links)} symbolic link(s) in the build context point outside it ({shown}). The "
            "engine gets the links, not what they point to: COPY makes dangling links of them and cannot "
            "copy through a linked folder. Copy the files into the context instead.")


def failure_message(result: BuildResult) -> str:
    """One short paragraph: the failing step, its exit code, its last line of output."""
    step = result.failed_step
    if step is None:
        return f"The build failed: {result.error}"
    code = f" with exit code {result.exit_code}" if result.exit_code is not None else ""
    last = step.tail(1)
    last_line = f" Last output: {last.strip()[:200]!r}." if last.strip() else ""
    reason = "" if result.exit_code is not None else f": {result.error}"
    return f"{step.label} ({step.instruction}) failed{code}{reason}.{last_line}"


class _Recorder:
    """Writes a build's raw stream as JSON lines: a header, then each message with its time offset."""

    def __init__(self, path: str, dockerfile: str, engine: Engine, builder: str = LEGACY,
                 target: str | None = None):
        self.started = time.monotonic()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.handle = open(path, "w", encoding="utf-8")
        header = {
            "dockmagic_recording": 1, "kind": "build", "engine": engine.describe(),
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "dockerfile": dockerfile,
            "builder": builder, "target": target,
        }
        self.handle.write(json.dumps(header) + "\n")

    def passing(self, messages: Iterable[object]) -> Iterator[object]:
        """Yield the messages unchanged, writing each one down with its time offset."""
        for message in messages:
            self.handle.write(json.dumps({"t": round(time.monotonic() - self.started, 4), "message": message}) + "\n")
            yield message

    def close(self) -> None:
        self.handle.close()
