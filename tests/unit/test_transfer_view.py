"""The live transfer view sends a bounded number of updates, and its last one is the model's end."""

from __future__ import annotations

from dockmagic.models.transfer import PULL, TransferProgress
from dockmagic.parsing.transfer_stream import parse_transfer_message
from dockmagic.views.transfer_view import LiveTransferView


def downloading(current: int) -> dict:
    return {"status": "Downloading", "id": "eb3ed31c7b1a",
            "progressDetail": {"current": current, "total": 1_000_000}}


def test_a_thousand_changes_within_an_interval_are_one_update_at_the_end():
    progress = TransferProgress(PULL, "127.0.0.1:5000/x:1")
    view = LiveTransferView(progress, interval=3600)  # no interval passes during the test
    for current in range(0, 1_000_000, 1000):
        progress.apply(parse_transfer_message(downloading(current)))
    assert view.flushes == 0 and view.widget.layers == []  # held back: one timer armed, none sent
    progress.apply(parse_transfer_message({"status": "Pull complete", "id": "eb3ed31c7b1a"}))
    progress.finish()
    assert view.flushes == 1
    assert view.widget.layers == [{"id": "eb3ed31c7b1a", "phase": "done", "status": "Pull complete",
                                   "size": 1_000_000, "moved": 1_000_000, "extracted": 1_000_000}]
    assert view.widget.header["state"] == "done"


def test_a_failure_is_the_views_last_state():
    progress = TransferProgress(PULL, "127.0.0.1:5000/x:1")
    view = LiveTransferView(progress, interval=3600)
    progress.finish("Nothing answers at 127.0.0.1:5000 (connection refused): is the registry running?")
    assert view.widget.header["state"] == "failed"
    assert view.widget.header["error"].startswith("Nothing answers at 127.0.0.1:5000")
