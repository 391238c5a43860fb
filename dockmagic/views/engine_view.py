"""The text and HTML forms of :class:`dockmagic.operations.info.EngineInfo` (``%docker_info``)."""

from __future__ import annotations

from .display import escape


def engine_info_text(info) -> str:
    """One line: the engine, its version, API version, address and system; or why there is none."""
    if not info.available:
        return f"No engine: {info.problem}"
    return (f"{info.name} {info.version} (API {info.api_version}) at {info.address}"
            + (f", {info.os}" if info.os else ""))


def engine_info_html(info) -> str:
    if not info.available:
        return (f'<div style="border-left:4px solid #a16207;padding:4px 8px;background:#fffbeb">'
                f"<b>No container engine is reachable.</b> {escape(info.problem)}</div>")
    return (f"<div><b>{escape(info.name)} {escape(info.version)}</b> (API {escape(info.api_version)}) "
            f"at <code>{escape(info.address)}</code>{', ' + escape(info.os) if info.os else ''}</div>")
