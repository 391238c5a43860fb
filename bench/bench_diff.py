"""How long ``%docker_diff`` takes on a container with 100,000 changes, against ``docker diff``.

One run, one engine: a busybox container creates 100,000 files; then, alternately, ``docker diff NAME
>/dev/null`` and what ``%docker_diff`` does before anything is shown (connect, list the changes, build the
ContainerDiff, its tree's first level and the widget's initial state) are timed, several times each,
and the medians compared (target: ratio <= 1.2). Also measured: the bytes the browser first gets for the
widget (target: <= 200 KB). Prints a markdown section and writes it to bench/results/diff.md. The
container is removed at the end, whatever happens.

Usage: .venv/bin/python bench/bench_diff.py [--runs N] [--files N]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockmagic.engine import connect  # noqa: E402
from dockmagic.operations.diff import container_diff  # noqa: E402
from dockmagic.views.diff_view import DiffView, initial_state  # noqa: E402


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=True, **kwargs)


def time_cli(name: str) -> float:
    started = time.perf_counter()
    docker("diff", name, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def time_operation(name: str) -> tuple[float, object]:
    started = time.perf_counter()
    diff = container_diff(name, engine=connect())
    diff.tree  # noqa: B018 - the first level is grouped here
    initial_state(diff)
    return time.perf_counter() - started, diff


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()

    engine = connect()
    name = f"dmbench-{uuid.uuid4().hex[:10]}"
    try:
        started = time.perf_counter()
        docker("run", "--name", name, "busybox", "sh", "-c",
               f"mkdir -p /d && cd /d && seq {args.files} | xargs touch",
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        setup_seconds = time.perf_counter() - started

        # One untimed run of each, so that both start with the same warm caches.
        time_cli(name)
        _, diff = time_operation(name)
        cli_times, operation_times = [], []
        for _ in range(args.runs):
            cli_times.append(time_cli(name))
            seconds, diff = time_operation(name)
            operation_times.append(seconds)

        view = DiffView(diff)
        state_bytes = len(json.dumps(initial_state(diff)))
        widget_state_bytes = len(json.dumps(view.widget.get_state()))  # with the widget's JS and CSS
        bundle, _ = view._repr_mimebundle_()
        first_bytes = widget_state_bytes + len(bundle["text/plain"]) + len(bundle["text/html"])
        listed = subprocess.run(["docker", "diff", name], check=True, capture_output=True).stdout
        cli_lines = len(listed.splitlines())
    finally:
        subprocess.run(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    cli_median = statistics.median(cli_times)
    operation_median = statistics.median(operation_times)
    ratio = operation_median / cli_median
    fmt = lambda values: ", ".join(f"{value:.2f}" for value in values)  # noqa: E731
    section = f"""## `%docker_diff` on {len(diff.changes):,} changes

Measured {datetime.datetime.now().strftime("%Y-%m-%d %H:%M")} on {engine.describe()}, {os.cpu_count()} cores,
{args.runs} alternating runs each after one untimed run of each (container made in {setup_seconds:.1f} s,
removed after). Other tests may share the engine, so single runs vary; the medians are what count.

| | median | runs (s) |
|---|---|---|
| `docker diff NAME >/dev/null` | {cli_median:.2f} s | {fmt(cli_times)} |
| `%docker_diff` operation (connect, changes, ContainerDiff, tree, widget state) | {operation_median:.2f} s | {fmt(operation_times)} |
| **ratio** (target <= 1.2) | **{ratio:.2f}** | |

Bytes first sent to the browser, before any click (target <= 200 KB):

| | bytes |
|---|---|
| widget data (summary, first level, counts) | {state_bytes:,} |
| whole widget state, with its JavaScript and CSS | {widget_state_bytes:,} |
| that + the text/plain and text/html beside the widget | **{first_bytes:,}** |

Counts: {diff.counts} ({cli_lines:,} lines from docker diff).
"""  # noqa: E501 (a markdown table row is one line)
    print(section)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "diff.md").write_text(section, encoding="utf-8")
    ok = ratio <= 1.2 and first_bytes <= 200_000 and cli_lines == len(diff.changes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
