"""A build by the engine's BuildKit (``POST /build?version=2``): what this engine's BuildKit cannot do
refused with a sentence before anything is sent, the network it takes, missing base images pulled first
through the engine's pull API, the context served through a build session as the docker CLI serves it
(or, where the engine opens none, uploaded as a tar), the bytes sent counted, the stream followed into a
:class:`BuildKitProgress`, and an interrupt that cancels the build by its id.
"""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

from .. import notices
from ..engine import Engine, is_connection_lost
from ..errors import BuildCancelled, DockerfileError, DockmagicError, EngineRefused, InvalidInput, NotFound
from ..models.build_buildkit import BuildKitProgress
from ..parsing.buildkit_trace import parse_buildkit_event
from ..parsing.dockerfile import BUILDKIT, HEREDOC_ENGINE, base_images, builder_problems, syntax_frontend
from .build_legacy import connection_failure, is_local, missing_base_message
from .build_session import BuildSession
from .context_sync import SessionContext

NETWORK_MODES = ("host", "none", "default")
NO_BRIDGE = ("This engine has no bridge network: RUN steps ran with --network none (loopback only); use "
             "--network host for network access.")
# Seconds between two upload notices (the body is read in small blocks).
UPLOAD_NOTICE_SECONDS = 0.1


def engine_label(engine: Engine) -> str:
    """``Docker Engine 20.10.24``: the engine's name and version, for sentences."""
    return f"{engine.name} {engine.version}"


def _major(version: str) -> int:
    match = re.match(r"\d+", version or "")
    return int(match[0]) if match else 0


def refuse_what_buildkit_cannot(dockerfile: str, instructions, engine: Engine, secrets=()) -> None:
    """Raise :class:`DockerfileError` with one sentence for what this engine's BuildKit would reject, before
    anything is sent: heredocs (Docker Engine < 23), ssh mounts (not served yet), a required secret mount
    whose secret is not among ``secrets`` (ids), ``RUN --network``, a ``# syntax=`` frontend image that is
    not on the engine."""
    problems = builder_problems(dockerfile, instructions, BUILDKIT, engine_label(engine), secrets=list(secrets))
    for problem in problems:
        if problem.rule == "heredoc" and _major(engine.version) >= HEREDOC_ENGINE:
            continue
        if problem.rule == "syntax-frontend" and is_local(engine, syntax_frontend(dockerfile) or ""):
            continue
        raise DockerfileError(f"Line {problem.line}: {problem.message}.")


def network_mode(engine: Engine, network: str | None, warn) -> str | None:
    """The ``networkmode`` to send: the one asked for if BuildKit takes it; with none asked, ``none`` on an
    engine without a bridge network (where BuildKit's default fails every RUN), said once through ``warn``.

    Raises:
        InvalidInput: a mode BuildKit refuses (a network's name, bridge).
    """
    if network:
        if network not in NETWORK_MODES:
            raise InvalidInput(
                f"--network {network!r}: BuildKit runs RUN steps with network host or none only (or the "
                "engine's default): use --network host for network access, --network none for none, or "
                "--builder legacy to build on that network.")
        return network
    try:
        has_bridge = engine.has_network("bridge")
    except DockmagicError:
        has_bridge = True  # let the engine decide, and say what it says
    if has_bridge:
        return None
    warn(NO_BRIDGE)
    return "none"


def pull_bases(engine: Engine, dockerfile: str, target: str | None, pull: bool, warn) -> list[str]:
    """Pull, through the engine's pull API (with its credentials), the base images of the needed stages
    that are not on the engine (all of them with ``pull``): BuildKit without a session cannot pull an image
    that needs a token, and the build then runs with ``pull=0``. Says what was pulled through ``warn``.

    Raises:
        DockerfileError: a base image could not be pulled (the same sentences as the legacy builder's).
    """
    pulled = []
    for image in base_images(dockerfile, target):
        local = is_local(engine, image)
        if local and not pull:
            continue
        try:
            for _ in engine.pull_image(image):
                pass
            pulled.append(image)
        except (DockmagicError, docker.errors.DockerException, OSError) as error:
            reason = getattr(error, "explanation", None) or str(error)
            if local:  # as the legacy builder says it
                raise DockerfileError(
                    f"--pull could not fetch a newer {image!r} ({reason.splitlines()[0][:160]}). This engine "
                    f"has its own copy of {image!r}: build without --pull to use it.") from None
            raise DockerfileError(missing_base_message(engine, image, reason) + ".") from None
    if pulled:
        warn(f"Pulled through the engine before the build: {', '.join(pulled)}.")
    return pulled


class BaseCheck:
    """Whether the base images of the needed stages are on the engine, asked on a worker thread: a build is
    sent at once with ``pull=0`` (the common case: they are there, and the answer comes while the engine
    starts the build), and :meth:`missing` is read before any of its stream is. When one is missing, the
    build is cancelled unread, the image pulled (:func:`pull_bases`) and the build sent again.

    Make it just before the request: the worker's own Python then runs while this thread waits for the
    engine's answer, not while it prepares the request (one interpreter lock for both)."""

    def __init__(self, engine: Engine, dockerfile: str, target: str | None):
        self.images = base_images(dockerfile, target)
        self._answer = _base_checker().submit(self._ask, engine) if self.images else None

    def _ask(self, engine: Engine) -> list[str]:
        try:
            return [image for image in self.images if not is_local(engine, image)]
        except Exception:  # noqa: BLE001 (the engine gone: the build request says so in its own words)
            return []

    def missing(self) -> list[str]:
        """The base images the engine does not have (waits for the answer)."""
        return self._answer.result() if self._answer is not None else []


_checker: ThreadPoolExecutor | None = None


def _base_checker() -> ThreadPoolExecutor:
    """One worker thread for the checks, kept: starting a thread per build costs more than the check."""
    global _checker
    if _checker is None:
        _checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockmagic-base-check")
    return _checker


class BasesMissing(Exception):
    """The build was sent before its base images were known to be there, and one is not: it was cancelled
    unread (nothing tagged, nothing applied to the progress); pull, then send it again."""


class CountingReader:
    """The context tar as the request's body, counting the bytes the engine has read of it."""

    def __init__(self, archive, report):
        self.archive = archive
        archive.seek(0, 2)
        self.total = archive.tell()
        archive.seek(0)
        self.sent = 0
        self._report = report
        self._reported_at = 0.0

    def __len__(self) -> int:
        return self.total

    def read(self, size: int = -1) -> bytes:
        data = self.archive.read(size)
        self.sent += len(data)
        now = time.monotonic()
        if not data or self.sent >= self.total or now - self._reported_at >= UPLOAD_NOTICE_SECONDS:
            self._reported_at = now
            self._report(self.sent, self.total)
        return data


def run_buildkit_build(engine: Engine, context, params: dict, progress: BuildKitProgress, *, on_event=None,
                       recorder=None, result_of=None, secrets: dict[str, bytes] | None = None,
                       bases: BaseCheck | None = None) -> None:
    """Send the build to BuildKit and follow its stream into ``progress``.

    ``context`` is a :class:`~dockmagic.operations.context_sync.SessionContext` (served through a build
    session) or a tar file object (uploaded as the request's body). ``secrets`` (values by id; None: the
    Dockerfile reads none) are served through a build session too, opened for them when the context is a
    tar: BuildKit asks a session even for a secret it was not given (and then leaves an optional one out).

    ``bases``: the base images' check, asked while the request travels.

    Raises:
        BuildCancelled: on an interrupt, once the engine has cancelled the build (its running step's
        process ends at once) and the stream is closed; nothing is tagged.
        BasesMissing: ``bases`` found a base image missing; the build was cancelled before its stream was read.
    """
    session = None
    synced = isinstance(context, SessionContext)
    if synced or secrets is not None:
        # The engine reports the bytes it receives itself ("transferring context"): nothing to count here.
        session = BuildSession(engine, context.folders if synced else {}, context.key if synced else uuid.uuid4().hex,
                               fingerprints=context.fingerprints if synced else None, secrets=secrets)
        try:
            session.__enter__()
        except EngineRefused as error:
            session = None
            if secrets is not None:
                if recorder:
                    recorder.close()
                progress.fail(f"The engine opened no build session ({error.summary}), and the Dockerfile's "
                              "secret mounts are served through one: build on an engine that opens sessions "
                              "(Docker Engine 18.09 or newer), or without RUN --mount=type=secret")
                return
            # An engine that opens no session: the tar, as before.
            progress.warnings.append(f"The engine opened no build session ({error.summary}): the context was "
                                     "uploaded as a tar, which BuildKit copies whole (the .dockerignore is "
                                     "applied by dockmagic, but a COPY . also gets the Dockerfile).")
        if synced and session is None:
            context = context.archive()
    build_id = uuid.uuid4().hex
    params = dict(params, buildid=build_id)
    if session is not None:
        params.update(session=session.id)
    if session is not None and synced:
        params.update(remote="client-session")
        body = b""
    else:
        body = CountingReader(context, progress.upload)
    response = None
    try:
        response = engine.post_build(body, params, query_version="2")
        if bases is not None and bases.missing():
            _cancel(engine, build_id)
            raise BasesMissing(bases.missing())
        messages = iter(response)
        if recorder:
            messages = recorder.passing(messages)
        for message in messages:
            event = parse_buildkit_event(message)
            progress.apply(event)
            if on_event is not None:
                on_event(event)
        progress.finish()
    except KeyboardInterrupt:
        _cancel(engine, build_id)
        if response is not None:
            response.close()
        progress.cancel()
        raise BuildCancelled("Build interrupted: BuildKit cancelled the build (the running step's process "
                             "ended) and nothing was tagged.", result_of(progress) if result_of else None) from None
    except EngineRefused as error:
        progress.fail(error.explanation)
    except (OSError, docker.errors.DockerException) as error:
        progress.connection_lost = is_connection_lost(error)
        progress.fail(connection_failure(error, progress.connection_lost))
    finally:
        if response is not None:
            response.close()
        if session is not None:
            session.close()
        if recorder:
            recorder.close()
    if progress.state == "failed":
        if session is not None and session.errors:
            progress.error = f"{session.errors[0]} (the engine said: {(progress.error or '').strip()[:200]})"
        explain_failure(progress, engine)


def _cancel(engine: Engine, build_id: str) -> None:
    try:
        engine.cancel_build(build_id)
    except (DockmagicError, NotFound, docker.errors.DockerException, OSError):
        pass  # closing the stream ends the build too


# The engine's own words for what its BuildKit cannot do, and the sentence said in their place.
_ENGINE_ERRORS = (
    (re.compile(r"network bridge not found"),
     "this engine has no bridge network, and BuildKit's default network needs one: build with "
     "--network none (loopback only) or --network host"),
    (re.compile(r"no active sessions"),
     "the build asked the client session for something dockmagic's does not serve yet (an ssh "
     "agent, or a registry's token)"),
    (re.compile(r"unknown instruction: \w+"),
     "if that line is inside a heredoc (RUN <<EOF), heredocs need Docker Engine {heredoc} or newer, and {engine} "
     "is there"),
)


def explain_failure(progress: BuildKitProgress, engine: Engine) -> None:
    """Replace an engine error about what its BuildKit cannot do with a sentence saying so, the engine's
    own words kept after it."""
    said = (progress.error or "").strip()
    for pattern, sentence in _ENGINE_ERRORS:
        if pattern.search(said):
            sentence = sentence.format(heredoc=HEREDOC_ENGINE, engine=engine_label(engine))
            progress.error = f"{sentence} (the engine said: {said[:200]})"
            return


def notifier(progress, notify):
    """A ``warn`` that keeps a warning in the result and writes it to ``notify`` once."""

    def warn(text: str) -> None:
        progress.warnings.append(text)
        notices.notify(text, notify)

    return warn
