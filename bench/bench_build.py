"""%%dockerfile against the docker CLI on the same engine, in one run.

(a) a 30-step Dockerfile, fully cached; (b) a RUN printing 1,000,000 lines (--no-cache each time).
The magic runs in a real Jupyter kernel with its live widget; widget messages are counted on iopub as
a browser would receive them, and the kernel's memory is sampled during (b). The CLI uses the same
(legacy) builder the Engine API gives: DOCKER_BUILDKIT=0.

Usage: python bench/bench_build.py [--runs N] [--lines N]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from kernel import BenchKernel  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def cli_build(folder: str, tag: str, no_cache: bool = False) -> float:
    command = ["docker", "build", "-t", tag] + (["--no-cache"] if no_cache else []) + [folder]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, DOCKER_BUILDKIT="0"))
    return time.perf_counter() - started


def magic_cell(options: str, dockerfile: str) -> str:
    return f"%%dockerfile {options}\n{dockerfile}"


def main() -> str:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    tag = f"dmbench-{uuid.uuid4().hex[:8]}"
    cached_dockerfile = "FROM busybox\n" + "".join(f"RUN echo step {i} > /step-{i}\n" for i in range(2, 31))
    lines_dockerfile = f"FROM busybox\nRUN seq {args.lines}\n"
    folder_a, folder_b = tempfile.mkdtemp(), tempfile.mkdtemp()
    pathlib.Path(folder_a, "Dockerfile").write_text(cached_dockerfile)
    pathlib.Path(folder_b, "Dockerfile").write_text(lines_dockerfile)

    kernel = BenchKernel()
    try:
        assert kernel.run("%load_ext dockmagic").status == "ok"
        # Warm the cache and both paths once.
        cli_build(folder_a, tag + "-a")
        assert kernel.run(magic_cell(f"-t {tag}-a", cached_dockerfile), cell_id="cached").status == "ok"

        cached_cli, cached_magic = [], []
        for _ in range(args.runs):
            cached_cli.append(cli_build(folder_a, tag + "-a"))
            run = kernel.run(magic_cell(f"-t {tag}-a", cached_dockerfile), cell_id="cached")
            assert run.status == "ok", run.outputs
            cached_magic.append(run.seconds)

        lines_cli, lines_magic, rates, byte_rates, growth, counts = [], [], [], [], [], []
        busiest_per_run = []
        for _ in range(args.runs):
            lines_cli.append(cli_build(folder_b, tag + "-b", no_cache=True))
            run = kernel.run(magic_cell(f"-t {tag}-b --no-cache", lines_dockerfile), sample_memory=True,
                             cell_id="lines")
            assert run.status == "ok", run.outputs
            lines_magic.append(run.seconds)
            counts.append(len(run.comm_messages))
            rates.append(len(run.comm_messages) / run.seconds)
            byte_rates.append(sum(size for _, size in run.comm_messages) / run.seconds)
            growth.append(run.peak_rss - run.start_rss)
            # The densest second of messages, not only the average.
            busiest_per_run.append(max((sum(1 for t, _ in run.comm_messages if s <= t < s + 1)
                                        for s, _ in run.comm_messages), default=0))
        busiest = max(busiest_per_run)
    finally:
        kernel.close()
        subprocess.run(["docker", "rmi", "-f", tag + "-a", tag + "-b"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    med = statistics.median
    ratio_a = med(cached_magic) / med(cached_cli)
    ratio_b = med(lines_magic) / med(lines_cli)
    verdict = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    report = f"""## %%dockerfile vs `docker build` (bench/bench_build.py)

Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, engine: `{engine_version()}`, {args.runs} runs each,
medians; the magic ran in a Jupyter kernel with its live widget, the CLI with `DOCKER_BUILDKIT=0`
(the same legacy builder the Engine API gives) and its output sent to /dev/null.

| work | docker CLI | %%dockerfile | ratio | target |
| --- | --- | --- | --- | --- |
| (a) 30-step Dockerfile, fully cached | {med(cached_cli):.3f} s | {med(cached_magic):.3f} s | {ratio_a:.2f} | <= 1.10 ({verdict(ratio_a <= 1.10)}) |
| (b) RUN printing {args.lines:,} lines | {med(lines_cli):.3f} s | {med(lines_magic):.3f} s | {ratio_b:.2f} | <= 1.25 ({verdict(ratio_b <= 1.25)}) |

During (b):

| measure | value | target |
| --- | --- | --- |
| widget messages in the busiest second of the build | {busiest} | <= 10 ({verdict(busiest <= 10)}) |
| widget messages per second, mean over the build (the final state is one message more) | {med(rates):.1f} | |
| widget messages per build | {med(counts):.0f} | |
| widget bytes per second | {med(byte_rates) / 1024:.1f} KiB/s | |
| kernel memory growth (peak RSS minus RSS before the cell) | {med(growth) / 2**20:.1f} MiB | <= 50 MB ({verdict(med(growth) <= 50e6)}) |

Raw runs (s): (a) CLI {fmt(cached_cli)}, magic {fmt(cached_magic)}; (b) CLI {fmt(lines_cli)}, magic {fmt(lines_magic)}.
"""  # noqa: E501 (a markdown table row is one line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "build.md").write_text(report)
    print(report)
    return report


def fmt(values):
    return ", ".join(f"{v:.3f}" for v in values)


def engine_version() -> str:
    out = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    return "Docker Engine " + out.stdout.strip()


if __name__ == "__main__":
    main()
