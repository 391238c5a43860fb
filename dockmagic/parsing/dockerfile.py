"""Reading a Dockerfile before it is sent: its instructions with line numbers, and the mistakes that
can be named without an engine (no FROM, an unknown instruction, an empty cell).

The parsing itself is dockerfile-parse's (continuation lines, comments, parser directives).
"""

from __future__ import annotations

import io
import re
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

    @property
    def written(self) -> str:
        """The instruction as the build log names it: keyword and arguments on one line."""
        return f"{self.keyword} {self.arguments}".strip()


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of ``text`` in order, comments and parser directives left out."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    instructions = []
    for entry in parser.structure:
        keyword = entry["instruction"].upper()
        if keyword == "COMMENT":
            continue
        instructions.append(
            Instruction(
                keyword=keyword,
                arguments=entry["value"],
                line=entry["startline"] + 1,
                end_line=entry["endline"] + 1,
                text=entry["content"].rstrip("\n"),
            )
        )
    return instructions


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
    """The commands of a RUN line, split at && ; and ||, so each apt-get is judged on its own."""
    return [part for part in re.split(r"&&|\|\||;", run_arguments) if part.strip()]


def find_problems(text: str) -> tuple[list[Instruction], list[Problem]]:
    """Parse ``text`` and list its problems, with no engine: unknown instructions, a missing FROM,
    ``apt-get install`` without ``-y`` (it would wait for an answer no build can give), ``apt-get update``
    alone in its RUN (its layer gets cached and goes stale), ``ADD`` of a URL (not cached by content,
    no checksum: prefer RUN curl/wget with a check, or COPY)."""
    if not text.strip():
        return [], [Problem(1, "empty", "The Dockerfile is empty: start it with FROM.")]
    instructions = parse_dockerfile(text)
    problems = []
    for instruction in instructions:
        if instruction.keyword not in KNOWN_INSTRUCTIONS:
            problems.append(Problem(instruction.line, "unknown-instruction",
                                    f"unknown instruction {instruction.keyword}"))
    first = next((i for i in instructions if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        problems.append(Problem(first.line if first else 1, "missing-from",
                                "no FROM before the first instruction: a Dockerfile starts with FROM its base image"))
    for instruction in instructions:
        if instruction.keyword == "RUN":
            for command in _commands(instruction.arguments):
                if _APT_INSTALL.search(command) and not _APT_YES.search(command):
                    problems.append(Problem(
                        instruction.line, "apt-install-without-y",
                        "apt-get install without -y: it asks for confirmation and a build cannot answer; "
                        "write apt-get install -y"))
            if _APT_UPDATE_ONLY.match(instruction.arguments):
                problems.append(Problem(
                    instruction.line, "apt-update-alone",
                    "apt-get update alone in its RUN: that layer is cached and goes stale, so a later "
                    "install may fetch outdated lists; write RUN apt-get update && apt-get install -y ..."))
        if instruction.keyword == "ADD":
            sources = [w for w in instruction.arguments.split() if not w.startswith("--")][:-1]
            if any(_URL.match(source) for source in sources):
                problems.append(Problem(
                    instruction.line, "add-url",
                    "ADD of a URL: downloaded at every build with no checksum and no cache by content; "
                    "prefer RUN curl/wget with a checksum, or COPY a file from the context"))
    problems.sort(key=lambda problem: problem.line)
    return instructions, problems
