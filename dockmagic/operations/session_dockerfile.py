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
engine manages (:data:`IGNORED_PATHS`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import shlex
import tarfile
from dataclasses import dataclass, field

import docker

from ..engine import Engine, connect
from ..errors import DockmagicError
from ..views.display import TextAndHtml, escape
from ..parsing.image_names import familiar_image_name
from .containers import _remove_quietly, find_container
from .names import check_image_reference
from .shell import ShellSession, ShellState, find_session

# Paths whose differences say nothing about the reproduction: logs, caches, temporary files, shell
# history, and files the engine writes into every container.
IGNORED_PATHS = (
    "/var/log", "/var/cache", "/var/lib/apt/lists", "/tmp", "/var/tmp", "/root/.cache",
    "/root/.bash_history", "/root/.ash_history", "/root/.sh_history",
    "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/.dockerenv", "/proc", "/sys", "/dev",
    "/etc/mtab", "/run/.containerenv",  # Podman's, in every container's layer
)

# Variables the engine sets per container; they are not the session's doing.
ENGINE_VARIABLES = {"HOSTNAME", "HOME"}

STATE_COMMANDS = {"cd", "export", "unset", "pushd", "popd"}


# --- Turning cells into Dockerfile lines ---------------------------------------------------------------

def _words_and_ends(line: str):
    """Split a line as the shell would into words and operators, with whether it ends inside quotes.
    Returns ``(tokens, complete)``; a trailing comment is dropped."""
    tokens, word, i, quote = [], "", 0, None
    while i < len(line):
        c = line[i]
        if quote == "'":
            word += c
            if c == "'":
                quote = None
        elif quote == '"':
            word += c
            if c == "\\" and i + 1 < len(line):
                word += line[i + 1]
                i += 1
            elif c == '"':
                quote = None
        elif c in "'\"":
            word += c
            quote = c
        elif c == "\\":
            word += line[i:i + 2]
            i += 1
        elif c.isspace():
            if word:
                tokens.append(word)
                word = ""
        elif c == "#" and not word:
            break
        elif c in ";&|()":
            if word:
                tokens.append(word)
                word = ""
            two = line[i:i + 2]
            if two in (";;", "&&", "||"):
                tokens.append(two)
                i += 1
            else:
                tokens.append(c)
        else:
            word += c
        i += 1
    if word:
        tokens.append(word)
    return tokens, quote is None


# After these a newline may be written as a space; anywhere else it is a command separator.
_JOIN_WITH_SPACE = {"&&", "||", "|", "&", ";", ";;", "then", "do", "else", "{", "(", "in", "()"}


def _one_line_parts(script: str):
    """The script's lines ready to be joined into one RUN, or None when it cannot be done faithfully
    (here-documents, quotes spanning lines)."""
    if "<<" in script:
        return None
    parts = []
    for raw in script.splitlines():
        tokens, complete = _words_and_ends(raw)
        if not complete:
            return None
        if not tokens:
            continue
        text = raw.rstrip()
        # Drop a trailing comment (it would swallow what follows once the lines are joined).
        if "#" in text:
            text = _strip_comment(text)
        continued = text.endswith("\\")
        last = tokens[-1]
        if text.endswith("()"):
            last = "()"
        parts.append((text[:-1].rstrip() if continued else text, continued or last in _JOIN_WITH_SPACE))
    return parts


def _strip_comment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                continue
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def run_instruction(script: str) -> str:
    """``RUN`` for ``script``, continued over lines with ``\\``; scripts that cannot be joined faithfully
    are passed whole to ``eval`` (each line quoted)."""
    parts = _one_line_parts(script)
    if parts is None:
        quoted = " \\\n    ".join("'" + line.replace("'", "'\\''") + "'" for line in script.splitlines())
        return f"RUN eval \"$(printf '%s\\n' \\\n    {quoted})\""
    if not parts:
        return ""
    lines = []
    for index, (text, joins_with_space) in enumerate(parts):
        is_last = index == len(parts) - 1
        if is_last:
            lines.append(text)
        else:
            lines.append(text + (" \\" if joins_with_space else "; \\"))
    return "RUN " + "\n    ".join(lines)


def is_state_only(script: str) -> bool:
    """True when every command of the cell only changes the shell (cd, export, unset, VAR=value): its
    effect is all in WORKDIR/ENV, a RUN would do nothing."""
    parts = _one_line_parts(script)
    if parts is None:
        return False
    commands: list[list[str]] = [[]]
    for text, _ in parts:
        tokens, _ = _words_and_ends(text)
        for token in tokens:
            if token in (";", "&&", "\n"):
                commands.append([])
            elif token in ("|", "||", "&", "(", ")", ";;", "()"):
                return False
            else:
                commands[-1].append(token)
        commands.append([])
    commands = [c for c in commands if c]
    if not commands:
        return False
    for words in commands:
        if words[0] in STATE_COMMANDS:
            continue
        if all(re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w) for w in words) and not any("$(" in w or "`" in w
                                                                                     for w in words):
            continue
        return False
    return True


def env_value(value: str) -> str:
    """A value for ``ENV K=<value>``: double-quoted, with ``\\``, ``"`` and ``$`` escaped (ENV expands
    variables itself)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _env_lines(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = []
    for key in sorted(new):
        if key in ENGINE_VARIABLES or old.get(key) == new[key]:
            continue
        if "\n" in new[key]:
            lines.append(f"# ENV {key} is not written here: its value holds a line break")
        else:
            lines.append(f"ENV {key}={env_value(new[key])}")
    for key in sorted(set(old) - set(new) - ENGINE_VARIABLES):
        lines.append(f"# {key} was unset in the session; a Dockerfile cannot unset a variable, so it is emptied")
        lines.append(f'ENV {key}=""')
    return lines


def _functions_used(script: str, functions: dict[str, str]) -> list[str]:
    """Definitions of the functions ``script`` calls, and of those they call, in definition order."""
    wanted: set[str] = set()
    pending = [script]
    while pending:
        text = pending.pop()
        for name, definition in functions.items():
            if name not in wanted and re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", text):
                wanted.add(name)
                pending.append(definition.split("\n", 1)[-1])
    return [definition for name, definition in functions.items() if name in wanted]


def _compact_function(definition: str) -> str:
    """A ``declare -f`` definition on one line, when that is safe; else as it is."""
    lines = [line.strip() for line in definition.splitlines()]
    if len(lines) < 3 or lines[1] != "{" or lines[-1] != "}":
        return definition
    body = lines[2:-1]
    parts = _one_line_parts("\n".join(body))
    if parts is None or not parts:
        return definition
    joined = " ".join(text + ("" if space or i == len(parts) - 1 else ";") for i, (text, space) in enumerate(parts))
    return f"{lines[0].rstrip()} {{ {joined}; }}"


def _exec_form(words) -> str:
    return json.dumps(list(words))


def dockerfile_lines(image: str, session: ShellSession | None, *, image_config: dict, container_config: dict,
                     cmd=None, entrypoint=None) -> list[str]:
    """The Dockerfile's lines for a session (``None``: no cell was run)."""
    lines = [f"FROM {image}"]
    image_env = _env_dict(image_config.get("Env"))
    container_env = _env_dict(container_config.get("Env"))
    extra_env = {k: v for k, v in container_env.items() if image_env.get(k) != v}
    if session is not None and session.shell == "bash":
        lines.append('SHELL ["/bin/bash", "-c"]')
    lines.extend(_env_lines({}, extra_env))
    image_workdir = image_config.get("WorkingDir") or "/"
    container_workdir = container_config.get("WorkingDir") or "/"
    if container_workdir != image_workdir:
        lines.append(f"WORKDIR {container_workdir}")

    if session is not None and session.initial_state is not None:
        current = ShellState(session.initial_state.cwd, dict(session.initial_state.env), {})
        for cell in session.cells:
            if not cell.ok:
                continue
            lines.extend(_sync(current, cell.before))
            if not is_state_only(cell.script):
                script = cell.script.strip("\n")
                definitions = _functions_used(script, cell.before.functions)
                if definitions:
                    script = "\n".join([_compact_function(d) for d in definitions] + [script])
                instruction = run_instruction(script)
                if instruction:
                    lines.append(instruction)
            lines.extend(_sync(current, cell.after))

    if entrypoint is not None:
        lines.append(f"ENTRYPOINT {_exec_form(entrypoint)}")
    if cmd is not None:
        lines.append(f"CMD {_exec_form(cmd)}")
    return lines


def _sync(current: ShellState, target: ShellState | None) -> list[str]:
    """WORKDIR/ENV lines taking the Dockerfile from ``current`` to ``target`` (``current`` updated)."""
    if target is None:
        return []
    lines = []
    if target.cwd != current.cwd:
        lines.append(f"WORKDIR {target.cwd}")
        current.cwd = target.cwd
    lines.extend(_env_lines(current.env, target.env))
    current.env = dict(target.env)
    return lines


def _env_dict(pairs) -> dict[str, str]:
    result = {}
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        result[key] = value
    return result


# --- Finding what was committed ----------------------------------------------------------------------

def committed_image(engine: Engine, container: dict) -> dict | None:
    """The newest image committed from ``container`` (an inspect; matched on the image's ``Container``
    field), or None. Only images made after the container are looked at. Podman records no ``Container``:
    there, the images this process committed from it (with %docker_commit) are the candidates."""
    from .commit import images_committed_from

    created = _timestamp(container.get("Created", ""))
    candidates = []
    ours = set(images_committed_from(engine, container["Id"]))
    for summary in engine.api.images():
        if summary.get("Created", 0) < created - 1 and summary.get("Id") not in ours:
            continue
        try:
            attrs = engine.api.inspect_image(summary["Id"])
        except docker.errors.NotFound:
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

@dataclass(frozen=True)
class Difference:
    """A path whose file differs: ``kind`` is "changed", "only in rebuilt" or "only in committed"."""

    path: str
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        letter = {"changed": "C", "only in rebuilt": "A", "only in committed": "D"}[self.kind]
        detail = f"  ({self.detail})" if self.detail else ""
        return f"{letter} {self.path}{detail}"


def _ignored(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in IGNORED_PATHS)


class _ChunkReader:
    """A file object over the chunks of an export stream, for tarfile's stream mode."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size=-1):
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def filesystem_signature(engine: Engine, container_id: str) -> dict[str, tuple]:
    """``{path: (type, mode, uid, gid, link, size, sha1)}`` for a container's files (times left out)."""
    signature = {}
    stream = engine.api.export(container_id, chunk_size=1 << 20)
    with tarfile.open(fileobj=_ChunkReader(stream), mode="r|") as archive:
        for member in archive:
            name = member.name[2:] if member.name.startswith("./") else member.name
            path = "/" + name.strip("/")
            if path == "/" or _ignored(path):
                continue
            digest = ""
            if member.isreg():
                digest = _sha1(archive.extractfile(member))
            signature[path] = (member.type, member.mode, member.uid, member.gid, member.linkname, member.size,
                               digest)
    return signature


def _sha1(handle) -> str:
    if handle is None:
        return ""
    digest = hashlib.sha1()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _image_signature(engine: Engine, image: str) -> dict[str, tuple]:
    # A created (never started) container exposes the image's files to export.
    container = engine.api.create_container(image, command=["/dockmagic-never-started"],
                                            labels={"dockmagic": "compare"})
    try:
        return filesystem_signature(engine, container["Id"])
    finally:
        _remove_quietly(engine.api, container["Id"])


def compare(committed: dict[str, tuple], rebuilt: dict[str, tuple]) -> list[Difference]:
    differences = []
    for path in sorted(set(committed) | set(rebuilt)):
        a, b = committed.get(path), rebuilt.get(path)
        if a == b:
            continue
        if a is None:
            differences.append(Difference(path, "only in rebuilt"))
        elif b is None:
            differences.append(Difference(path, "only in committed"))
        else:
            what = [name for name, x, y in zip(("type", "mode", "owner", "owner", "link", "size", "content"), a, b)
                    if x != y]
            differences.append(Difference(path, "changed", ", ".join(dict.fromkeys(what))))
    return differences


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
    path: str | None = None
    build: object = None
    compared_with: str | None = None
    differences: list[Difference] | None = field(default=None)

    @property
    def reproduces(self) -> bool | None:
        """After a rebuild: True when no file differs (beyond :data:`IGNORED_PATHS`)."""
        return None if self.differences is None else not self.differences

    def _summary(self) -> list[str]:
        lines = [f"# Dockerfile of container {self.container}: {self.included} of {self.cells} cells as RUN"
                 f" ({self.cmd_source})"]
        if not self.cells:
            lines.append("# no %%docker_shell cell was recorded for this container in this Python process")
        if self.path:
            lines.append(f"# written to {self.path}")
        return lines

    def _build_lines(self) -> list[str]:
        if self.build is None:
            return []
        tags = ", ".join(getattr(self.build, "tags", []) or [])
        image_id = (getattr(self.build, "image_id", "") or "").split(":")[-1][:12]
        lines = [f"Rebuilt as {tags} ({image_id})."]
        if self.differences is not None:
            if self.differences:
                count = len(self.differences)
                lines.append(f"{count} {'file differs' if count == 1 else 'files differ'} from "
                             f"{self.compared_with} (logs and caches left out):")
                lines.extend(f"  {d}" for d in self.differences[:200])
                if len(self.differences) > 200:
                    lines.append(f"  ... and {len(self.differences) - 200} more")
            else:
                lines.append(f"Same files as {self.compared_with} (logs and caches left out).")
        return lines

    def _text(self) -> str:
        parts = ["\n".join(self._summary()), self.text]
        build = self._build_lines()
        if build:
            parts.append("\n".join(build))
        return "\n".join(parts)

    def _html(self) -> str:
        summary = "<br>".join(escape(line.lstrip("# ")) for line in self._summary())
        html = (f"<div class='dockmagic-dockerfile'><div><small>{summary}</small></div>"
                f"<pre>{escape(self.text)}</pre>")
        build = self._build_lines()
        if build:
            html += f"<pre>{escape(chr(10).join(build))}</pre>"
        return html + "</div>"


def session_dockerfile(name: str, *, cmd=None, engine: Engine | None = None) -> SessionDockerfile:
    """The Dockerfile reproducing the ``%%docker_shell`` session of container ``name``.

    ``cmd`` (a list, or a string split like a shell) sets CMD; otherwise the CMD and ENTRYPOINT of an
    image committed from the container are used when they differ from the base image's.
    """
    engine = engine or connect()
    attrs = find_container(engine, name)
    session = find_session(name, engine)
    container_config = attrs.get("Config") or {}
    image = container_config.get("Image", "")
    try:
        image_config = engine.api.inspect_image(attrs.get("Image") or image).get("Config") or {}
    except docker.errors.NotFound:
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
            if (config.get("Cmd") or None) != (image_config.get("Cmd") or None):
                cmd = config.get("Cmd") or []
            if (config.get("Entrypoint") or None) != (image_config.get("Entrypoint") or None):
                entrypoint = config.get("Entrypoint") or []
            name_of = _image_name(committed)
            cmd_source = (f"CMD as committed in {name_of}" if cmd is not None or entrypoint is not None
                          else f"CMD inherited from {image}, as in the committed {name_of}")
        else:
            cmd_source = f"not committed; CMD inherited from {image}"
    lines = dockerfile_lines(image, session, image_config=image_config, container_config=container_config,
                             cmd=cmd, entrypoint=entrypoint)
    cells = session.cells if session is not None else []
    included = sum(1 for c in cells if c.ok and not is_state_only(c.script))
    return SessionDockerfile(container=name, image=image, text="\n".join(lines) + "\n", cells=len(cells),
                             included=included, cmd_source=cmd_source)


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
    image_env = _env_dict(image_config.get("Env"))
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
        raise DockmagicError(f"Could not write the Dockerfile to {path!r}: {error.strerror}.") from None
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
        before = _image_signature(engine, committed["Id"])
    else:
        result.compared_with = f"container {result.container}"
        before = filesystem_signature(engine, attrs["Id"])
    after = _image_signature(engine, built.image_id)
    result.differences = compare(before, after)
    return result
