"""What container and image operations return: plain data. Their text and HTML forms live in
:mod:`dockmagic.views.container_view`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..parsing.image_names import familiar_image_name
from ..views import container_view
from ..views.display import TextAndHtml


@dataclass
class ContainerInfo(TextAndHtml):
    """A container as a user sees it: ``name``, ``id`` (full), ``image``, ``state``, and ``attrs`` (the
    engine's inspect). Its text form is one line: name, short id, image, state."""

    name: str
    id: str
    image: str
    state: str
    exit_code: int | None = None
    attrs: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_inspect(cls, attrs: dict) -> ContainerInfo:
        state = attrs.get("State", {})
        exit_code = state.get("ExitCode") if state.get("Status") == "exited" else None
        return cls(
            name=attrs.get("Name", "").lstrip("/"),
            id=attrs.get("Id", ""),
            image=familiar_image_name(attrs.get("Config", {}).get("Image", "")),
            state=state.get("Status", "?"),
            exit_code=exit_code,
            attrs=attrs,
        )

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def _text(self) -> str:
        return container_view.container_text(self)

    def _html(self) -> str:
        return container_view.container_html(self)


@dataclass
class RunResult(TextAndHtml):
    """A finished ``run``: ``exit_code``, ``output`` (the last bytes of stdout and stderr as they came,
    decoded), ``container_id``, ``image``, ``command`` and ``removed``."""

    exit_code: int
    output: str
    container_id: str
    image: str
    command: list
    removed: bool
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def _text(self) -> str:
        return container_view.run_text(self)


@dataclass
class Removed(TextAndHtml):
    """What a removal removed, one line each as the docker CLI prints them."""

    lines: list[str]

    def _text(self) -> str:
        return "\n".join(self.lines)
