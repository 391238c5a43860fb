"""The Docker contexts this kernel can use, and switching among them: ``%docker_context``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..contexts import DEFAULT_CONTEXT, DockerContext, current_context_name, find_context, list_contexts
from ..engine import choose
from ..errors import EngineUnavailable
from ..views import engine_view
from ..views.display import TextAndHtml


@dataclass
class ContextTable(TextAndHtml):
    """Every context (``contexts``), the one the docker CLI's rules name (``current``, marked ``*`` as
    ``docker context ls`` does), and what this kernel connects to and why (``in_use``, ``chosen_by``:
    a context's name, or ``default`` when DOCKER_HOST or ``%config DockMagic.docker_host`` choose)."""

    contexts: list[DockerContext] = field(default_factory=list)
    current: str = DEFAULT_CONTEXT
    in_use: str = DEFAULT_CONTEXT
    address: str = ""
    chosen_by: str = ""
    note: str = ""

    def _text(self) -> str:
        return engine_view.context_table_text(self)

    def _html(self) -> str:
        return engine_view.context_table_html(self)


def context_table(docker_host: str | None = None) -> ContextTable:
    """The contexts and which one this kernel uses (``docker_host``: ``%config DockMagic.docker_host``).

    Raises:
        UnknownContext: the docker CLI's context store cannot be read.
    """
    current, _ = current_context_name()
    try:
        choice = choose(docker_host)
        in_use, address = choice.context, " or ".join(choice.hosts)
        chosen_by = choice.named_by or choice.source
    except EngineUnavailable as error:  # DOCKER_CONTEXT or currentContext names no context
        in_use, address, chosen_by = "", "", str(error)
    return ContextTable(list_contexts(), current, in_use, address, chosen_by)


def use_context(name: str, docker_host: str | None = None) -> ContextTable:
    """Make this kernel use context ``name``: DOCKER_CONTEXT=name in this process, as ``export
    DOCKER_CONTEXT=name`` would in a shell (the docker CLI's config.json is not changed). Returns the
    table after the switch; its ``note`` says when DOCKER_HOST or the setting still come first.

    Raises:
        UnknownContext: no such context (the message lists the known ones).
    """
    find_context(name)
    os.environ["DOCKER_CONTEXT"] = name
    table = context_table(docker_host)
    if table.in_use != name:
        first, clear = (("%config DockMagic.docker_host", "%config DockMagic.docker_host = ''") if docker_host
                        else ("DOCKER_HOST", "%env DOCKER_HOST="))
        table.note = (f"DOCKER_CONTEXT is now {name}, but {first} is set and comes first (as for the docker "
                      f"CLI): this kernel still uses {table.address}. Clear it ({clear}) to use the context.")
    return table
