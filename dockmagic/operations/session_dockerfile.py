"""The Dockerfile that reproduces a ``%%docker_shell`` session, and a check that it does.

From the session's record: ``FROM`` the container's image; ``SHELL ["/bin/bash", "-c"]`` when the cells
ran in bash; one ``RUN`` per cell that succeeded (a cell that only changes directory or exports becomes
no RUN); ``WORKDIR`` and ``ENV`` where the session's directory and exported variables changed, derived
from the state recorded before and after each cell (so changes made by failed cells are kept too, as
the shell kept them); bash functions a cell calls are defined at the start of its RUN, since each RUN
is a new shell. Shell variables that were not exported and aliases do not carry over (each RUN is a new
shell): export them to make them ENV.

``CMD``/``ENTRYPOINT``: ``cmd`` when given; else those of the image committed from the container, if
any (found by the image's ``Container`` field, which ``docker commit`` sets), when they differ from the
base image's; else none (the base image's are inherited).

``rebuild`` builds it with :func:`dockmagic.build` and compares the rebuilt image's files with the
committed image's (or the container's, if it was not committed), leaving out logs, caches and files the
engine manages (:data:`~dockmagic.operations.image_compare.IGNORED_PATHS`). The cells become lines in
:mod:`dockmagic.parsing.shell_to_dockerfile` (no engine); the files are compared in
:mod:`dockmagic.operations.image_compare`.
"""

from __future__ import annotations

import datetime
import shlex
from dataclasses import dataclass, field

from ..engine import Engine, connect
from ..errors import InvalidInput, NotFound
from ..parsing.image_names import familiar_image_name
from ..parsing.shell_to_dockerfile import (
    dockerfile_lines,
    env_dict,
    is_state_only,
    left_out,
    run_instruction,  # noqa: F401 (the shell tests import it from here)
)
from ..views import session_dockerfile_view
from ..views.display import TextAndHtml
from .image_compare import Difference, compare, filesystem_signature, image_signature
from .lookup import find_container
from .names import check_image_reference
from .shell import find_session

# --- Finding what was committed ----------------------------------------------------------------------

def committed_image(engine: Engine, container: dict) -> dict | None:
    """The newest image committed from ``container`` (an inspect; matched on the image's ``Container``
    field), or None. Only images made after the container are looked at. Podman records no ``Container``:
    there, the images this process committed from it (with %docker_commit) are the candidates."""
    from .commit import images_committed_from

    created = _timestamp(container.get("Created", ""))
    candidates = []
    ours = set(images_committed_from(engine, container["Id"]))
    for summary in engine.list_images():
        if summary.get("Created", 0) < created - 1 and summary.get("Id") not in ours:
            continue
        try:
            attrs = engine.inspect_image(summary["Id"])
        except NotFound:
            continue
        if attrs.get("Container") == container["Id"] or (not attrs.get("Container") and attrs.get("Id") in ours):
            candidates.append(attrs)
    candidates.sort(key=lambda a: a.get("Created", ""))
    return candidates[-1] if candidates else None


def _timestamp(iso: str) -> float:
    try:
        return datetime.datetime.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return 0.0


# --- Comparing the files of two images ---------------------------------------------------------------

# --- The result and the operations ---------------------------------------------------------------------

@dataclass
class SessionDockerfile(TextAndHtml):
    """The Dockerfile of a session: ``text``; ``cells`` (run) and ``included`` (as RUN) counts; after
    ``-o``, ``path``; after a rebuild, ``build`` (a BuildResult), ``compared_with`` and ``differences``."""

    container: str
    image: str
    text: str
    cells: int
    included: int
    cmd_source: str
    left_out: dict[int, str] = field(default_factory=dict)  # cell number: why it makes no RUN
    path: str | None = None
    build: object = None
    compared_with: str | None = None
    differences: list[Difference] | None = field(default=None)

    @property
    def reproduces(self) -> bool | None:
        """After a rebuild: True when no file differs (beyond
        :data:`~dockmagic.operations.image_compare.IGNORED_PATHS`)."""
        return None if self.differences is None else not self.differences

    def _text(self) -> str:
        return session_dockerfile_view.session_dockerfile_text(self)

    def _html(self) -> str:
        return session_dockerfile_view.session_dockerfile_html(self)


def parse_cell_numbers(text: str | None) -> set[int]:
    """``"3,5-7"`` as ``{3, 5, 6, 7}``: the session's cell numbers that ``--skip`` takes."""
    numbers: set[int] = set()
    for part in (text or "").replace(" ", "").split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()) or int(first) < 1 or int(last or first) < int(first):
            raise InvalidInput(
                f"--skip {text!r}: {part!r} is not a cell number or range. Give the numbers the Dockerfile's "
                "'# from cell N' comments show, e.g. --skip 3,5 or --skip 2-4.")
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def session_dockerfile(name: str, *, cmd=None, skip=(), engine: Engine | None = None) -> SessionDockerfile:
    """The Dockerfile reproducing the ``%%docker_shell`` session of container ``name``.

    ``cmd`` (a list, or a string split like a shell) sets CMD; otherwise the CMD and ENTRYPOINT of an
    image committed from the container are used when they differ from the base image's. ``skip``: the
    numbers of cells to leave out (1 = the session's first cell; a string such as ``"3,5-7"`` too), as
    cells whose first line is ``# dockmagic: skip`` are. Raises InvalidInput for a number the session
    does not have.
    """
    skip = parse_cell_numbers(skip) if isinstance(skip, str) else set(skip)
    engine = engine or connect()
    attrs = find_container(engine, name)
    session = find_session(name, engine)
    count = len(session.cells) if session is not None else 0
    beyond = sorted(number for number in skip if not 1 <= number <= count)
    if beyond:
        raise InvalidInput(
            f"--skip {','.join(map(str, beyond))}: the session of {name!r} has {count} cell"
            f"{'' if count == 1 else 's'} (numbered from 1, as the Dockerfile's '# from cell N' comments show).")
    container_config = attrs.get("Config") or {}
    image = container_config.get("Image", "")
    try:
        image_config = engine.inspect_image(attrs.get("Image") or image).get("Config") or {}
    except NotFound:
        image_config = {}
    if engine.is_podman:
        image, container_config = _without_podman_additions(image, container_config, image_config)
    entrypoint = None
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    if cmd is not None:
        cmd_source = "CMD from --cmd"
    else:
        committed = committed_image(engine, attrs)
        if committed is not None:
            config = committed.get("Config") or {}
            plumbing = _session_plumbing(attrs, image_config)
            if (config.get("Cmd") or None) not in ((image_config.get("Cmd") or None), plumbing["Cmd"]):
                cmd = config.get("Cmd") or []
            if (config.get("Entrypoint") or None) not in ((image_config.get("Entrypoint") or None),
                                                          plumbing["Entrypoint"]):
                entrypoint = config.get("Entrypoint") or []
            name_of = _image_name(committed)
            cmd_source = (f"CMD as committed in {name_of}" if cmd is not None or entrypoint is not None
                          else f"CMD inherited from {image}, as in the committed {name_of}")
        else:
            cmd_source = f"not committed; CMD inherited from {image}"
    lines = dockerfile_lines(image, session, image_config=image_config, container_config=container_config,
                             cmd=cmd, entrypoint=entrypoint, skip=skip)
    cells = session.cells if session is not None else []
    reasons = left_out(session, skip)
    included = sum(1 for number, c in enumerate(cells, start=1)
                   if number not in reasons and not is_state_only(c.script))
    return SessionDockerfile(container=name, image=image, text="\n".join(lines) + "\n", cells=len(cells),
                             included=included, cmd_source=cmd_source, left_out=reasons)


def _session_plumbing(container: dict, image_config: dict) -> dict:
    """The Entrypoint and Cmd that %docker_start gave the container in place of its image's (None where it
    kept the image's): a commit made elsewhere (docker commit) carries them, but they are the notebook's
    way of keeping the container alive, not part of what the session built."""
    from .containers import is_session, session_command

    command, entrypoint = session_command(image_config) if is_session(container) else (None, None)
    # False where the image's own was kept: it matches no config value (None included).
    return {"Cmd": command or False, "Entrypoint": entrypoint or False}


# What Podman adds to every container's environment (containers.conf's default env, and "container"),
# when the image does not set it: the engine's doing, not the session's.
PODMAN_DEFAULT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "xterm",
                      "container": "podman"}


def _without_podman_additions(image: str, container_config: dict, image_config: dict) -> tuple[str, dict]:
    """The image's name as the user wrote it (Podman answers docker.io/library/busybox:latest for busybox)
    and the container's config without the variables Podman sets in every container."""
    familiar = familiar_image_name(image)
    if familiar != image and familiar.endswith(":latest"):
        familiar = familiar[:-len(":latest")]
    image_env = env_dict(image_config.get("Env"))
    env = [pair for pair in container_config.get("Env") or ()
           if not (pair.partition("=")[0] not in image_env
                   and PODMAN_DEFAULT_ENV.get(pair.partition("=")[0]) == pair.partition("=")[2])]
    return familiar, dict(container_config, Env=env)


def _image_name(attrs: dict) -> str:
    return familiar_image_name((attrs.get("RepoTags") or [attrs["Id"].split(":")[-1][:12]])[0])


def write_dockerfile(result: SessionDockerfile, path: str) -> SessionDockerfile:
    """Write the Dockerfile to ``path`` (replacing the file)."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(result.text)
    except OSError as error:
        raise InvalidInput(f"Could not write the Dockerfile to {path!r}: {error.strerror}.") from None
    result.path = path
    return result


def rebuild(result: SessionDockerfile, tag: str, *, network: str | None = None, engine: Engine | None = None,
            **build_options) -> SessionDockerfile:
    """Build ``result``'s Dockerfile as ``tag`` and compare the rebuilt image's files with the image
    committed from the container (or, if none, with the container's own files). ``network`` defaults
    to the container's network mode, so what worked in the session (e.g. apt over the host network)
    works in the build. ``build_options`` go to :func:`dockmagic.build` (e.g. ``on_event``)."""
    from .build import build

    check_image_reference(tag, what="tag")
    engine = engine or connect()
    attrs = find_container(engine, result.container)
    if not network:
        mode = (attrs.get("HostConfig") or {}).get("NetworkMode") or ""
        network = mode if mode in ("host", "none") else None
    built = build(result.text, tags=[tag], network=network, engine=engine, **build_options)
    result.build = built
    committed = committed_image(engine, attrs)
    if committed is not None:
        result.compared_with = _image_name(committed)
        before = image_signature(engine, committed["Id"])
    else:
        result.compared_with = f"container {result.container}"
        before = filesystem_signature(engine, attrs["Id"])
    after = image_signature(engine, built.image_id)
    result.differences = compare(before, after)
    return result
