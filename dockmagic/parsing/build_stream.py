"""The build stream, as Docker's legacy builder and Podman (buildah) send it, turned into typed events.

Pure functions over the stream's decoded JSON objects: no I/O, no state. ``parse_build_event`` never
raises; anything it does not recognise comes back as :class:`Unrecognized`, so a new daemon's extra
messages never break a build view.

Docker's dialect::

    {"stream": "Step 2/3 : RUN echo hi"}     {"stream": " ---> Using cache\\n"}
    {"stream": " ---> Running in 4f5b12\\n"}  {"stream": "Removing intermediate container 4f5b12\\n"}
    {"stream": " ---> 29886ca05035\\n"}       {"stream": "\\u001b[91m<stderr>\\u001b[0m"}
    {"aux": {"ID": "sha256:..."}}            {"errorDetail": {"code": 3, "message": ...}, "error": ...}

Podman's::

    {"stream": "STEP 2/3: RUN echo hi\\n"}    {"stream": "--> Using cache 5d8823...\\n"}
    {"stream": "--> 29886ca0503\\n"}          {"stream": "COMMIT name\\n"}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class StepStarted:
    """A step begins. ``stage`` is Podman's ``[2/3]`` prefix of a multi-stage build (its steps are
    numbered per stage); Docker numbers steps across the whole build and gives no stage."""

    number: int
    total: int
    instruction: str
    stage: str = ""


@dataclass(frozen=True)
class StepUsedCache:
    layer_id: str | None = None


@dataclass(frozen=True)
class StepContainer:
    """The intermediate container a step runs in (Docker's "Running in")."""

    container_id: str


@dataclass(frozen=True)
class ContainerRemoved:
    container_id: str


@dataclass(frozen=True)
class StepLayer:
    """The image a step produced (for a FROM step, the base image)."""

    layer_id: str


@dataclass(frozen=True)
class Output:
    """Text a step printed; ``stderr`` when the engine marked it so."""

    text: str
    stderr: bool = False


@dataclass(frozen=True)
class BuildWarning:
    text: str


@dataclass(frozen=True)
class Progress:
    """Pull or transfer progress (status messages)."""

    text: str


@dataclass(frozen=True)
class ImageBuilt:
    """The id of the image a build (or a stage) produced: the last one is the build's result."""

    image_id: str


@dataclass(frozen=True)
class BuildSucceeded:
    """The engine's "Successfully built <id>" line."""

    short_id: str


@dataclass(frozen=True)
class Tagged:
    tag: str


@dataclass(frozen=True)
class Committed:
    """Podman's "COMMIT name": the step's container is being committed."""

    name: str


@dataclass(frozen=True)
class BuildFailed:
    message: str
    exit_code: int | None = None


@dataclass(frozen=True)
class Unrecognized:
    """A message this parser does not know; kept so nothing is silently lost."""

    message: object


BuildEvent = (
    StepStarted | StepUsedCache | StepContainer | ContainerRemoved | StepLayer | Output | BuildWarning
    | Progress | ImageBuilt | BuildSucceeded | Tagged | Committed | BuildFailed | Unrecognized
)

_HEX = r"[0-9a-f]{11,64}"  # Podman prints 11-character layer ids
_CONTROL_LINES = (
    # Step numbers of at most 9 digits: a longer one is output (and int() refuses over 4300 digits).
    (re.compile(r"Step (\d{1,9})/(\d{1,9}) : (.*)", re.DOTALL),
     lambda m: StepStarted(int(m[1]), int(m[2]), m[3].strip())),
    (re.compile(r"(?:\[(\d+/\d+)\] )?STEP (\d{1,9})(?:/(\d{1,9}))?: (.*)", re.DOTALL),
     lambda m: StepStarted(int(m[2]), int(m[3] or 0), m[4].strip(), m[1] or "")),
    (re.compile(r" ---> Using cache"), lambda m: StepUsedCache()),
    (re.compile(rf"--> Using cache ({_HEX})"), lambda m: StepUsedCache(m[1][:12])),
    (re.compile(rf" ---> Running in ({_HEX})"), lambda m: StepContainer(m[1])),
    (re.compile(rf"Removing intermediate container ({_HEX})"), lambda m: ContainerRemoved(m[1])),
    (re.compile(rf" ?-?--> ({_HEX})"), lambda m: StepLayer(m[1][:12])),
    (re.compile(r" ---> \[Warning\] (.*)", re.DOTALL), lambda m: BuildWarning(m[1].strip())),
    (re.compile(rf"Successfully built ({_HEX})"), lambda m: BuildSucceeded(m[1])),
    (re.compile(r"Successfully tagged (.+)"), lambda m: Tagged(m[1].strip())),
    (re.compile(r"(?:\[\d+/\d+\] )?COMMIT ?(.*)"), lambda m: Committed(m[1].strip())),
    (re.compile(r"[0-9a-f]{64}"), lambda m: ImageBuilt("sha256:" + m[0])),
)

_STDERR = re.compile(r"\x1b\[91m(.*?)(?:\x1b\[0m)?\Z", re.DOTALL)
_EXIT_CODE = re.compile(r"(?:non-zero code|exit status|exit code):? (\d{1,9})(?!\d)")
# JSON may carry lone surrogates ("\\ud800"): no frontend can be sent them, so they become U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid(text: str) -> str:
    return _SURROGATE.sub("\N{REPLACEMENT CHARACTER}", text) if _SURROGATE.search(text) else text


def parse_build_event(message: object) -> list[BuildEvent]:
    """The typed events one decoded stream message carries (often one, sometimes none)."""
    if not isinstance(message, dict):
        return [Unrecognized(message)]
    events: list[BuildEvent] = []
    if "error" in message or "errorDetail" in message:
        events.append(_failure(message))
        return events
    stream = message.get("stream")
    if isinstance(stream, str):
        events.extend(parse_stream_text(stream))
    aux = message.get("aux")
    if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
        events.append(ImageBuilt(_valid(aux["ID"])))
    status = message.get("status")
    if isinstance(status, str):
        detail = message.get("progress") or ""
        ident = message.get("id")
        text = f"{ident}: {status}" if ident else status
        events.append(Progress(_valid(f"{text} {detail}".rstrip() if isinstance(detail, str) else text)))
    if not events and stream is None and aux is None and status is None:
        events.append(Unrecognized(message))
    return events


def build_events(messages: Iterable[object]) -> Iterator[BuildEvent]:
    """The events of a whole stream, in order. Docker sends a step's header and its newline as two
    messages; that lone newline is dropped here so that no view shows it as output."""
    after_header = False
    for message in messages:
        for event in parse_build_event(message):
            if after_header and isinstance(event, Output) and event.text == "\n":
                after_header = False
                continue
            after_header = isinstance(event, StepStarted)
            yield event


def parse_stream_text(text: str) -> list[BuildEvent]:
    """Classify one ``stream`` text: a control line of either dialect, or a step's output."""
    if not text:
        return []
    text = _valid(text)
    if text.startswith("\x1b[91m"):
        match = _STDERR.match(text)
        return [Output(match[1] if match else text, stderr=True)]
    line = text.rstrip("\r\n")
    # Control lines come one a message; a message holding several lines is a step's output.
    if "\n" not in line and line:
        for pattern, make in _CONTROL_LINES:
            match = pattern.fullmatch(line)
            if match:
                return [make(match)]
    return [Output(text)]


def _failure(message: dict) -> BuildFailed:
    detail = message.get("errorDetail")
    detail = detail if isinstance(detail, dict) else {}
    # Stripped before falling back: an error of only white space says nothing, so the next source speaks.
    texts = (message.get("error"), detail.get("message"))
    text = next((str(t).strip() for t in texts if t is not None and str(t).strip()), "the build failed")
    text = _valid(text)
    code = detail.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or not -2**31 <= code < 2**32:
        found = _EXIT_CODE.search(text)
        code = int(found[1]) if found else None
    return BuildFailed(text, code)
