"""The views' one timer thread (a view 0.2 s in, trailing flushes): calls in time order, a cancelled one never."""

from __future__ import annotations

import threading
import time

from dockmagic.views.throttle import _Later


def test_calls_run_soonest_first_and_a_cancelled_one_never():
    later = _Later()
    ran: list[str] = []
    done = threading.Event()
    later.call(0.3, lambda: (ran.append("late"), done.set()))
    dropped = later.call(0.1, ran.append, "cancelled")
    later.call(0.05, ran.append, "soon")  # sooner than what the thread already waits for
    dropped.cancel()
    started = time.monotonic()
    assert done.wait(5)
    assert ran == ["soon", "late"]
    assert time.monotonic() - started >= 0.25  # not before its time


def test_a_failing_call_does_not_stop_the_next(capsys):
    later = _Later()
    done = threading.Event()
    later.call(0.0, lambda: 1 / 0)
    later.call(0.05, done.set)
    assert done.wait(5)
    assert "ZeroDivisionError" in capsys.readouterr().err
