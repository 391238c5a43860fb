"""A build by the legacy builder (Docker's, or Podman's buildah through its compatible API): its stream
followed into a :class:`BuildProgress`, an interrupt that closes the stream and removes the intermediate
containers, a missing base image explained, the base layers named."""

from __future__ import annotations

import re
import time

import docker

from ..engine import Engine, is_connection_lost, remove_when_back
from ..errors import BuildCancelled, DockmagicError, EngineRefused
from ..models.build import FAILED, BuildProgress
from ..parsing.build_stream import build_events
from ..parsing.dockerfile import from_image_and_stage


def run_legacy_build(engine: Engine, archive, params: dict, progress: BuildProgress, *, pull: bool,
                     on_event=None, recorder=None, result_of=None) -> None:
    """Send the build, follow its stream into ``progress``, and tidy up after it.

    Raises:
        BuildCancelled: on an interrupt, after the stream is closed and leftovers removed (its result made
        by ``result_of(progress)``).
    """
    response = None
    lost = False
    try:
        response = engine.post_build(archive, params)
        messages = iter(response)
        if recorder:
            messages = recorder.passing(messages)
        for event in build_events(messages):
            progress.apply(event)
            if on_event is not None:
                on_event(event)
        progress.finish()
    except KeyboardInterrupt:
        if response is not None:
            response.close()
        progress.cancel()
        _remove_leftovers(engine, progress)
        if engine.is_podman:
            # Podman 4 notices the closed stream only between steps: a RUN step's command runs on.
            message = ("Build interrupted: the engine was told to stop and nothing was tagged. Podman stops "
                       "a build only when the running step's command has ended; then it removes that "
                       "step's container itself.")
        else:
            message = ("Build interrupted: the engine was told to stop, its intermediate containers were "
                       "removed and nothing was tagged.")
        raise BuildCancelled(message, result_of(progress) if result_of else None) from None
    except EngineRefused as error:
        # The daemon refused the build before streaming (a Dockerfile it cannot parse, a bad option).
        progress.fail(error.explanation)
    except (OSError, docker.errors.DockerException) as error:
        lost = is_connection_lost(error)
        progress.fail(connection_failure(error, lost))
        progress.connection_lost = lost
    finally:
        if response is not None:
            response.close()
        if recorder:
            recorder.close()

    if lost:
        # Nothing can be asked of an engine that is gone: what the build made is removed once it is back.
        remove_when_back(engine, list(progress.containers) + [s.container_id for s in progress.steps])
    elif progress.state == FAILED:
        _explain_missing_base(progress, engine, pull)
        _remove_leftovers(engine, progress)
    elif progress.image_id:
        _name_base_layers(engine, progress)


def connection_failure(error: BaseException, lost: bool) -> str:
    """What a broken connection during a build means, for either builder."""
    if lost:
        return ("the container engine stopped answering during the build (it was stopped or "
                "restarted). Nothing was tagged; the build's containers are removed when it "
                "answers again. Start the engine, then build again")
    first = str(error).splitlines()[0] if str(error) else ""
    return (f"the connection to the engine broke during the build ({error.__class__.__name__}: {first}). "
            "Check that the engine is running.")


_PULL_FAILURE = re.compile(
    r"pull access denied|not found|manifest unknown|no such host|dial tcp|lookup |registry|"
    r"connection refused|repository does not exist|failed to resolve|initializing source",
    re.IGNORECASE,
)


def _explain_missing_base(progress: BuildProgress, engine: Engine, pull: bool) -> None:
    """A failure at a FROM line that is about pulling becomes a message naming the image."""
    step = progress.failed_step
    if step is None or not step.instruction.upper().startswith("FROM") or not progress.error:
        return
    if not _PULL_FAILURE.search(progress.error):
        return
    name = from_image_and_stage(step.instruction[len("FROM"):])[0] or "?"
    if pull and is_local(engine, name):
        progress.error = (
            f"--pull could not fetch a newer {name!r} ({progress.error.splitlines()[0][:160]}). This engine "
            f"has its own copy of {name!r}: build without --pull to use it")
        return
    progress.error = missing_base_message(engine, name, progress.error)


def missing_base_message(engine: Engine, name: str, reason: str) -> str:
    """The sentence for a base image that is not on the engine and could not be pulled."""
    try:
        local = engine.image_tags()
    except DockmagicError:
        local = []
    shown = ", ".join(local[:8]) + (" …" if len(local) > 8 else "") if local else "none"
    return (f"the base image {name!r} is not on this engine and could not be pulled "
            f"({reason.splitlines()[0][:160] if reason else 'no reason given'}). Images on this engine: {shown}. "
            f"Build or load {name!r} first (or use one of those)")


def _name_base_layers(engine: Engine, progress: BuildProgress) -> None:
    """Give each FROM step the id of its base image, which Docker's stream names (" ---> <id>") and
    Podman's does not: looked up after the build, as the engine has it."""
    stages = set()
    for step in progress.steps:
        if not step.instruction.upper().startswith("FROM"):
            continue
        image, stage = from_image_and_stage(step.instruction[len("FROM"):])
        if image is None:
            continue
        from_stage = image.lower() in stages
        if stage:
            stages.add(stage.lower())
        if step.layer_id or from_stage or image == "scratch":
            continue
        try:
            step.layer_id = engine.inspect_image(image)["Id"].split(":")[-1][:12]
        except (DockmagicError, KeyError, TypeError):
            pass


def is_local(engine: Engine, name: str) -> bool:
    try:
        engine.inspect_image(name)
        return True
    except DockmagicError:
        return False


def _remove_leftovers(engine: Engine, progress: BuildProgress) -> None:
    """Remove intermediate containers the build left (an interrupt can stop the daemon before its own
    clean-up), including one created just before the stream was closed and not yet announced.

    Only this build's containers qualify: those it announced, and one made from the previous step's
    layer, after the interrupted step began, running that step's own command."""
    leftovers = set(progress.containers)
    last = progress.steps[-1] if progress.steps else None
    previous = progress.steps[-2] if len(progress.steps) > 1 else None
    if last is not None and previous is not None and previous.layer_id:
        command = last.instruction.split(None, 1)[1] if " " in last.instruction else ""
        try:
            time.sleep(0.2)
            for container in engine.list_containers(all=True):
                image = (container.get("ImageID") or container.get("Image") or "").split(":")[-1]
                if not image.startswith(previous.layer_id) or container.get("Created", 0) < int(last.started_at) - 1:
                    continue
                config = engine.inspect_container(container["Id"]).get("Config") or {}
                if command and command in " ".join(config.get("Cmd") or []):
                    leftovers.add(container["Id"])
        except DockmagicError:
            pass
    for container_id in leftovers:
        try:
            engine.remove_container(container_id)
        except DockmagicError:
            # Refused while the daemon removes it itself: wait for it below.
            pass
    deadline = time.time() + 5
    while leftovers and time.time() < deadline:
        remaining = set()
        for container_id in leftovers:
            try:
                engine.inspect_container(container_id)
                remaining.add(container_id)
            except DockmagicError:
                pass
        leftovers = remaining
        if leftovers:
            time.sleep(0.1)


