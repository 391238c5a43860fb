"""The text and HTML forms of containers and runs (:mod:`dockmagic.operations.results`)."""

from __future__ import annotations

import shlex

from .display import KIND_COLOURS, escape


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


def cell_status_text(record) -> str:
    """The line a ``%%docker_shell`` cell ends with: "exit status 127", as a shell reports ``$?``, and
    why when the cell did not simply finish."""
    status = "unknown" if record.exit_code is None else record.exit_code
    why = (" (interrupted)" if record.interrupted
           else " (the shell exited: the next cell starts a new one)" if record.shell_exited else "")
    return f"exit status {status}{why}"


def cell_status_html(record) -> str:
    colour = "#6b7280" if record.ok else KIND_COLOURS["D"]
    weight = "normal" if record.ok else "600"
    return (f'<div class="dockmagic-status" style="font-family:monospace;font-size:12px;color:{colour};'
            f'font-weight:{weight}">{escape(cell_status_text(record))}</div>')
