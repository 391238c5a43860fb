"""Replaying recordings with no engine: what is not a recording is named as such."""

from __future__ import annotations

import pytest

from dockmagic.errors import DockmagicError
from dockmagic.operations.replay import replay_build


def test_not_a_recording_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"stream": "Step 1/1 : FROM busybox"}\n')
    with pytest.raises(DockmagicError, match="not a dockmagic recording"):
        replay_build(str(bogus))
    with pytest.raises(DockmagicError, match="No recording at"):
        replay_build(str(tmp_path / "missing.jsonl"))
