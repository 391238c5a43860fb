"""The text and HTML forms of :class:`dockmagic.operations.info.EngineInfo` (``%docker_info``)."""

from __future__ import annotations

from .display import escape


def engine_info_text(info) -> str:
    """One line: the engine, its version, API version, address and system; or why there is none."""
    if not info.available:
        return f"No engine: {info.problem}"
    return (f"{info.name} {info.version} (API {info.api_version}) at {info.address}"
            + (f", {info.os}" if info.os else "") + f" (Docker context {info.context})")


def engine_info_html(info) -> str:
    if not info.available:
        return (f'<div style="border-left:4px solid #a16207;padding:4px 8px;background:#fffbeb">'
                f"<b>No container engine is reachable.</b> {escape(info.problem)}</div>")
    return (f"<div><b>{escape(info.name)} {escape(info.version)}</b> (API {escape(info.api_version)}) "
            f"at <code>{escape(info.address)}</code>{', ' + escape(info.os) if info.os else ''} "
            f"(Docker context <code>{escape(info.context)}</code>)</div>")


def _context_rows(table) -> list[tuple[str, str, str, str]]:
    rows = []
    for context in table.contexts:
        marks = ("*" if context.name == table.current else "") + (" <- this kernel" if context.name == table.in_use
                                                               else "")
        rows.append((context.name, context.host, context.description, marks.strip()))
    return rows


def _in_use_sentence(table) -> str:
    if not table.in_use:
        return f"This kernel cannot connect: {table.chosen_by}"
    if table.in_use == "default" and table.chosen_by.startswith("the default sockets"):
        return (f"This kernel uses the default context: the first of {table.address} that answers "
                "(neither DOCKER_HOST nor a context is set).")
    if table.in_use == "default":
        return f"This kernel uses {table.address}, chosen by {table.chosen_by} (the default context)."
    return f"This kernel uses context {table.in_use} ({table.address}), chosen by {table.chosen_by}."


def context_table_text(table) -> str:
    """The contexts as ``docker context ls`` lists them (``*``: the docker CLI's current one), then which one
    this kernel uses and why."""
    header = ("NAME", "DOCKER ENDPOINT", "DESCRIPTION", "")
    rows = [header] + _context_rows(table)
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
             for row in rows]
    lines = [line.rstrip() for line in lines]
    lines.append("* the docker CLI's current context")
    lines.append(_in_use_sentence(table))
    if table.note:
        lines.append(table.note)
    return "\n".join(lines)


def context_table_html(table) -> str:
    cells = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td><code>{escape(host)}</code></td>"
        f"<td>{escape(description)}</td><td>{escape(marks)}</td></tr>"
        for name, host, description, marks in _context_rows(table))
    note = f"<div><b>{escape(table.note)}</b></div>" if table.note else ""
    return (f"<table><tr><th>name</th><th>Docker endpoint</th><th>description</th><th></th></tr>{cells}</table>"
            f"<div>* the docker CLI's current context. {escape(_in_use_sentence(table))}</div>{note}")
