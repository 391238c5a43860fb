"""The text and HTML forms of containers and runs (:mod:`dockmagic.operations.results`)."""

from __future__ import annotations

import shlex

from .display import escape


def state_text(info) -> str:
    """"running", or "exited (3)" with the exit code of a container that exited."""
    return f"{info.state} ({info.exit_code})" if info.exit_code is not None else info.state


def container_text(info) -> str:
    """One line: name, short id, image, state."""
    return f"{info.name}  {info.short_id}  {info.image}  {state_text(info)}"


def container_html(info) -> str:
    return (
        '<div class="dockmagic-container"><b>container</b> '
        f"<code>{escape(info.name)}</code> <code>{escape(info.short_id)}</code> from "
        f"<code>{escape(info.image)}</code>: {escape(state_text(info))}</div>"
    )


def run_text(result) -> str:
    """What ran, its exit code, and whether its container was kept."""
    kept = "removed" if result.removed else "kept"
    note = f" (last {len(result.output)} characters kept)" if result.truncated else ""
    return (
        f"{shlex.join(result.command or ()) or '(image default command)'} in {result.image} exited with code "
        f"{result.exit_code}; container {result.container_id[:12]} {kept}{note}"
    )
