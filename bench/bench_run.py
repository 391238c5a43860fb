"""%docker_run's operation against `docker run --rm` on the same engine, in one run.

The work: busybox printing 1,000,000 lines (`seq 1000000`, 6.9 MB). dockmagic runs in this process
(``dockmagic.operations.containers.run``, the code behind ``%docker_run``) with sys.stdout and sys.stderr
redirected to /dev/null, so that the numbers measure dockmagic and the engine, not a terminal; the CLI's
output goes to /dev/null too. Runs alternate between the two; medians are compared. The Python heap's
peak during one dockmagic run (tracemalloc, a separate run) shows that the result's output stays bounded.

Usage: python bench/bench_run.py [--runs N] [--lines N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import statistics
import subprocess
import time
import tracemalloc

from dockmagic.engine import connect
from dockmagic.operations.containers import OUTPUT_TAIL_BYTES, run

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
IMAGE = "busybox"


def cli_run(lines: int) -> float:
    started = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", IMAGE, "seq", str(lines)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def dockmagic_run(engine, lines: int):
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        started = time.perf_counter()
        result = run(IMAGE, ["seq", str(lines)], engine=engine)
        seconds = time.perf_counter() - started
    return seconds, result


def main() -> str:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    engine = connect()

    # Warm both paths once (image layers in the page cache, the CLI binary, the connection).
    cli_run(args.lines)
    _, result = dockmagic_run(engine, args.lines)
    assert result.output.endswith(f"{args.lines}\n"), "the last line of the output is missing"

    cli_times, magic_times = [], []
    for index in range(args.runs):
        # Alternate who goes first, so that drift on the machine hits both alike.
        if index % 2:
            cli_times.append(cli_run(args.lines))
            magic_times.append(dockmagic_run(engine, args.lines)[0])
        else:
            magic_times.append(dockmagic_run(engine, args.lines)[0])
            cli_times.append(cli_run(args.lines))

    tracemalloc.start()
    _, traced = dockmagic_run(engine, args.lines)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    med = statistics.median
    ratio = med(magic_times) / med(cli_times)
    verdict = "met" if ratio <= 1.25 else "**missed**"
    report = f"""## %docker_run vs `docker run --rm` (bench/bench_run.py)

Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, engine: `{engine.describe()}`, {args.runs} runs
each, alternating, medians. Work: `busybox seq {args.lines}` ({args.lines:,} lines). dockmagic: the
operation behind `%docker_run`, in-process, with sys.stdout/sys.stderr redirected to /dev/null (every
chunk still decoded, written and flushed); CLI: `docker run --rm busybox seq {args.lines} >/dev/null`.

| work | docker CLI | %docker_run | ratio | target |
| --- | --- | --- | --- | --- |
| {args.lines:,} lines to stdout | {med(cli_times):.3f} s | {med(magic_times):.3f} s | {ratio:.2f} | <= 1.25 ({verdict}) |

Python heap peak during one run (tracemalloc): {peak / 2**20:.2f} MiB, for {len(traced.output.encode()):,} bytes
of output kept (`.output` keeps the last {OUTPUT_TAIL_BYTES // 1024} KiB; truncated: {traced.truncated}).

Raw runs (s): CLI {fmt(cli_times)}; %docker_run {fmt(magic_times)}.
"""  # noqa: E501 (a markdown table row is one line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "run.md").write_text(report)
    print(report)
    return report


def fmt(values):
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
