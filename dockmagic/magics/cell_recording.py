"""Record what each magic showed, and replay it where no engine is reachable (``%docker_recordings``).

``%docker_recordings FOLDER`` turns it on for a notebook. With an engine, every dockmagic magic runs for
real and what it showed (printed text, displayed views' text and HTML, its result's text and HTML; for
``%%dockerfile`` the engine's raw build stream, for ``%docker_diff`` the change list) is written to FOLDER,
one file per cell. With no engine, each magic finds its cell's recording and shows it, after a notice
that says it is a replay and when it was recorded. Nothing is ever shown as live that is not.

A cell's recording is keyed by the magic, its line and its cell text, and by how many times that same
cell ran before in the session, so a notebook that builds the same Dockerfile twice replays both.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter

from IPython.display import publish_display_data

from ..operations.replay import diff_from_recording, diff_summary
from ..views.display import TextAndHtml, escape

RECORDING_FORMAT = 1
# Kept out of recordings: live widgets cannot be replayed from their bundle (their views are).
_SKIPPED_MIMETYPES = ("application/vnd.jupyter.widget-view+json",)
_MAX_CAPTURED_CHARS = 200_000


class CellRecordings:
    """The recordings of one notebook: a folder of JSON files, one per magic call."""

    def __init__(self, folder: str):
        self.folder = folder
        self.seen: Counter = Counter()

    def key(self, magic: str, line: str, cell: str | None) -> str:
        digest = hashlib.sha1(f"{magic}\0{line}\0{cell or ''}".encode()).hexdigest()[:12]
        self.seen[digest] += 1
        slug = re.sub(r"[^a-z0-9]+", "-", magic.lower()).strip("-")
        return f"{slug}-{digest}-{self.seen[digest]}"

    def path(self, key: str, suffix: str = ".json") -> str:
        return os.path.join(self.folder, key + suffix)

    def save(self, key: str, record: dict) -> None:
        os.makedirs(self.folder, exist_ok=True)
        with open(self.path(key), "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1, sort_keys=True)
            handle.write("\n")

    def load(self, key: str) -> dict | None:
        try:
            with open(self.path(key), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            return None
        return record if record.get("format") == RECORDING_FORMAT else None


class _Tee:
    """Writes to the real stream and keeps a bounded copy."""

    def __init__(self, stream, name: str, outputs: list):
        self.stream = stream
        self.name = name
        self.outputs = outputs
        self.size = 0

    def write(self, text):
        written = self.stream.write(text)
        if self.size < _MAX_CAPTURED_CHARS and text:
            piece = text[: _MAX_CAPTURED_CHARS - self.size]
            self.size += len(piece)
            if self.outputs and self.outputs[-1].get("stream") == self.name:
                self.outputs[-1]["text"] += piece
            else:
                self.outputs.append({"stream": self.name, "text": piece})
        return written

    def flush(self):
        return self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextlib.contextmanager
def captured_outputs(shell):
    """Everything shown while the block runs: printed text and displayed bundles (text and HTML)."""
    outputs: list[dict] = []
    publisher = shell.display_pub
    original_publish = publisher.publish

    def publish(data, metadata=None, *args, **kwargs):
        kept = {k: v for k, v in (data or {}).items() if k in ("text/plain", "text/html")}
        if kept:
            outputs.append({"display": kept})
        return original_publish(data, metadata, *args, **kwargs)

    publisher.publish = publish
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(stdout, "stdout", outputs), _Tee(stderr, "stderr", outputs)
    try:
        yield outputs
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        publisher.publish = original_publish


class RecordedResult(TextAndHtml):
    """A magic's result, replayed from a recording: what it showed, not a live object."""

    def __init__(self, bundle: dict, magic: str, recorded_at: str):
        self.bundle = bundle
        self.magic = magic
        self.recorded_at = recorded_at

    def _text(self) -> str:
        return self.bundle.get("text/plain", "")

    def _html(self) -> str:
        return self.bundle.get("text/html") or f"<pre>{escape(self._text())}</pre>"

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"This is a replay of %{self.magic} recorded {self.recorded_at}: it shows what the magic showed, "
            f"but has no .{name}. Connect an engine to get the live result.")


class ReplayNotice(TextAndHtml):
    def __init__(self, magic: str, record: dict, problem: str):
        self.magic = magic
        self.record = record
        self.problem = problem

    def _text(self) -> str:
        return (f"[replay] No container engine is reachable here, so this shows what %{self.magic} did "
                f"when it ran for real on {self.record.get('recorded_at', '?')} "
                f"({self.record.get('engine', 'an engine')}).")

    def _html(self) -> str:
        return ('<div class="dockmagic-replay" style="border-left:4px solid #a16207;background:#fffbeb;'
                'padding:3px 8px;margin:2px 0;font-size:90%">'
                f"<b>Replay</b> — no container engine is reachable here, so this shows what "
                f"<code>%{escape(self.magic)}</code> did when it ran for real on "
                f"{escape(self.record.get('recorded_at', '?'))} ({escape(self.record.get('engine', 'an engine'))})."
                "</div>")


def now_text() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def result_bundle(shell, result) -> dict | None:
    if result is None:
        return None
    if hasattr(result, "_repr_mimebundle_"):
        data = result._repr_mimebundle_()
        if isinstance(data, tuple):
            data = data[0]
    else:
        data = {"text/plain": repr(result)}
    return {k: v for k, v in (data or {}).items() if k in ("text/plain", "text/html")}


def replay_outputs(outputs: list[dict]) -> None:
    for output in outputs:
        if "stream" in output:
            stream = sys.stderr if output["stream"] == "stderr" else sys.stdout
            stream.write(output["text"])
            stream.flush()
        elif "display" in output:
            publish_display_data(output["display"])


ENGINE_FREE_MAGICS = {"docker_replay", "docker_info", "docker_recordings"}


def recording_wrapper(shell, settings, name: str, function):
    """``function`` (a bound magic) made to record with an engine and replay without one, when
    ``%docker_recordings`` is on; otherwise it is called as it is."""
    import functools

    from ..errors import EngineUnavailable

    @functools.wraps(function)
    def magic(*args):
        recordings: CellRecordings | None = settings.recordings_store
        line = args[0] if args else ""
        cell = args[1] if len(args) > 1 else None
        if recordings is None or name in ENGINE_FREE_MAGICS or (name == "dockerfile" and "--check" in line.split()):
            return function(*args)
        key = recordings.key(name, line, cell)
        try:
            engine = settings.connect()
        except EngineUnavailable as problem:
            record = recordings.load(key)
            if record is None:
                raise EngineUnavailable(
                    f"{problem} There is no recording of this cell in {recordings.folder!r} either: run the "
                    "notebook once where an engine is reachable to make one.") from None
            return _replay(shell, settings, function, name, record, recordings, key, str(problem))
        settings.current_recording = (recordings, key)
        record = {"format": RECORDING_FORMAT, "magic": name, "line": line, "cell": cell,
                  "recorded_at": now_text(), "engine": engine.describe()}
        try:
            with captured_outputs(shell) as outputs:
                try:
                    result = function(*args)
                except BaseException as error:
                    record["error"] = {"type": type(error).__name__, "message": str(error)}
                    raise
                finally:
                    record["outputs"] = outputs
            record["result"] = result_bundle(shell, result)
            # A container's change list replays in the live tree; an image diff (two images, --base) replays
            # from its recorded text and HTML, as other results do.
            if name == "docker_diff" and hasattr(result, "container_id"):
                record["diff"] = {**diff_summary(result),
                                  "changes": [[c.kind, c.path, c.size] for c in result.changes]}
            return result
        finally:
            settings.current_recording = None
            if "error" not in record or record["error"]["type"] not in ("KeyboardInterrupt", "BuildCancelled"):
                recordings.save(key, record)

    magic.__wrapped_for_recording__ = function
    return magic


def _replay(shell, settings, function, name, record, recordings, key, problem):
    from IPython.display import display

    from ..errors import DockmagicError

    display(ReplayNotice(name, record, problem))
    if name == "dockerfile":
        settings.replaying = (recordings, key, record)
        try:
            return function(record["line"], record["cell"])
        finally:
            settings.replaying = None
    if name == "docker_diff" and record.get("diff"):
        diff = diff_from_recording(record["diff"], record["diff"]["changes"], record.get("recorded_at", "?"))
        return function.__self__.show(diff)
    replay_outputs(record.get("outputs") or [])
    if record.get("error"):
        raise DockmagicError(f"(replayed) {record['error']['message']}")
    bundle = record.get("result")
    return RecordedResult(bundle, name, record.get("recorded_at", "?")) if bundle else None
