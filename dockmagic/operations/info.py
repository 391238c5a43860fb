"""Which engine the kernel talks to, or why none answers: ``%docker_info``."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import CONNECT_TIMEOUT_SECONDS, connect
from ..errors import EngineUnavailable
from ..views import engine_view
from ..views.display import TextAndHtml


@dataclass
class EngineInfo(TextAndHtml):
    """``available`` and, when it is, the engine's name, version, API version, address and the Docker
    context that chose it; when it is not, ``problem`` says what was tried and how to connect one."""

    available: bool
    name: str = ""
    version: str = ""
    api_version: str = ""
    address: str = ""
    os: str = ""
    problem: str = ""
    context: str = "default"  # the Docker context that chose the engine ("default": none did)

    def _text(self) -> str:
        return engine_view.engine_info_text(self)

    def _html(self) -> str:
        return engine_view.engine_info_html(self)


def engine_info(docker_host: str | None = None, timeout: float = CONNECT_TIMEOUT_SECONDS) -> EngineInfo:
    """Ask the engine what it is; never raises for a missing engine (that is an answer too)."""
    try:
        engine = connect(docker_host, timeout=timeout)
    except EngineUnavailable as error:
        return EngineInfo(available=False, problem=str(error))
    details = engine.components[0].get("Details", {}) if engine.components else {}
    system = " / ".join(part for part in (details.get("Os"), details.get("Arch")) if part)
    return EngineInfo(True, engine.name, engine.version, engine.api_version, engine.address, system,
                      context=engine.context)
