"""BuildKit builds: ``%%dockerfile --builder buildkit`` against the raw stream read with docker-py, in one run.

The docker CLI here cannot build with BuildKit (no buildx), so the floor is the same request,
``POST /build?version=2`` with the same context tar and parameters (networkmode none, pull=0, same tag),
posted with docker-py's low-level APIClient and its stream iterated to the end, decoding nothing.
dockmagic is measured as the user runs it, ``%%dockerfile --builder buildkit`` in a real Jupyter kernel with
its live widget (widget messages counted on iopub, the kernel's memory sampled), and in-process as
``dockmagic.build(builder="buildkit")``. The three alternate, several runs each (which goes first rotates);
the machine is shared, so the figure is the median of the ratios of adjacent runs, beside the medians.

(a) a 30-step Dockerfile, fully cached (built once first); (b) a RUN printing 1,000,000 lines, --no-cache
(the engine clips the log: what it leaves is counted); (c) two independent stages each ``RUN sleep 3`` and a
final stage using both, --no-cache, against one 3-second stage built the same way.

Usage: python bench/bench_buildkit.py [--runs N] [--lines N] [--results NAME.md]
dockmagic lists the temporary folder before each build (to prune old build logs), so a crowded /tmp costs
it time: ``TMPDIR=$(mktemp -d) python bench/bench_buildkit.py --results buildkit-clean-tmp.md`` measures
the same with an empty one.
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

BENCH = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
from kernel import BenchKernel  # noqa: E402

import dockmagic  # noqa: E402
from dockmagic.engine import connect  # noqa: E402
from dockmagic.operations.context import make_context  # noqa: E402

RESULTS = BENCH / "results"
NETWORK = "none"  # this engine has no bridge network; BuildKit takes host or none

CACHED = "FROM busybox\n" + "".join(f"RUN echo step {i} > /step-{i}\n" for i in range(2, 31))
ONE_STAGE = "FROM busybox\nRUN sleep 3\n"
TWO_STAGES = ("FROM busybox AS left\nRUN sleep 3 && echo left > /left\n"
              "FROM busybox AS right\nRUN sleep 3 && echo right > /right\n"
              "FROM busybox\nCOPY --from=left /left /left\nCOPY --from=right /right /right\n")


def floor_build(api, dockerfile: str, tag: str, no_cache: bool) -> float:
    """The same BuildKit request dockmagic sends, its stream read to the end by docker-py, decoding nothing."""
    archive, name = make_context(dockerfile)
    body = archive.read()
    params = {"t": [tag], "q": False, "nocache": no_cache, "rm": True, "forcerm": True, "pull": False,
              "dockerfile": name, "networkmode": NETWORK, "version": "2"}
    started = time.perf_counter()
    response = api._post(api._url("/build"), data=body, params=params,
                         headers={"Content-Type": "application/tar"}, stream=True, timeout=None)
    api._raise_for_status(response)
    for _ in api._stream_helper(response, decode=False):
        pass
    return time.perf_counter() - started


def in_process_build(dockerfile: str, tag: str, no_cache: bool):
    started = time.perf_counter()
    result = dockmagic.build(dockerfile, tags=[tag], no_cache=no_cache, network=NETWORK, builder="buildkit")
    return time.perf_counter() - started, result


def magic_cell(dockerfile: str, tag: str, no_cache: bool) -> str:
    return f"%%dockerfile --builder buildkit --network {NETWORK} -t {tag}{' --no-cache' if no_cache else ''}\n" \
        + dockerfile


def busiest_second(comm_messages) -> int:
    """The most widget messages sent within any one second of the build."""
    return max((sum(1 for t, _ in comm_messages if s <= t < s + 1) for s, _ in comm_messages), default=0)


class Case:
    """One kind of build, timed three ways in alternating order."""

    def __init__(self, name: str, dockerfile: str, tag: str, no_cache: bool):
        self.name, self.dockerfile, self.tag, self.no_cache = name, dockerfile, tag, no_cache
        self.times = {"floor": [], "kernel floor": [], "magic": [], "build()": []}
        self.kernel_runs = []
        self.logs = []  # the last step's log of each in-process build

    def run(self, api, kernel: BenchKernel, order: int, sample_memory: bool = False) -> None:
        def floor():
            self.times["floor"].append(floor_build(api, self.dockerfile, self.tag, self.no_cache))

        def kernel_floor():
            run = kernel.run(f"_floor_build(_api, {self.dockerfile!r}, {self.tag!r}, {self.no_cache!r})")
            assert run.status == "ok", run.outputs
            self.times["kernel floor"].append(run.seconds)

        def magic():
            run = kernel.run(magic_cell(self.dockerfile, self.tag, self.no_cache), sample_memory=sample_memory,
                             cell_id=f"magic {self.name}")
            assert run.status == "ok", run.outputs
            self.times["magic"].append(run.seconds)
            self.kernel_runs.append(run)

        def in_process():
            seconds, result = in_process_build(self.dockerfile, self.tag, self.no_cache)
            assert result.ok, result.error
            self.times["build()"].append(seconds)
            # Read now: another process's builds (the kernel's) may prune this build's log folder later.
            self.logs.append(result.steps[-1].log or "")

        actions = [floor, kernel_floor, magic, in_process]
        for action in actions[order % 4:] + actions[:order % 4]:
            action()
        print(f"{self.name}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in self.times.items()), flush=True)

    def paired_ratio(self, who: str, floor: str = "floor") -> float:
        return statistics.median(a / b for a, b in zip(self.times[who], self.times[floor], strict=True))


def main() -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--cached-runs", type=int, default=60, help="runs of (a), which is short and noisy")
    parser.add_argument("--results", default="buildkit.md", help="file written in bench/results/")
    args = parser.parse_args()
    load_before = " ".join(f"{value:.1f}" for value in os.getloadavg())
    engine = connect()
    api = engine._api
    tag = f"dmbench-bk-{uuid.uuid4().hex[:8]}"
    lines_dockerfile = f"FROM busybox\nRUN seq {args.lines}\n"
    cases = {
        "a": Case("(a) cached", CACHED, tag + "-a", no_cache=False),
        "b": Case("(b) lines", lines_dockerfile, tag + "-b", no_cache=True),
        "one": Case("(c) one stage", ONE_STAGE, tag + "-one", no_cache=True),
        "two": Case("(c) two stages", TWO_STAGES, tag + "-two", no_cache=True),
    }
    kernel = BenchKernel()
    try:
        assert kernel.run("%load_ext dockmagic").status == "ok"
        # The floor in the kernel too: the same docker-py read as a cell, so that a cell's own cost (the
        # execute request, its replies, the kernel's bookkeeping) is on both sides of %%dockerfile's ratio.
        assert kernel.run(f"import sys\nsys.path.insert(0, {str(BENCH)!r})\nfrom bench_buildkit import floor_build "
                          "as _floor_build\nfrom dockmagic.engine import connect\n_api = connect()._api").status == "ok"
        # Fill the cache for (a) and warm every path once, untimed.
        floor_build(api, CACHED, tag + "-a", no_cache=False)
        assert kernel.run(magic_cell(CACHED, tag + "-a", False), cell_id="magic (a) cached").status == "ok"
        in_process_build(CACHED, tag + "-a", False)
        for order in range(args.cached_runs):
            cases["a"].run(api, kernel, order)
        for order in range(args.runs):
            cases["b"].run(api, kernel, order, sample_memory=True)
        for order in range(args.runs):
            cases["one"].run(api, kernel, order)
            cases["two"].run(api, kernel, order)
    finally:
        kernel.close()
        subprocess.run(["docker", "rmi", "-f", *(case.tag for case in cases.values())],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    temp_entries, listing = temp_folder_cost()
    load_after = " ".join(f"{value:.1f}" for value in os.getloadavg())
    report = render(cases, args, load_before, load_after, engine.describe(), temp_entries, listing)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.results).write_text(report)
    print(report)
    return report


def render(cases, args, load_before, load_after, engine_name, temp_entries, listing) -> str:
    med = statistics.median
    verdict = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    a, b, one, two = cases["a"], cases["b"], cases["one"], cases["two"]

    # What the engine's clipping left of (b)'s log, as dockmagic kept it (the last in-process build).
    kept = b.logs[-1]
    kept_lines = kept.splitlines()
    clipped_note = next((line for line in kept_lines if "clipped" in line), "no clipping line")
    numbers = [line for line in kept_lines if line.strip().isdigit()]
    last_number = f"{max(int(n) for n in numbers):,}" if numbers else "none"

    runs_b = b.kernel_runs
    busiest = max(busiest_second(run.comm_messages) for run in runs_b)
    growth = med(run.peak_rss - run.start_rss for run in runs_b)
    counts = med(len(run.comm_messages) for run in runs_b)
    rate = med(len(run.comm_messages) / run.seconds for run in runs_b)
    busiest_other = max(busiest_second(run.comm_messages) for case in (a, one, two) for run in case.kernel_runs)

    stages_magic = med(x / y for x, y in zip(two.times["magic"], one.times["magic"], strict=True))
    stages_floor = med(x / y for x, y in zip(two.times["floor"], one.times["floor"], strict=True))
    stages_build = med(x / y for x, y in zip(two.times["build()"], one.times["build()"], strict=True))

    def row(label, case, target=None):
        magic_cell_ratio, magic_ratio = case.paired_ratio("magic", "kernel floor"), case.paired_ratio("magic")
        build_ratio = case.paired_ratio("build()")
        goal = (f"<= {target:.2f}: %%dockerfile {verdict(magic_cell_ratio <= target)}, "
                f"build() {verdict(build_ratio <= target)}") if target else ""
        return (f"| {label} | {med(case.times['floor']):.3f} s | {med(case.times['kernel floor']):.3f} s | "
                f"{med(case.times['magic']):.3f} s | {magic_cell_ratio:.2f} | {magic_ratio:.2f} | "
                f"{med(case.times['build()']):.3f} s | {build_ratio:.2f} | {goal} |")

    raw = "\n".join(f"- {case.name}: " + "; ".join(f"{who} {fmt(times)}" for who, times in case.times.items())
                    for case in cases.values())
    return f"""## BuildKit: %%dockerfile --builder buildkit vs the raw stream (bench/bench_buildkit.py, {tempfile.gettempdir()})

Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, engine: `{engine_name}`, {args.runs} runs each ({args.cached_runs} of (a)),
alternating (which goes first rotates), load average {load_before} before and {load_after} after (2 cores,
shared with other work). The docker CLI here cannot use BuildKit (no buildx), so the floor is the same
request, `POST /build?version=2` with the same context tar, networkmode none, pull=0 and the same tag,
posted with docker-py's low-level APIClient and its stream read to the end, decoding nothing, timed twice:
in-process, and as a cell of the same Jupyter kernel (so that a cell's own cost is on both sides). `%%dockerfile`
ran in that kernel with its live widget, each case as one notebook cell run again (sent with a cell id, as
JupyterLab sends it; ratio to the floor cell, and to the in-process floor);
`build()` is `dockmagic.build(builder="buildkit")` in-process (ratio to the in-process floor).
Ratios are the median of the ratios of adjacent runs (fairer than a ratio of medians on a loaded machine).
The temporary folder ({tempfile.gettempdir()}) held {temp_entries:,} entries: listing them, as dockmagic does
before each build to prune old build logs, took {listing * 1000:.0f} ms (median of 5).

| work | floor in-process | floor as a cell | %%dockerfile | ratio to the cell | ratio to in-process | build() | ratio | target |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{row("(a) 30-step Dockerfile, fully cached", a, 1.10)}
{row(f"(b) RUN printing {args.lines:,} lines, --no-cache", b, 1.25)}
{row("(c) one stage `RUN sleep 3`, --no-cache", one)}
{row("(c) two independent 3-second stages + a final stage, --no-cache", two)}

(c) wall time of the two stages over one stage, built the same way (target <= 1.2):

| | two stages / one stage | target |
| --- | --- | --- |
| %%dockerfile | {stages_magic:.2f} | <= 1.2 ({verdict(stages_magic <= 1.2)}) |
| build() | {stages_build:.2f} | |
| floor (docker-py) | {stages_floor:.2f} | |

During (b):

| measure | value | target |
| --- | --- | --- |
| widget messages in the busiest second of the build | {busiest} | <= 10 ({verdict(busiest <= 10)}) |
| widget messages per second, mean over the build | {rate:.1f} | |
| widget messages per build | {counts:.0f} | |
| kernel memory growth (peak RSS minus RSS before the cell) | {growth / 2**20:.1f} MiB | <= 50 MB ({verdict(growth <= 50e6)}) |
| widget messages in the busiest second, cases (a) and (c) | {busiest_other} | <= 10 ({verdict(busiest_other <= 10)}) |

What the engine's clipping left of (b)'s {args.lines:,} lines: {len(kept.encode()):,} bytes, {len(numbers):,}
lines of output (the highest number kept: {last_number}), then `{clipped_note.strip()}`. On Engine 20.10 BuildKit's
limit is a rate (200 KiB/s) on the step's log, so what is kept depends on how fast the step prints.

Raw runs (s):
{raw}
"""  # noqa: E501 (a markdown table row is one line)


def temp_folder_cost() -> tuple[int, float]:
    """How many entries the temporary folder holds, and how long listing it takes (median of 5)."""
    folder = tempfile.gettempdir()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        [name for name in os.listdir(folder) if name.startswith("dockmagic-build-")]
        times.append(time.perf_counter() - started)
    return len(os.listdir(folder)), statistics.median(times)


def fmt(values):
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
