"""Which engine the kernel talks to, or why none answers: ``%docker_info``."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import CONNECT_TIMEOUT_SECONDS, connect
from ..errors import EngineUnavailable
from ..views.display import TextAndHtml, escape


@dataclass
class EngineInfo(TextAndHtml):
    """``available`` and, when it is, the engine's name, version, API version and address; when it is
    not, ``problem`` says what was tried and how to connect one."""

    available: bool
    name: str = ""
    version: str = ""
    api_version: str = ""
    address: str = ""
    os: str = ""
    problem: str = ""

    def _text(self) -> str:
        if not self.available:
            return f"No engine: {self.problem}"
        return (f"{self.name} {self.version} (API {self.api_version}) at {self.address}"
                + (f", {self.os}" if self.os else ""))

    def _html(self) -> str:
        if not self.available:
            return (f'<div style="border-left:4px solid #a16207;padding:4px 8px;background:#fffbeb">'
                    f"<b>No container engine is reachable.</b> {escape(self.problem)}</div>")
        return (f"<div><b>{escape(self.name)} {escape(self.version)}</b> (API {escape(self.api_version)}) "
                f"at <code>{escape(self.address)}</code>{', ' + escape(self.os) if self.os else ''}</div>")


def engine_info(docker_host: str | None = None, timeout: float = CONNECT_TIMEOUT_SECONDS) -> EngineInfo:
    """Ask the engine what it is; never raises for a missing engine (that is an answer too)."""
    try:
        engine = connect(docker_host, timeout=timeout)
    except EngineUnavailable as error:
        return EngineInfo(available=False, problem=str(error))
    details = engine.components[0].get("Details", {}) if engine.components else {}
    system = " / ".join(part for part in (details.get("Os"), details.get("Arch")) if part)
    return EngineInfo(True, engine.name, engine.version, engine.api_version, engine.address, system)
