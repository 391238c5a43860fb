"""Pull and push progress, from streams recorded on the real registries (tests/streams/registry/): parsed,
applied to the model, and rendered as the docker CLI prints them."""

from __future__ import annotations

import json
import pathlib

import pytest

from dockmagic.models.transfer import PULL, PUSH, TransferProgress
from dockmagic.operations.registry import failure_sentence, registry_of, with_tag
from dockmagic.parsing.transfer_stream import (
    ALREADY_EXISTS,
    DONE,
    DOWNLOADING,
    LayerProgress,
    TransferDigest,
    TransferFailed,
    TransferNote,
    cli_line,
    parse_transfer_message,
)
from dockmagic.views.transfer_text import transfer_summary, transfer_text
from dockmagic.views.transfer_view import LiveTransferView

STREAMS = pathlib.Path(__file__).parent.parent / "streams" / "registry"
DIGEST = "sha256:3cd701a442631740ed45855b7f467f47e8cb6d28ee694a6158bb1dbc0b9ae8bd"


def messages(name: str) -> list[dict]:
    return [json.loads(line) for line in (STREAMS / f"{name}.jsonl").read_text().splitlines()]


class FakeClock:
    """Seconds that move only when the test says: elapsed time and speed without waiting."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replay(kind: str, name: str, seconds: float = 2.0) -> TransferProgress:
    clock = FakeClock()
    progress = TransferProgress(kind, "127.0.0.1:5000/dockmagic-rec:1", clock=clock)
    progress.start()
    for message in messages(name):
        progress.apply(parse_transfer_message(message))
    clock.now += seconds
    progress.finish()
    return progress


def test_a_pull_reads_as_the_docker_cli_prints_it():
    progress = replay(PULL, "pull-new-5000")
    assert transfer_text(progress).splitlines()[:-1] == [
        "1: Pulling from dockmagic-rec",
        "1dc79d54886a: Already exists",
        "eb3ed31c7b1a: Pull complete",
        f"Digest: {DIGEST}",
        "Status: Downloaded newer image for 127.0.0.1:5000/dockmagic-rec:1",
    ]
    assert progress.digest == DIGEST


def test_a_pull_counts_the_downloaded_bytes_the_speed_and_the_layers_already_there():
    progress = replay(PULL, "pull-new-5000", seconds=2.0)
    assert progress.moved_bytes == progress.total_bytes == 20006291
    assert progress.speed == pytest.approx(20006291 / 2.0)
    assert [layer.id for layer in progress.existing_layers] == ["1dc79d54886a"]
    assert transfer_summary(progress) == ("Pulled 127.0.0.1:5000/dockmagic-rec:1: 20MB in 2.0 s (10MB/s); "
                                          "1 layer already existed.")


def test_a_pull_in_the_middle_shows_the_layer_bar_and_bytes():
    clock = FakeClock()
    progress = TransferProgress(PULL, "127.0.0.1:5000/dockmagic-rec:1", clock=clock)
    for message in messages("pull-new-5000")[:5]:  # up to the second "Downloading"
        progress.apply(parse_transfer_message(message))
    clock.now += 1
    layer = progress.layers["eb3ed31c7b1a"]
    assert (layer.phase, layer.moved, layer.size) == (DOWNLOADING, 7579648, 20006291)
    assert "eb3ed31c7b1a: Downloading [==================>" in transfer_text(progress)
    assert "7.58MB/20.01MB" in transfer_text(progress)  # the CLI bar's four significant digits (go-units HumanSize)
    assert transfer_summary(progress).startswith("Pulling 127.0.0.1:5000/dockmagic-rec:1: 7.58MB of 20MB")


def test_a_push_reads_as_the_docker_cli_prints_it():
    progress = replay(PUSH, "push-new-5000")
    assert transfer_text(progress).splitlines()[:-1] == [
        "The push refers to repository [127.0.0.1:5000/dockmagic-rec]",
        "3e45390d8e48: Pushed",
        "d4e634db366d: Mounted from busybox",
        f"1: digest: {DIGEST} size: 740",
    ]
    assert progress.moved_bytes == 20000000  # the last "current" passes the total: never counted beyond it
    assert progress.layers["d4e634db366d"].phase == DONE


def test_a_second_push_finds_every_layer_already_in_the_registry():
    progress = replay(PUSH, "push-again-5443")
    assert {layer.phase for layer in progress.layers.values()} == {ALREADY_EXISTS}
    assert progress.moved_bytes == 0
    assert transfer_summary(progress).endswith("2 layers already existed.")


def test_an_up_to_date_pull_has_no_layers_and_says_so():
    progress = replay(PULL, "pull-again-5443")
    assert progress.layers == {}
    assert transfer_text(progress).splitlines()[-2] == (
        "Status: Image is up to date for 127.0.0.1:5443/dockmagic-rec:1")


@pytest.mark.parametrize("name, words", [
    ("push-wrong-credentials-5443", "unauthorized: authentication required"),
    ("push-down-5999", "connect: connection refused"),
    ("push-unknown-local", "An image does not exist locally"),
])
def test_an_error_in_the_stream_is_a_failure_event(name, words):
    events = [parse_transfer_message(message) for message in messages(name)]
    assert isinstance(events[-1], TransferFailed) and words in events[-1].message


@pytest.mark.parametrize("name, expected", [
    ("pull-unknown-5000", "The registry at 127.0.0.1:5000 has no image 127.0.0.1:5000/nosuch:1 "),
    ("pull-wrong-credentials-5443", "The registry at 127.0.0.1:5443 refused the credentials for dockmagic: "
                                    "run %docker_login 127.0.0.1:5443."),
    ("pull-down-5999", "Nothing answers at 127.0.0.1:5999 (Get \"http://127.0.0.1:5999/v2/\": dial tcp "
                       "127.0.0.1:5999: connect: connection refused): is the registry running?"),
])
def test_each_recorded_refusal_becomes_one_sentence(name, expected):
    error = json.loads((STREAMS / f"{name}.error.json").read_text())
    reference = "127.0.0.1:5000/nosuch:1" if "unknown" in name else "127.0.0.1:5443/busybox:latest"
    registry = registry_of(reference) if "down" not in name else "127.0.0.1:5999"
    sentence = failure_sentence(error["explanation"], PULL, reference, registry, "dockmagic")
    assert sentence.startswith(expected)
    assert "\n" not in sentence


def test_a_push_of_an_image_that_is_not_here_says_to_tag_one():
    message = messages("push-unknown-local")[-1]["error"]
    assert failure_sentence(message, PUSH, "127.0.0.1:5000/nosuch-local:1", "127.0.0.1:5000", None) == (
        "There is no local image 127.0.0.1:5000/nosuch-local:1 to push: tag one with that name first "
        "(docker tag IMAGE 127.0.0.1:5000/nosuch-local:1).")


def test_each_message_has_the_cli_line():
    lines = [cli_line(message) for message in messages("pull-new-5000")]
    assert lines[3] == "eb3ed31c7b1a: Downloading 203.8kB/20.01MB"
    assert lines[-1] == "Status: Downloaded newer image for 127.0.0.1:5000/dockmagic-rec:1"


@pytest.mark.parametrize("message", [None, 3, "text", {}, {"status": ""}, {"progressDetail": {}},
                                     {"status": "Downloading", "id": "abcdefabcdef", "progressDetail": "x"},
                                     {"status": "Downloading", "id": "abcdefabcdef",
                                      "progressDetail": {"current": -1, "total": True}}])
def test_odd_messages_are_ignored_or_read_without_numbers(message):
    event = parse_transfer_message(message)
    assert event is None or (isinstance(event, LayerProgress) and event.current is None and event.total is None)


def test_notes_and_digests_have_their_types():
    assert parse_transfer_message({"status": "Pulling from busybox", "id": "latest"}) == TransferNote(
        "latest: Pulling from busybox")
    assert parse_transfer_message({"aux": {"Tag": "1", "Digest": DIGEST, "Size": 740}}) == TransferDigest(DIGEST, 740)


def test_registries_and_tags_are_read_as_docker_reads_them():
    assert registry_of("127.0.0.1:5000/busybox") == "127.0.0.1:5000"
    assert registry_of("localhost/team/x") == "localhost"
    assert registry_of("team/x") == registry_of("busybox") == "docker.io"
    assert with_tag("127.0.0.1:5000/busybox") == "127.0.0.1:5000/busybox:latest"
    assert with_tag("127.0.0.1:5000/busybox:1") == "127.0.0.1:5000/busybox:1"


def test_the_widget_ends_with_the_models_final_state():
    progress = TransferProgress(PULL, "127.0.0.1:5000/dockmagic-rec:1", clock=FakeClock())
    view = LiveTransferView(progress)
    for message in messages("pull-new-5000"):
        progress.apply(parse_transfer_message(message))
    progress.finish()
    header, layers = view.widget.header, view.widget.layers
    assert header["state"] == "done" and header["digest"] == DIGEST and header["existing"] == 1
    assert [(layer["id"], layer["status"]) for layer in layers] == [
        ("1dc79d54886a", "Already exists"), ("eb3ed31c7b1a", "Pull complete")]
    assert layers[1]["moved"] == layers[1]["extracted"] == 20006291
    # Thirteen messages within a moment: the widget is sent far fewer updates than the model saw.
    assert view.flushes < progress.version


def test_the_text_snapshot_escapes_what_the_engine_said():
    progress = TransferProgress(PULL, "127.0.0.1:5000/x:1", clock=FakeClock())
    view = LiveTransferView(progress)
    progress.apply(parse_transfer_message({"error": "<b>no</b>"}))
    progress.finish()
    bundle, _ = view._repr_mimebundle_()
    assert "&lt;b&gt;no&lt;/b&gt;" in bundle["text/html"] and "<b>" not in bundle["text/html"]


def test_a_transfer_that_moved_nothing_says_so():
    assert transfer_summary(replay(PULL, "pull-again-5443", seconds=0.2)) == (
        "Pulled 127.0.0.1:5000/dockmagic-rec:1 in 0.2 s: nothing to download.")
    assert transfer_summary(replay(PUSH, "push-again-5000", seconds=0.2)) == (
        "Pushed 127.0.0.1:5000/dockmagic-rec:1 in 0.2 s: nothing to send; 2 layers already existed.")
