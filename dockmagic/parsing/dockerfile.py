"""Reading a Dockerfile before it is sent: its instructions with line numbers, its stages, and the
mistakes that can be named without an engine (no FROM, an unknown instruction, an empty cell).

The parsing itself is dockerfile-parse's (continuation lines, comments, parser directives); heredocs
(``RUN <<EOF`` ... ``EOF``), which it does not know, are cut out before it reads the text and given back to
their instruction. This module is the one reader of stages, for both builders.
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from dockerfile_parse import DockerfileParser

from ..errors import DockerfileError

KNOWN_INSTRUCTIONS = (
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
)


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword, its arguments, and where it stands (1-based lines)."""

    keyword: str
    arguments: str
    line: int
    end_line: int
    text: str
    heredocs: tuple[str, ...] = ()  # the bodies of its heredocs, in order (``RUN <<EOF`` ... ``EOF``)

    @property
    def written(self) -> str:
        """The instruction as the build log names it: keyword and arguments on one line."""
        return f"{self.keyword} {self.arguments}".strip()

    @property
    def flags(self) -> list[str]:
        """Its leading ``--name=value`` flags (``--mount=type=cache,target=/x``, ``--chmod=755``...)."""
        flags, rest = [], self.arguments.lstrip()
        while rest.startswith("--") and len(rest) > 2 and not rest[2].isspace():
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.lstrip()
        return flags

    @property
    def command(self) -> str:
        """Its arguments without the leading flags (what a RUN runs), its heredocs' bodies after them."""
        rest = self.arguments.lstrip()
        for flag in self.flags:
            rest = rest[len(flag):].lstrip()
        return "\n".join([rest, *self.heredocs])

    @property
    def shown(self) -> str:
        """The instruction as its author wrote it (their casing, continuation lines and heredocs)."""
        return self.text


# ``<<EOF``, ``<<-EOF``, ``<<"EOF"``, ``<<'EOF'``: BuildKit's heredoc openers (Dockerfile 1.4 syntax).
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_HEREDOC_KEYWORDS = ("RUN", "COPY", "ADD")


def _heredoc_openers(instruction: str) -> list[tuple[str, str, str]]:
    """The heredocs an instruction opens: its words (quotes read as a shell reads them) that are a whole
    ``<<EOF``; a ``<<EOF`` inside a quoted string is text, as BuildKit reads it."""
    try:
        words = shlex.split(instruction, posix=False)
    except ValueError:
        return []
    return [match.groups() for match in map(_HEREDOC.fullmatch, words[1:]) if match]


def _cut_heredocs(text: str) -> tuple[str, dict[int, tuple[int, list[str], list[str]]]]:
    """``text`` with its heredoc bodies blanked (the line numbers kept), and for each instruction that
    opens heredocs, by its first line (0-based): its last line, its bodies, the lines as written."""
    lines = text.split("\n")
    found: dict[int, tuple[int, list[str], list[str]]] = {}
    index, start, continued = 0, None, False
    while index < len(lines):
        line = lines[index]
        if not continued:
            start = index
        stripped = line.rstrip()
        continued = stripped.endswith("\\") and not line.lstrip().startswith("#")
        if continued:
            index += 1
            continue
        logical = " ".join(line.rstrip().removesuffix("\\") for line in lines[start:index + 1])
        words = logical.split(None, 1)
        openers = _heredoc_openers(logical) if words and words[0].upper() in _HEREDOC_KEYWORDS else []
        bodies, end = [], index
        for dash, _, word in openers:
            body = []
            end += 1
            while end < len(lines) and (lines[end].lstrip("\t") if dash else lines[end]).rstrip() != word:
                body.append(lines[end])
                end += 1
            bodies.append("\n".join(body))
        if openers:
            found[start] = (min(end, len(lines) - 1), bodies, lines[start:end + 1])
            for blank in range(index + 1, min(end + 1, len(lines))):
                lines[blank] = ""
        index = end + 1
    return "\n".join(lines), found


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of ``text`` in order, comments and parser directives left out; an instruction
    with heredocs ends at its last terminator and holds their bodies."""
    return list(_parsed(text))


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> tuple[Instruction, ...]:
    # A build reads its Dockerfile several times (checks, stages, the view, the cache explanation): once is
    # enough, and an Instruction cannot be changed.
    cut, heredocs = _cut_heredocs(text)
    parser = DockerfileParser(fileobj=io.BytesIO(cut.encode("utf-8")))
    instructions = []
    for entry in parser.structure:
        keyword = entry["instruction"].upper()
        if keyword == "COMMENT":
            continue
        end_line, bodies, written = heredocs.get(entry["startline"], (entry["endline"], [], None))
        instructions.append(
            Instruction(
                keyword=keyword,
                arguments=entry["value"],
                line=entry["startline"] + 1,
                end_line=max(end_line, entry["endline"]) + 1,
                text="\n".join(written) if written else entry["content"].rstrip("\n"),
                heredocs=tuple(bodies),
            )
        )
    return tuple(instructions)


def check_buildable(text: str) -> list[Instruction]:
    """Raise :class:`DockerfileError` naming the line if ``text`` cannot be built as written."""
    if not text.strip():
        raise DockerfileError(
            "The cell is empty: write a Dockerfile in it, starting with a FROM line (e.g. FROM busybox)."
        )
    instructions = parse_dockerfile(text)
    for instruction in instructions:
        if instruction.keyword not in KNOWN_INSTRUCTIONS:
            raise DockerfileError(
                f"Line {instruction.line}: unknown instruction {instruction.keyword!s} "
                f"({instruction.text.strip()[:80]!r}). Dockerfile instructions are "
                f"{', '.join(KNOWN_INSTRUCTIONS)}."
            )
    first = next((i for i in instructions if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        where = f"line {first.line} is {first.keyword}" if first else "there is no instruction"
        raise DockerfileError(
            f"No FROM before the first instruction ({where}). A Dockerfile starts with FROM naming "
            "its base image (only ARG may come before it), e.g. FROM busybox."
        )
    return instructions


def from_image_and_stage(arguments: str) -> tuple[str | None, str | None]:
    """What a FROM line's arguments name: ``(image, stage name)``, flags such as ``--platform`` skipped;
    the stage name is None without ``AS name``, the image None for an empty FROM."""
    words = [word for word in arguments.split() if not word.startswith("--")]
    image = words[0] if words else None
    stage = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    return image, stage


def stage_names(instructions: list[Instruction]) -> list[str]:
    """The names the FROM lines give their stages (``FROM image AS name``), in order, as written."""
    names = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            _, stage = from_image_and_stage(instruction.arguments)
            if stage:
                names.append(stage)
    return names


@dataclass(frozen=True)
class DockerfileStage:
    """A stage: its position, its ``AS`` name, its instructions (``FROM`` first) as one-line texts."""

    index: int
    name: str | None
    instructions: tuple[str, ...]

    @property
    def label(self) -> str:
        """What BuildKit calls the stage in vertex names: its name, else ``stage-<index>``."""
        return self.name or f"stage-{self.index}"

    @property
    def base(self) -> str:
        """The image (or earlier stage) its FROM names, "" for an empty FROM."""
        image, _ = from_image_and_stage(self.instructions[0].split(None, 1)[1] if " " in self.instructions[0] else "")
        return image or ""


def dockerfile_stages(text: str) -> tuple[DockerfileStage, ...]:
    """The stages of a Dockerfile (instructions before the first FROM, global ARGs, are left out)."""
    stages: list[tuple[str | None, list[str]]] = []
    for instruction in parse_dockerfile(text):
        if instruction.keyword == "FROM":
            stages.append((from_image_and_stage(instruction.arguments)[1], [instruction.written]))
        elif stages:
            stages[-1][1].append(instruction.written)
    return tuple(DockerfileStage(i, name, tuple(lines)) for i, (name, lines) in enumerate(stages))


_STAGE_REFERENCE = re.compile(r"--from=([^\s,]+)|--mount=\S*?\bfrom=([^\s,]+)")


def stage_index(stages: Sequence[DockerfileStage], reference: str, before: int) -> int | None:
    """The stage a ``FROM``/``--from`` reference names (by name or index), among the first ``before``."""
    for stage in stages[:before]:
        if stage.name and stage.name.lower() == reference.lower() or reference == str(stage.index):
            return stage.index
    return None


def target_index(stages: Sequence[DockerfileStage], target: str | None) -> int | None:
    """The target stage: the one named ``target``, else the last."""
    if not stages:
        return None
    if target:
        found = stage_index(stages, target, len(stages))
        if found is not None:
            return found
    return len(stages) - 1


def needed_stages(stages: Sequence[DockerfileStage], target: str | None = None) -> set[int]:
    """Indexes of the stages the target needs: itself and, transitively, the stages it builds on
    (``FROM stage``), copies from (``COPY --from``) or mounts (``RUN --mount=...,from=``)."""
    start = target_index(stages, target)
    if start is None:
        return set()
    needed, todo = set(), [start]
    while todo:
        index = todo.pop()
        if index in needed:
            continue
        needed.add(index)
        stage = stages[index]
        references = [stage.base]
        for instruction in stage.instructions[1:]:
            references += [a or b for a, b in _STAGE_REFERENCE.findall(instruction)]
        for reference in references:
            found = stage_index(stages, reference, index)
            if found is not None:
                todo.append(found)
    return needed


def base_images(text: str, target: str | None = None) -> list[str]:
    """The images the needed stages start FROM, copy from (``COPY --from=image``) or mount
    (``RUN --mount=...,from=image``), in order, once each: not ``scratch``, not a stage, not one naming a
    build argument (``$BASE``: known only to the engine)."""
    stages = dockerfile_stages(text)
    needed = needed_stages(stages, target)
    images: list[str] = []
    for stage in stages:
        if stage.index not in needed:
            continue
        references = [stage.base]
        for instruction in stage.instructions[1:]:
            references += [a or b for a, b in _STAGE_REFERENCE.findall(instruction)]
        for reference in references:
            reference = reference.strip("\"'")
            if (reference and not reference.isdigit() and reference.lower() != "scratch" and "$" not in reference
                    and stage_index(stages, reference, stage.index) is None and reference not in images):
                images.append(reference)
    return images


@dataclass(frozen=True)
class Problem:
    """Something in a Dockerfile that fails or misleads a build, with the line it is on."""

    line: int
    rule: str
    message: str


_APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b")
_APT_YES = re.compile(r"(?:^|\s)(?:-[a-zA-Z]*y[a-zA-Z]*|--yes|--assume-yes)(?=\s|$)")
_APT_UPDATE_ONLY = re.compile(r"^\s*apt(?:-get)?\s+(?:-\S+\s+)*update(?:\s+-\S+)*\s*$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _commands(run_arguments: str) -> list[str]:
    """The commands of a RUN line, split at && ; || and new lines, so each apt-get is judged on its own."""
    return [part for part in re.split(r"&&|\|\||;|\n", run_arguments) if part.strip()]


LEGACY, BUILDKIT = "legacy", "buildkit"
# The first Docker Engine whose built-in Dockerfile frontend reads heredocs (Dockerfile syntax 1.4).
HEREDOC_ENGINE = 23
_SESSION_MOUNT = re.compile(r"^--mount=(?:\S*,)?type=(secret|ssh)\b")
_SYNTAX = re.compile(r"^#\s*syntax\s*=\s*(\S+)", re.IGNORECASE)


def syntax_frontend(text: str) -> str | None:
    """The frontend image a ``# syntax=`` directive names, or None (it must come before any other line)."""
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _SYNTAX.match(line.strip())
        if match:
            return match[1]
        if not line.lstrip().startswith("#"):
            return None
    return None


@dataclass(frozen=True)
class SecretMount:
    """A ``RUN --mount=type=secret``: the secret's ``id`` (BuildKit's default: the target's file name), where
    the step reads it, and whether the build fails without it (``required=true``; else the file is absent)."""

    line: int
    id: str
    target: str
    required: bool


def secret_mounts(instructions: list[Instruction]) -> list[SecretMount]:
    """The secret mounts of the RUN instructions, in file order."""
    mounts = []
    for instruction in instructions:
        if instruction.keyword != "RUN":
            continue
        for flag in instruction.flags:
            kind = _SESSION_MOUNT.match(flag)
            if not kind or kind[1] != "secret":
                continue
            options = dict(part.partition("=")[::2] for part in flag[len("--mount="):].split(","))
            target = options.get("target") or options.get("dst") or options.get("destination") or ""
            secret_id = options.get("id") or posixpath.basename(target)
            mounts.append(SecretMount(instruction.line, secret_id, target or f"/run/secrets/{secret_id}",
                                      options.get("required", "false").lower() in ("true", "1", "")))
    return mounts


def builder_problems(text: str, instructions: list[Instruction], builder: str,
                     engine: str = "", secrets: list[str] | None = None) -> list[Problem]:
    """What ``builder`` (``legacy`` or ``buildkit``) of this project's engines would reject, by line.

    ``engine`` names the engine (``Docker Engine 20.10.24``) in the sentences. ``secrets`` are the ids of
    the secrets the build is given (None: not known, as for ``--check``): a required secret mount whose
    secret is not among them is a problem."""
    problems = []
    where = f" ({engine} is there)" if engine else ""
    frontend = syntax_frontend(text)
    if frontend and builder == BUILDKIT:
        problems.append(Problem(1, "syntax-frontend", (
            f"# syntax={frontend} asks BuildKit to fetch the frontend image {frontend}; it must be on the "
            "engine already (docker pull it, or load it), else the build fails resolving it. Without the line, "
            "the engine's built-in frontend reads the Dockerfile")))
    for instruction in instructions:
        if instruction.heredocs:
            problems.append(Problem(instruction.line, "heredoc", (
                f"heredocs ({instruction.keyword} <<...) need BuildKit with Docker Engine {HEREDOC_ENGINE} or "
                f"newer{where}; write the commands on one line joined with &&, or COPY a script")))
        flags = instruction.flags
        if builder == LEGACY and instruction.keyword == "RUN" and any(f.startswith("--mount=") for f in flags):
            problems.append(Problem(instruction.line, "legacy-mount", (
                "RUN --mount is BuildKit's: the legacy builder rejects it. Build with --builder buildkit "
                "(or %config DockMagic.builder = 'buildkit')")))
        if builder == LEGACY and instruction.keyword in ("COPY", "ADD") and any(
                f.startswith("--chmod=") for f in flags):
            problems.append(Problem(instruction.line, "legacy-chmod", (
                f"{instruction.keyword} --chmod is BuildKit's: Docker's legacy builder rejects it. Build with "
                "--builder buildkit, or RUN chmod after the copy")))
        if builder == BUILDKIT and instruction.keyword == "RUN":
            for flag in flags:
                kind = _SESSION_MOUNT.match(flag)
                if kind and kind[1] == "ssh":
                    problems.append(Problem(instruction.line, "ssh-mount", (
                        "RUN --mount=type=ssh needs the client session to forward an ssh agent, which "
                        "dockmagic's does not do yet: fetch with a token given as a secret (--secret) "
                        "instead")))
                if flag.startswith("--network="):
                    problems.append(Problem(instruction.line, "run-network", (
                        "RUN --network is not known to this engine's built-in Dockerfile frontend: give the "
                        "build's --network instead (host or none)")))
    if builder == BUILDKIT:
        for mount in secret_mounts(instructions):
            if mount.required and mount.id not in (secrets or ()):
                problems.append(Problem(mount.line, "missing-secret", (
                    f"RUN --mount=type=secret,id={mount.id} is required=true, and no secret {mount.id!r} was "
                    f"given: build with --secret id={mount.id},src=FILE (or env=VARIABLE)")))
    return problems


def find_problems(text: str, builder: str | None = None, engine: str = "") -> tuple[list[Instruction], list[Problem]]:
    """Parse ``text`` and list its problems, with no engine: unknown instructions, a missing FROM,
    ``apt-get install`` without ``-y`` (it would wait for an answer no build can give), ``apt-get update``
    alone in its RUN (its layer gets cached and goes stale), ``ADD`` of a URL (not cached by content,
    no checksum: prefer RUN curl/wget with a check, or COPY); with ``builder``, what that builder would
    reject (:func:`builder_problems`). Heredocs and instruction flags are read as the engine reads them."""
    if not text.strip():
        return [], [Problem(1, "empty", "The Dockerfile is empty: start it with FROM.")]
    instructions = parse_dockerfile(text)
    problems = []
    for instruction in instructions:
        if instruction.keyword not in KNOWN_INSTRUCTIONS:
            problems.append(Problem(instruction.line, "unknown-instruction",
                                    f"unknown instruction {instruction.text.split(None, 1)[0]}"))
    first = next((i for i in instructions if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        problems.append(Problem(first.line if first else 1, "missing-from",
                                "no FROM before the first instruction: a Dockerfile starts with FROM its base image"))
    for instruction in instructions:
        if instruction.keyword == "RUN":
            commands = _commands(instruction.command)
            for command in commands:
                if _APT_INSTALL.search(command) and not _APT_YES.search(command):
                    problems.append(Problem(
                        instruction.line, "apt-install-without-y",
                        "apt-get install without -y: it asks for confirmation and a build cannot answer; "
                        "write apt-get install -y"))
            if len(commands) == 1 and _APT_UPDATE_ONLY.match(commands[0]):
                problems.append(Problem(
                    instruction.line, "apt-update-alone",
                    "apt-get update alone in its RUN: that layer is cached and goes stale, so a later "
                    "install may fetch outdated lists; write RUN apt-get update && apt-get install -y ..."))
        if instruction.keyword == "ADD":
            sources = instruction.command.split()[:-1]
            if any(_URL.match(source) for source in sources):
                problems.append(Problem(
                    instruction.line, "add-url",
                    "ADD of a URL: downloaded at every build with no checksum and no cache by content; "
                    "prefer RUN curl/wget with a checksum, or COPY a file from the context"))
    if builder:
        problems.extend(builder_problems(text, instructions, builder, engine))
    problems.sort(key=lambda problem: problem.line)
    return instructions, problems
