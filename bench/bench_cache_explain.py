"""What explaining cache misses costs: a build of a 500 MB, 10,000-file context with the explanation on
(``dockmagic.build()``, its default) against the same build with it off (``explain_cache=False``), on the
same engine, in one run, for each builder.

Each run changes one file of the context, so that ``COPY . /ctx`` misses the cache and the explanation has
something to say (it names the file); then builds with the explanation on and off, in alternating order.
With it on, dockmagic reads its record of the earlier build, hashes the files it reads to send that changed
since (size or time), and writes the new record: the legacy builder reads every file to make its tar (the
hash rides along on unchanged ones only when size and time changed); BuildKit asks only for what changed.
The figure is the median of the ratios of adjacent runs (the machine is shared), beside the medians.

Usage: python bench/bench_cache_explain.py [--runs N] [--files N] [--file-bytes N] [--results NAME.md]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

BENCH = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

import dockmagic  # noqa: E402
from dockmagic.engine import connect  # noqa: E402

RESULTS = BENCH / "results"
DOCKERFILE = "FROM busybox\nCOPY . /ctx\nRUN ls /ctx | wc -l\n"


def make_context(folder: pathlib.Path, files: int, file_bytes: int) -> int:
    """``files`` files of random bytes in 100 folders; their total size."""
    block = os.urandom(file_bytes)
    for index in range(files):
        sub = folder / f"part-{index % 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        # Each file differs (its number in front), so that no two layers' contents dedupe.
        (sub / f"file-{index:05d}.bin").write_bytes(index.to_bytes(4, "big") + block[4:])
    return files * file_bytes


def build(folder, builder: str, tag: str, explain: bool, records: str):
    started = time.perf_counter()
    result = dockmagic.build(DOCKERFILE, context=str(folder), tags=[tag], builder=builder, network="none",
                             explain_cache=explain, records_dir=records, notify=open(os.devnull, "w"),
                             context_warning_bytes=None)
    seconds = time.perf_counter() - started
    assert result.ok, result.error
    return seconds, result


def main() -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--file-bytes", type=int, default=50_000)
    parser.add_argument("--results", default="cache_explain.md")
    args = parser.parse_args()
    engine = connect()
    builders = ["legacy"] if engine.is_podman else ["legacy", "buildkit"]
    work = pathlib.Path(tempfile.mkdtemp(prefix="dmbench-ctx-"))
    records = tempfile.mkdtemp(prefix="dmbench-records-")
    tag = f"dmbench-explain-{uuid.uuid4().hex[:8]}"
    load_before = " ".join(f"{value:.1f}" for value in os.getloadavg())
    total = make_context(work / "context", args.files, args.file_bytes)
    changing = work / "context" / "part-000" / "file-00000.bin"
    started = time.perf_counter()
    digest = hashlib.sha256()
    for path in sorted((work / "context").rglob("*.bin")):
        digest.update(path.read_bytes())
    hash_seconds = time.perf_counter() - started
    times: dict[str, dict[str, list[float]]] = {b: {"on": [], "off": []} for b in builders}
    said: dict[str, str] = {}
    try:
        for builder in builders:
            build(work / "context", builder, f"{tag}-{builder}", True, records)  # the record to compare with
            for run in range(args.runs):
                for explain in ([True, False] if run % 2 == 0 else [False, True]):
                    changing.write_bytes(uuid.uuid4().bytes + changing.read_bytes()[16:])
                    seconds, result = build(work / "context", builder, f"{tag}-{builder}", explain, records)
                    times[builder]["on" if explain else "off"].append(seconds)
                    if explain:
                        said[builder] = result.steps[1].cache_miss or ""
                last = times[builder]
                print(f"{builder} run {run}: on {last['on'][-1]:.2f} s, off {last['off'][-1]:.2f} s", flush=True)
    finally:
        subprocess.run(["docker", "rmi", "-f", *(f"{tag}-{b}" for b in builders)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(records, ignore_errors=True)
    load_after = " ".join(f"{value:.1f}" for value in os.getloadavg())
    med = statistics.median
    rows = []
    for builder in builders:
        on, off = times[builder]["on"], times[builder]["off"]
        ratio = med(a / b for a, b in zip(on, off, strict=True))
        rows.append(f"| {builder} | {med(off):.2f} s | {med(on):.2f} s | {ratio:.2f} | <= 1.10 "
                    f"({'met' if ratio <= 1.10 else '**missed**'}) |")
    raw = "; ".join(f"{b} on {[round(x, 2) for x in times[b]['on']]} off {[round(x, 2) for x in times[b]['off']]}"
                    for b in builders)
    report = f"""## Explaining cache misses: a 500 MB, 10,000-file context (bench/bench_cache_explain.py)

Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, engine: `{engine.describe()}`, {args.runs} runs of each,
alternating which goes first, load average {load_before} before and {load_after} after. The context:
{args.files:,} files of {args.file_bytes:,} bytes ({total / 1e6:.0f} MB) in 100 folders; each build follows a change to
one of them, so `COPY . /ctx` runs. The Dockerfile: `{DOCKERFILE.strip().replace(chr(10), ' / ')}`.

| builder | explanation off | explanation on | ratio (median of adjacent pairs) | target |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

What the COPY step's row said: {"; ".join(f"{b}: “{said.get(b, '')}”" for b in builders)}.
Hashing the whole context once (SHA-256, this machine): {hash_seconds:.2f} s, the most a first build with the
explanation on can add (a file whose size and time are unchanged keeps its earlier digest and is not hashed).

Raw seconds: {raw}
"""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.results).write_text(report)
    print(report)
    return report


if __name__ == "__main__":
    main()
