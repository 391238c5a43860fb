"""Property-based tests of the build-stream parser and of the build model it feeds.

Any sequence of messages, well-formed in Docker's or Podman's dialect or malformed in any way, must parse
without an exception and leave a :class:`BuildProgress` that is consistent at every step: valid states,
at most one running step (the last), one step per StepStarted, no running step once finished, line counts
equal to the newlines of the step's log file, bounded tails of displayable lines, and views whose state
can be sent to a browser (JSON, UTF-8)."""

from __future__ import annotations

import json
import pathlib
import re
import tempfile

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from dockmagic.engine import json_messages as _messages
from dockmagic.models.build import (
    BUILDING,
    CACHED,
    CANCELLED,
    DONE,
    FAILED,
    KEPT_LINE_CHARS,
    MAX_LINE_CHARS,
    RUNNING,
    BuildProgress,
    LineAccumulator,
    displayable,
)
from dockmagic.parsing import build_stream
from dockmagic.parsing.build_stream import BuildFailed, StepStarted, build_events, parse_build_event
from dockmagic.views.build_text import build_html, build_summary_text
from dockmagic.views.build_widget import LiveBuildView, header_state, steps_state

EVENT_TYPES = tuple(t for t in build_stream.BuildEvent.__args__)
BUILD_STATES = {BUILDING, DONE, FAILED, CANCELLED}
STEP_STATES = {RUNNING, CACHED, DONE, FAILED, CANCELLED}
CUT_SUFFIX = re.compile(r" … \(\d+ more characters in the log file\)\Z")
LONGEST_SHOWN = MAX_LINE_CHARS + len(" … (99999999999 more characters in the log file)")
SURROGATES = re.compile("[\ud800-\udfff]")

# -- strategies ------------------------------------------------------------------------------------

# What build output holds: text, newlines, carriage returns, colour and cursor sequences, NULs, bells,
# invalid UTF-8 already replaced (U+FFFD), lone surrogates from JSON escapes, wide characters.
PIECES = st.sampled_from([
    "\n", "\r", "\r\n", "\x1b[31m", "\x1b[0m", "\x1b[2K", "\x1b[1A", "\x1b]0;title\x07", "\x1b", "\x00",
    "\x07", "\x08", "\t", "\ufffd", "\ud800", "\udfff", "é", "界", "😀", "<b>", "&amp;", " ", "%", "=",
])
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=12).map("".join)
LONG_TEXT = st.builds(lambda char, count, end: char * count + end,
                      st.sampled_from("x\r\x1b"), st.integers(KEPT_LINE_CHARS - 2, 3 * KEPT_LINE_CHARS),
                      st.sampled_from(["", "\n", "\r", "tail\n"]))
HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
# Step numbers and exit codes as the stream writes them: small, large, and longer than int() takes.
NUMBER = st.one_of(st.integers(0, 30), st.integers(0, 10**12)).map(str) | st.just("9" * 5000)
INSTRUCTION = st.one_of(st.sampled_from(["FROM busybox", "RUN echo hi", 'CMD ["true"]', "COPY . /x"]), TEXT)


def _docker(n, t, text, hexid, tag):
    return [
        {"stream": f"Step {n}/{t} : {text}"}, {"stream": "\n"}, {"stream": " ---> Using cache\n"},
        {"stream": f" ---> Running in {hexid[:12]}\n"}, {"stream": f"Removing intermediate container {hexid[:12]}\n"},
        {"stream": f" ---> {hexid[:12]}\n"}, {"stream": f"\x1b[91m{text}\x1b[0m"}, {"stream": text},
        {"aux": {"ID": f"sha256:{hexid}"}}, {"stream": f"Successfully built {hexid[:12]}\n"},
        {"stream": f"Successfully tagged {tag}:latest\n"}, {"stream": f" ---> [Warning] {text}\n"},
        {"errorDetail": {"code": int(n) if len(n) < 20 else 10**5000, "message": text}, "error": text},
        {"error": f"The command '/bin/sh -c x' returned a non-zero code: {n}"},
        {"status": text, "id": hexid[:12], "progress": text}, {"status": "Downloading", "progressDetail": {}},
    ]


def _podman(n, t, text, hexid, tag):
    return [
        {"stream": f"STEP {n}/{t}: {text}\n"}, {"stream": f"[1/2] STEP {n}/{t}: {text}\n"},
        {"stream": f"--> Using cache {hexid}\n"}, {"stream": f"--> {hexid[:11]}\n"},
        {"stream": f"COMMIT {tag}\n"}, {"stream": f"{hexid}\n"}, {"stream": text},
        {"error": f'building at STEP "RUN x": while running runtime: exit status {n}\n'},
    ]


@st.composite
def well_formed(draw, dialect):
    make = _docker if dialect == "docker" else _podman
    options = make(draw(NUMBER), draw(NUMBER), draw(st.one_of(TEXT, INSTRUCTION)), draw(HEX),
                   draw(st.sampled_from(["dm", "a/b", "x" * 200, "<script>"])))
    return draw(st.sampled_from(options))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(["stream", "aux", "status", "error", "errorDetail", "progress", "progressDetail", "id",
                        "ID", "code", "message"])
MALFORMED = st.one_of(
    JSON_VALUES,
    st.dictionaries(KEYS, JSON_VALUES, max_size=4),
    st.builds(lambda key, value: {key: value}, KEYS, st.dictionaries(KEYS, JSON_VALUES, max_size=3)),
    st.builds(lambda text: {"stream": text}, st.one_of(TEXT, LONG_TEXT)),
)
MESSAGE = st.one_of(well_formed("docker"), well_formed("podman"), MALFORMED)
# How a sequence ends: the stream closing, an interrupt, a broken connection, or not at all (mid-build).
ENDINGS = st.sampled_from(["finish", "cancel", "fail", None])


# -- the model's invariants ------------------------------------------------------------------------

def shown_line_is_safe(line: str) -> bool:
    body = CUT_SUFFIX.sub("", line)
    return (len(line) <= LONGEST_SHOWN and len(body) <= MAX_LINE_CHARS
            and not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", body) and not SURROGATES.search(line))


def check_consistent(progress: BuildProgress, steps_started: int) -> None:
    assert progress.state in BUILD_STATES
    assert len(progress.steps) == steps_started
    running = [index for index, step in enumerate(progress.steps) if step.state == RUNNING]
    assert len(running) <= 1 and running in ([], [len(progress.steps) - 1])
    for step in progress.steps:
        assert step.state in STEP_STATES
        assert len(step.tail) <= progress.tail_lines and len(step.tail) <= step.line_count
        assert all(shown_line_is_safe(text) and isinstance(stderr, bool) for text, stderr in step.tail)
    assert progress.cached_count == sum(step.state == CACHED for step in progress.steps)
    if progress.finished:
        assert progress.finished_at is not None and progress.seconds >= 0
        assert not running
        assert all(step.finished_at is not None for step in progress.steps)
    if progress.state == FAILED:
        assert progress.error
        assert progress.exit_code is None or isinstance(progress.exit_code, int)
    if progress.state == DONE:
        assert progress.image_id
    if progress.state == CANCELLED:
        assert progress.failed_step is None


def check_logs(progress: BuildProgress) -> None:
    """Once every step is closed: each step's log file has exactly ``line_count`` lines, and its tail is
    the last lines of that file as ``displayable`` shows them."""
    for step in progress.steps:
        path = pathlib.Path(step.log_path)
        text = path.open(encoding="utf-8", errors="replace", newline="").read() if path.exists() else ""
        assert step.line_count == text.count("\n")
        assert text == "" or text.endswith("\n")
        lines = text.split("\n")[:-1]
        expected = lines[-len(step.tail):] if step.tail else []
        assert len(expected) == len(step.tail)
        for (shown, _), line in zip(step.tail, expected, strict=True):
            whole = displayable(line)
            if len(line) <= KEPT_LINE_CHARS:
                assert shown == whole
            else:  # only a bounded part of a very long line is kept in memory: what shows is a prefix
                assert CUT_SUFFIX.sub("", whole).startswith(CUT_SUFFIX.sub("", shown))


_LOG_ROOT = tempfile.TemporaryDirectory(prefix="dmfuzz-")


@pytest.fixture(scope="module", autouse=True)
def _remove_log_folders():
    """Hypothesis runs hundreds of builds here: their log folders live in one folder removed at the end."""
    yield
    _LOG_ROOT.cleanup()


def log_folder() -> str:
    """A fresh folder for one fuzzed build's logs, inside the module's own temporary folder."""
    return tempfile.mkdtemp(dir=_LOG_ROOT.name)


def check_views(progress: BuildProgress) -> None:
    """Every form a frontend receives encodes as the kernel sends it (JSON, strict UTF-8)."""
    state = {"header": header_state(progress), "steps": steps_state(progress)}
    json.dumps(state, allow_nan=False, ensure_ascii=False).encode("utf-8")
    for form in (build_summary_text(progress), build_html(progress)):
        form.encode("utf-8")
    assert "<script" not in build_html(progress)


def run(messages, ending, tail_lines=50):
    """Feed ``messages`` into a model, checking its invariants after each event."""
    progress = BuildProgress(log_folder(), tail_lines=tail_lines)
    started = 0
    for event in build_events(messages):
        assert isinstance(event, EVENT_TYPES)
        if isinstance(event, StepStarted) and not progress.finished:
            started += 1
        progress.apply(event)
        check_consistent(progress, started)
    if ending == "finish":
        progress.finish()
    elif ending == "cancel":
        progress.cancel()
    elif ending == "fail":
        progress.fail("the connection to the engine broke during the build")
    check_consistent(progress, started)
    check_views(progress)
    if progress.finished:
        check_logs(progress)
    return progress


# -- the tests -------------------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(MESSAGE)
def test_one_message_never_raises_and_gives_typed_events(message):
    events = parse_build_event(message)
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, EVENT_TYPES)
        if isinstance(event, build_stream.Unrecognized):
            continue  # kept as it came, never shown
        for value in vars(event).values():
            if isinstance(value, str):
                value.encode("utf-8")  # no lone surrogate reaches a view
            elif isinstance(event, (StepStarted, BuildFailed)) and value is not None and not isinstance(value, str):
                assert isinstance(value, int) and abs(value) < 2**32


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(well_formed("docker"), MALFORMED), max_size=40), ENDINGS)
def test_docker_sequences_keep_the_model_consistent(messages, ending):
    run(messages, ending)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(well_formed("podman"), MALFORMED), max_size=40), ENDINGS)
def test_podman_sequences_keep_the_model_consistent(messages, ending):
    run(messages, ending)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MESSAGE, max_size=60), ENDINGS, st.integers(1, 5))
@example([{"stream": "Step 1/1 : RUN x"}, {"stream": "a\rb\r"}, {"stream": "Step 2/2 : RUN y"}], "finish", 3)
@example([{"stream": "Step 1/1 : RUN x"}, {"stream": "x" * 20_000}, {"stream": "y\n"}], "finish", 3)
@example([{"stream": "Step 1/2 : RUN x"}, {"error": "boom"}, {"stream": "Step 2/2 : RUN y"}], None, 3)
def test_mixed_dialects_and_tiny_tails(messages, ending, tail_lines):
    run(messages, ending, tail_lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXT, LONG_TEXT), min_size=1, max_size=8), st.data())
def test_how_output_is_split_into_messages_does_not_change_what_shows(texts, data):
    """Docker cuts output where its buffer ends: any cut gives the same lines, counts and log. (Marked
    as stderr, so that no piece is read as a control line.)"""
    text = "".join(texts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    header = [{"stream": "Step 1/1 : RUN x"}, {"stream": "\n"}]
    whole = run(header + [{"stream": f"\x1b[91m{text}\x1b[0m"}], "finish")
    cut = run(header + [{"stream": f"\x1b[91m{chunk}\x1b[0m"} for chunk in chunks], "finish")
    assert list(whole.steps[0].tail) == list(cut.steps[0].tail)
    assert whole.steps[0].line_count == cut.steps[0].line_count



def test_a_long_line_with_colour_codes_is_cut_the_same_whole_or_in_pieces():
    """Found by the property above: a line longer than the model keeps, with an escape sequence past the
    kept part, said how many characters the log file holds beyond it differently when it came whole."""
    text = "\n" + "x" * 7998 + "\x1b[31m" + "x" * 7998 + "\n"
    header = [{"stream": "Step 1/1 : RUN x"}, {"stream": "\n"}]
    whole = run(header + [{"stream": text}], "finish")
    cut = run(header + [{"stream": text[:1]}, {"stream": text[1:]}], "finish")
    shown = [line for line, _ in whole.steps[0].tail]
    assert shown == [line for line, _ in cut.steps[0].tail]
    assert shown[1] == "x" * 4000 + " … (12001 more characters in the log file)"

@settings(max_examples=500, deadline=None)
@given(st.one_of(TEXT, LONG_TEXT, st.text()), st.integers(0, 10**9))
def test_displayable_lines_are_single_safe_bounded_lines(line, more):
    assume("\n" not in line)
    assert shown_line_is_safe(displayable(line, more))
    accumulator = LineAccumulator()
    accumulator.feed(line)
    assert accumulator.raw == len(line)
    assert shown_line_is_safe(accumulator.line())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(well_formed("docker"), well_formed("podman"), st.builds(lambda t: {"stream": t}, TEXT)),
                max_size=30), ENDINGS)
def test_the_widget_receives_every_line_once(messages, ending):
    """With a live view attached, each step's lines reach the widget once (or are counted as skipped),
    and the widget's rows are the model's steps."""
    progress = BuildProgress(log_folder(), tail_lines=20)
    view = LiveBuildView(progress, interval=0)
    received: dict[int, int] = {}

    def count(change):
        for entry in change["new"].get("entries", []):
            received[entry["step"]] = received.get(entry["step"], 0) + len(entry["lines"]) + entry["skipped"]
            assert all(shown_line_is_safe(text) for text, _ in entry["lines"])

    view.widget.observe(count, names="log_delta")
    for event in build_events(messages):
        progress.apply(event)
    if ending == "finish":
        progress.finish()
    elif ending == "cancel":
        progress.cancel()
    view.flush()
    view.close()
    assert view.widget.steps == steps_state(progress)
    assert {index: lines for index, lines in received.items() if lines} == {
        index: step.line_count for index, step in enumerate(progress.steps) if step.line_count}
    json.dumps(view.widget.get_state(), default=str, ensure_ascii=False).encode("utf-8")


class FakeResponse:
    def __init__(self, lines):
        self.lines = lines

    def iter_lines(self, chunk_size=None):
        return iter(self.lines)


def decoded(line: bytes) -> list:
    return list(_messages(FakeResponse([line])))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=40), st.lists(JSON_VALUES, min_size=1, max_size=3).map(
    lambda values: "".join(json.dumps(value) for value in values).encode())), max_size=10))
def test_raw_response_lines_decode_without_raising(lines):
    """Whatever bytes the engine sends a line (invalid UTF-8, objects glued together, garbage), the
    decoder yields messages and the parser takes each: a blank line gives none, a line of one JSON value
    gives that value, any other line gives something, and text it cannot decode is kept as output, never
    invented. Lines are decoded one by one: the whole response is the lines' messages in order."""
    messages = list(_messages(FakeResponse(lines)))
    assert messages == [message for line in lines for message in decoded(line)]
    for line in lines:
        text = line.decode("utf-8", errors="replace")
        from_line = decoded(line)
        if not text.strip():
            assert from_line == []
            continue
        assert from_line
        try:
            whole = json.loads(text)
        except ValueError:
            last = from_line[-1]
            if isinstance(last, dict) and set(last) == {"stream"} and not text.rstrip().endswith("}"):
                assert last["stream"].endswith("\n") and text.endswith(last["stream"][:-1])
        else:
            assert from_line == [whole]
    for message in messages:
        parse_build_event(message)


OBJECTS = st.lists(st.dictionaries(st.one_of(KEYS, TEXT), JSON_VALUES, max_size=3), min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(OBJECTS, st.sampled_from(["", " ", "\t", "  "]), st.none() | st.binary(max_size=20))
def test_glued_objects_decode_to_themselves_and_a_broken_rest_is_output(objects, separator, rest):
    """Objects the engine glued on one line come out one by one, equal to what was sent; text after them that
    is not JSON comes out once, as output of its own."""
    sent = [json.dumps(message) for message in objects]
    line = separator.join(sent).encode()
    # What each object is as JSON (escaped surrogate pairs, for one, read back as the character they make).
    expected = [json.loads(text) for text in sent]
    if rest is not None:
        rest = b"@" + rest  # no JSON value starts with @
        line += separator.encode() + rest
        expected.append({"stream": rest.decode("utf-8", errors="replace") + "\n"})
    assert decoded(line) == expected


def test_huge_numbers_are_output_not_a_crash(tmp_path):
    digits = "9" * 5000
    assert parse_build_event({"stream": f"Step {digits}/{digits} : RUN x"})[0].__class__.__name__ == "Output"
    failed = parse_build_event({"error": f"returned a non-zero code: {digits}", "errorDetail": {"code": 10**5000}})
    assert failed == [BuildFailed(f"returned a non-zero code: {digits}", None)]
    progress = run([{"stream": "Step 1/1 : RUN x"}, {"errorDetail": {"code": 10**5000}, "error": "x"}], None)
    assert progress.exit_code is None and "failed" in build_summary_text(progress)
