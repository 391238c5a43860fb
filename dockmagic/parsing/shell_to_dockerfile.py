"""Shell cells as Dockerfile lines: pure functions over the text of the cells and the shell states
recorded around them (no engine). Each RUN is a new shell, so a cell becomes one ``RUN`` joined over
lines, and what a cell changed in the shell itself (directory, exported variables) becomes ``WORKDIR``
and ``ENV``."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace


def shell_quote(text: str) -> str:
    """``text`` as one single-quoted shell word (always quoted, ``'`` written as ``'\\''``)."""
    return "'" + text.replace("'", "'\\''") + "'"


# Variables the engine sets per container; they are not the session's doing.
ENGINE_VARIABLES = {"HOSTNAME", "HOME"}

STATE_COMMANDS = {"cd", "export", "unset", "pushd", "popd"}


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
        quoted = " \\\n    ".join(shell_quote(line) for line in script.splitlines())
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


# A first line that leaves a %%docker_shell cell out of the session's Dockerfile (a one-off check).
SKIP_MARK = re.compile(r"\s*#\s*dockmagic:\s*skip\s*$", re.IGNORECASE)


def has_skip_mark(script: str) -> bool:
    """True when the cell's first non-blank line is ``# dockmagic: skip``."""
    for line in script.splitlines():
        if line.strip():
            return bool(SKIP_MARK.match(line))
    return False


def cell_comment(number: int, execution_count: int | None) -> str:
    """The comment above a cell's RUN: its number in the session (what ``--skip`` takes) and, where
    IPython counted it, the notebook's ``In [n]``."""
    where = f" (In [{execution_count}])" if execution_count is not None else ""
    return f"# from cell {number}{where}"


def left_out(session, skip=frozenset()) -> dict[int, str]:
    """The session's cells that make no RUN, by number (1 = the first cell run), with why: "failed",
    "interrupted", "skip mark" (``# dockmagic: skip``) or "--skip"."""
    reasons = {}
    for number, cell in enumerate(getattr(session, "cells", None) or [], start=1):
        if getattr(cell, "interrupted", False):
            reasons[number] = "interrupted"
        elif not cell.ok:
            reasons[number] = "failed"
        elif number in skip:
            reasons[number] = "--skip"
        elif has_skip_mark(cell.script):
            reasons[number] = "skip mark"
    return reasons


def dockerfile_lines(image: str, session, *, image_config: dict, container_config: dict,
                     cmd=None, entrypoint=None, skip=frozenset()) -> list[str]:
    """The Dockerfile's lines for a session (a record with ``shell``, ``initial_state`` and ``cells``, each
    cell with ``script``, ``ok``, ``before`` and ``after`` states of ``cwd``, ``env`` and ``functions``,
    and optionally ``execution_count``; ``None``: no cell was run). The cells numbered in ``skip``
    (1 = the first) and those marked ``# dockmagic: skip`` make no RUN; what they changed in the shell's
    directory and exported variables is kept, as the shell kept it."""
    lines = [f"FROM {image}"]
    image_env = env_dict(image_config.get("Env"))
    container_env = env_dict(container_config.get("Env"))
    extra_env = {k: v for k, v in container_env.items() if image_env.get(k) != v}
    if session is not None and session.shell == "bash":
        lines.append('SHELL ["/bin/bash", "-c"]')
    lines.extend(_env_lines({}, extra_env))
    image_workdir = image_config.get("WorkingDir") or "/"
    container_workdir = container_config.get("WorkingDir") or "/"
    if container_workdir != image_workdir:
        lines.append(f"WORKDIR {container_workdir}")

    if session is not None and session.initial_state is not None:
        current = SimpleNamespace(cwd=session.initial_state.cwd, env=dict(session.initial_state.env))
        reasons = left_out(session, skip)
        for number, cell in enumerate(session.cells, start=1):
            if number in reasons:
                continue
            lines.extend(_sync(current, cell.before))
            if not is_state_only(cell.script):
                script = cell.script.strip("\n")
                definitions = _functions_used(script, cell.before.functions)
                if definitions:
                    script = "\n".join([_compact_function(d) for d in definitions] + [script])
                instruction = run_instruction(script)
                if instruction:
                    lines.append(cell_comment(number, getattr(cell, "execution_count", None)))
                    lines.append(instruction)
            lines.extend(_sync(current, cell.after))

    if entrypoint is not None:
        lines.append(f"ENTRYPOINT {_exec_form(entrypoint)}")
    if cmd is not None:
        lines.append(f"CMD {_exec_form(cmd)}")
    return lines


def _sync(current, target) -> list[str]:
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


def env_dict(pairs) -> dict[str, str]:
    """``["K=V", ...]`` (an image's or a container's Env) as a dict."""
    result = {}
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        result[key] = value
    return result
