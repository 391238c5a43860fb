"""Committing a container's changes as a new image, as ``docker commit`` does.

Everything the user typed is checked before anything is sent: the repository name (Docker's reference
grammar, lowercase) and each ``-c`` change (one of the Dockerfile instructions ``docker commit -c``
accepts, with well-formed arguments). A typo therefore commits nothing. The changes are counted (one
diff request) just before committing, so that the result can say what the new layer holds.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field

from ..engine import Engine, connect
from ..errors import CommitChangeError, EngineRefused, Interrupted, InvalidInput, NotFound
from ..views import commit_view
from ..views.display import TextAndHtml
from .diff import change_counts, container_name
from .interrupts import DeferredInterrupts
from .lookup import find_container
from .names import check_image_reference

# The Dockerfile instructions the engine applies on commit (what `docker commit -c` takes).
COMMIT_INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "WORKDIR", "VOLUME")

# Images this process committed, by (engine address, container id): Podman's images do not record the
# container they were committed from (Docker's "Container" field), so %docker_dockerfile looks here.
_COMMITTED_FROM: dict[tuple[str, str], list[str]] = {}


def images_committed_from(engine: Engine, container_id: str) -> list[str]:
    """Ids of the images this process committed from ``container_id`` on ``engine``, oldest first."""
    return list(_COMMITTED_FROM.get((engine.address, container_id), ()))


_INSTRUCTION = re.compile(r"\s*([A-Za-z]+)(?:\s+(.*))?\s*$", re.DOTALL)
_PORT = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?(?:/(tcp|udp|sctp))?", re.IGNORECASE)


@dataclass
class CommitResult(TextAndHtml):
    """The image a commit made: ``image_id`` (full ``sha256:`` id), ``tags``, ``size`` (the whole image,
    bytes), ``layer_size`` (the new layer, bytes) and ``counts`` (paths added, changed and deleted in it,
    from the diff taken just before committing)."""

    image_id: str
    tags: list[str]
    size: int
    layer_size: int
    counts: dict[str, int]
    container: str
    message: str = ""
    author: str = ""
    changes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    engine: str = ""

    @property
    def short_id(self) -> str:
        return self.image_id.split(":")[-1][:12]

    def _text(self) -> str:
        return commit_view.commit_text(self)

    def _html(self) -> str:
        return commit_view.commit_html(self)


def commit(container: str, reference: str, message: str | None = None, author: str | None = None,
           changes: list[str] | tuple[str, ...] = (), engine: Engine | None = None,
           pause: bool = True) -> CommitResult:
    """Commit ``container`` as ``reference`` (``repo[:tag]``, tag ``latest`` when omitted).

    ``changes`` are Dockerfile instructions applied to the image's config, e.g. ``'CMD ["figlet"]'`` or
    ``"ENV MODE=fast"``. Raises a DockmagicError before sending anything when the name or a change is
    invalid, NotFound when there is no such container."""
    repository, tag = split_reference(reference)
    instructions = [check_change(change) for change in changes]
    engine = engine or connect()
    started = time.perf_counter()
    found = find_container(engine, container)
    name = container_name(found)
    counts = change_counts(engine, found["Id"])
    config, restoring = image_command_restored(engine, found, instructions)
    previous_id = _image_id(engine, f"{repository}:{tag}")
    # The engine completes a commit it has begun whether or not we wait, so stopping the wait would leave
    # an image the user never got: the first interrupt is only counted, a second one stops the wait.
    interrupts = DeferredInterrupts(raise_after=1)
    try:
        with interrupts:
            image_id = engine.commit_container(
                found["Id"], repository=repository, tag=tag, message=message or None, author=author or None,
                changes=(restoring + instructions) or None, pause=pause, config=config,
            )
    except KeyboardInterrupt:
        raise Interrupted(
            f"Interrupted twice: dockmagic stopped waiting for the commit of {name}. The engine may "
            f"still finish it: see %docker_images, and remove {repository}:{tag} with %docker_rmi if it "
            "appears."
        ) from None
    except (EngineRefused, NotFound) as error:
        raise EngineRefused(f"The engine refused to commit {name}: {error}") from None
    if interrupts.count:
        _undo_commit(engine, image_id, repository, tag, previous_id)
        was = f"points again to {previous_id.split(':')[-1][:12]}" if previous_id else "does not exist"
        raise Interrupted(
            f"Interrupted: the engine finishes a commit once it has begun, so dockmagic waited for it and "
            f"removed the image it made; {repository}:{tag} {was}, as before the commit."
        )
    image = engine.inspect_image(image_id)
    history = engine.image_history(image_id)
    _COMMITTED_FROM.setdefault((engine.address, found["Id"]), []).append(image.get("Id") or image_id)
    return CommitResult(
        # The inspect's id: Podman answers a commit with the bare hex, its inspect with "sha256:<hex>".
        image_id=image.get("Id") or image_id,
        tags=[f"{repository}:{tag}"],
        size=image.get("Size") or 0,
        layer_size=history[0].get("Size", 0) if history else 0,
        counts=counts,
        container=name,
        message=message or "",
        author=author or "",
        changes=instructions,
        seconds=time.perf_counter() - started,
        engine=engine.describe(),
    )


def image_command_restored(engine: Engine, container: dict, instructions: list[str]) -> tuple[dict | None, list[str]]:
    """What puts the ENTRYPOINT and CMD of the image a %docker_start container was started from back
    into its commit, unless the user's own ``instructions`` set them: ``(config, changes)`` for the
    engine. The session's plumbing (``/bin/sh`` kept alive on an open stdin) is the notebook's, not the
    image's. Docker takes a whole config (``ENTRYPOINT []`` as a change would not clear an entrypoint);
    Podman ignores a config and takes the changes. Any other container is committed as it is."""
    from .containers import is_session

    if not is_session(container):
        return None, []
    try:
        image_config = engine.inspect_image(container.get("Image", "")).get("Config") or {}
    except NotFound:
        return None, []  # the image is gone: nothing to restore from
    given = {change.split(None, 1)[0] for change in instructions}
    entrypoint, cmd = image_config.get("Entrypoint") or [], image_config.get("Cmd") or []
    container_config = container.get("Config") or {}
    # The stdin held open to keep the shell alive is the session's too.
    config = dict(container_config, OpenStdin=False, StdinOnce=False, AttachStdin=False)
    if "ENTRYPOINT" in given:
        # A new ENTRYPOINT resets CMD, as in a Dockerfile: the user's change says it all.
        return (None if engine.is_podman else config), []
    had_entrypoint = bool(entrypoint or container_config.get("Entrypoint"))
    if engine.is_podman:
        changes = [f"ENTRYPOINT {json.dumps(entrypoint)}"] if had_entrypoint else []
        if cmd and "CMD" not in given:
            changes.append(f"CMD {json.dumps(cmd)}")
        return None, changes
    config.update(Entrypoint=entrypoint if had_entrypoint else None, Cmd=cmd or None)
    return config, []


def _image_id(engine: Engine, reference: str) -> str | None:
    try:
        return engine.inspect_image(reference)["Id"]
    except NotFound:
        return None


def _undo_commit(engine: Engine, image_id: str, repository: str, tag: str, previous_id: str | None) -> None:
    """Remove the image an interrupted commit made, giving its tag back to the image that had it."""
    if previous_id and previous_id != image_id:
        engine.tag_image(previous_id, repository, tag)
        engine.remove_image(image_id)
    elif not previous_id:
        engine.remove_image(f"{repository}:{tag}")


def split_reference(reference: str) -> tuple[str, str]:
    """``repo[:tag]`` checked and split; the tag is ``latest`` when omitted. Digests cannot be committed."""
    reference = (reference or "").strip()
    if "@" in reference:
        raise InvalidInput(
            f"{reference!r} names a digest; a commit makes a new image, so give it a name and tag, "
            "e.g. myimage:1.0.")
    check_image_reference(reference, "repository name")
    repository, tag = reference, "latest"
    if ":" in reference.rsplit("/", 1)[-1]:
        repository, tag = reference.rsplit(":", 1)
    return repository, tag


def check_change(change: str) -> str:
    """One ``-c`` change, checked: an instruction ``docker commit`` applies, with well-formed arguments.
    Returns it with the instruction in capitals (the form the engine documents)."""
    match = _INSTRUCTION.match(change or "")
    if not match:
        raise CommitChangeError(
            f"{change!r} is not a Dockerfile instruction. Write it as in a Dockerfile, e.g. "
            "-c 'CMD [\"figlet\"]' or -c 'ENV MODE=fast'.")
    instruction, arguments = match.group(1).upper(), (match.group(2) or "").strip()
    if instruction not in COMMIT_INSTRUCTIONS:
        raise CommitChangeError(
            f"{instruction} cannot be applied on commit. docker commit -c takes "
            f"{', '.join(COMMIT_INSTRUCTIONS)}.")
    if not arguments:
        raise CommitChangeError(f"{instruction} needs an argument, e.g. {_EXAMPLES[instruction]}.")
    _CHECKS[instruction](instruction, arguments)
    return f"{instruction} {arguments}"


_EXAMPLES = {
    "CMD": 'CMD ["figlet", "hi"]', "ENTRYPOINT": 'ENTRYPOINT ["figlet"]', "ENV": "ENV MODE=fast",
    "EXPOSE": "EXPOSE 8080/tcp", "LABEL": 'LABEL team="data"', "USER": "USER app",
    "WORKDIR": "WORKDIR /app", "VOLUME": 'VOLUME ["/data"]',
}


def _fail(instruction: str, arguments: str, why: str):
    raise CommitChangeError(
        f"{instruction} {arguments}: {why}. For example: {_EXAMPLES[instruction]}.")


def _check_command(instruction: str, arguments: str) -> None:
    # The exec form is JSON; anything else is the shell form, which the engine runs with /bin/sh -c.
    if arguments.startswith("["):
        _json_strings(instruction, arguments)


def _json_strings(instruction: str, arguments: str) -> list[str]:
    try:
        value = json.loads(arguments)
    except ValueError:
        _fail(instruction, arguments, "the exec form must be a JSON array of strings (with double quotes)")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        _fail(instruction, arguments, "the exec form must be a JSON array of strings")
    return value


def _words(instruction: str, arguments: str) -> list[str]:
    try:
        return shlex.split(arguments)
    except ValueError as error:
        _fail(instruction, arguments, f"cannot be read ({error})")


def _check_pairs(instruction: str, arguments: str) -> None:
    words = _words(instruction, arguments)
    if instruction == "ENV" and "=" not in words[0]:
        # The legacy form: ENV NAME value...
        if len(words) < 2:
            _fail(instruction, arguments, "needs NAME=value (or NAME value)")
        return
    for word in words:
        key, equals, _ = word.partition("=")
        if not equals or not key:
            _fail(instruction, arguments, f"{word!r} is not NAME=value")


def _check_ports(instruction: str, arguments: str) -> None:
    for word in arguments.split():
        match = _PORT.fullmatch(word)
        if not match or not all(0 < int(port) <= 65535 for port in match.groups()[:2] if port):
            _fail(instruction, arguments, f"{word!r} is not a port (1-65535, optionally /tcp, /udp or /sctp)")


def _check_single(instruction: str, arguments: str) -> None:
    if len(_words(instruction, arguments)) != 1:
        _fail(instruction, arguments, "takes exactly one value")


def _check_volume(instruction: str, arguments: str) -> None:
    paths = _json_strings(instruction, arguments) if arguments.startswith("[") else arguments.split()
    if not paths or not all(path.strip() for path in paths):
        _fail(instruction, arguments, "needs at least one path")


_CHECKS = {
    "CMD": _check_command, "ENTRYPOINT": _check_command, "ENV": _check_pairs, "LABEL": _check_pairs,
    "EXPOSE": _check_ports, "USER": _check_single, "WORKDIR": lambda instruction, arguments: None,
    "VOLUME": _check_volume,
}
