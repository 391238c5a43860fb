"""The reliability report's recorder: each fault test records the fault it caused, what the user saw (the
message the test captured) and what was left behind (from its before/after lists). At the end of the run
the rows go to out/reliability.json, which scripts/write_reliability.py renders as docs/reliability.md."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(ROOT, "out", "reliability.json")
MAX_MESSAGE_CHARS = 300

_rows: list[dict] = []


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line, colour codes out, cut at ``limit`` characters."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def left_behind(before: dict | None, after: dict | None) -> str:
    """"nothing" when the snapshots are equal, else what appeared and what went, by kind."""
    if before is None or after is None:
        return "not measured"
    parts = []
    for kind in sorted(set(before) | set(after)):
        old, new = set(before.get(kind, ())), set(after.get(kind, ()))
        if new - old:
            parts.append(f"new {kind}: {', '.join(sorted(new - old))}")
        if old - new:
            parts.append(f"gone {kind}: {', '.join(sorted(old - new))}")
    return "; ".join(parts) or "nothing"


@pytest.fixture
def fault_report(request):
    """``fault_report(fault, saw, seconds=None, before=None, after=None, left=None)`` adds a row."""

    def record(fault: str, saw: str, seconds: float | None = None, before: dict | None = None,
               after: dict | None = None, left: str | None = None) -> None:
        _rows.append({
            "fault": fault,
            "user_sees": shorten(saw),
            "seconds": None if seconds is None else round(seconds, 2),
            "left_behind": left if left is not None else left_behind(before, after),
            "test": request.node.nodeid,
        })

    return record


def _engine_version() -> str:
    try:
        out = subprocess.run(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except Exception:  # the report is still written without it
        return "unknown"


def write_report(session) -> None:
    # The report is of the local Docker Engine's full run; the runs that run-tests.sh repeats on other
    # engines (DOCKER_HOST set: Podman, the TLS engine) leave it alone.
    if not _rows or os.environ.get("DOCKER_HOST"):
        return
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    outcomes = {}
    for item in session.items:
        report = getattr(item, "_fault_outcome", None)
        if report is not None:
            outcomes[item.nodeid] = report
    rows = [dict(row, outcome=outcomes.get(row["test"], "?")) for row in _rows]
    with open(REPORT, "w", encoding="utf-8") as handle:
        json.dump({"engine": _engine_version(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "rows": rows}, handle, indent=1, ensure_ascii=False)
        handle.write("\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.failed):
        item._fault_outcome = report.outcome


def pytest_sessionfinish(session, exitstatus):
    write_report(session)
