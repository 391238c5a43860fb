"""Run every benchmark against the same engine and write docs/benchmarks.md from their results.

Usage: python bench/run_all.py [SCRIPT ...] (or --collect: run nothing, only write the page)
Each benchmark compares dockmagic with the docker CLI on the same engine in one run and writes its own
section to bench/results/; this script runs them one after the other (or only the SCRIPTs named, e.g.
bench_buildkit.py) and puts every section found in bench/results/ together.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time

BENCH = pathlib.Path(__file__).resolve().parent
DOCS = BENCH.parent / "docs" / "benchmarks.md"
BENCHMARKS = [("bench_build.py", "build.md"), ("bench_buildkit.py", "buildkit.md"), ("bench_run.py", "run.md"),
              ("bench_diff.py", "diff.md"), ("bench_registry.py", "registry.md"),
              ("bench_image_diff.py", "image_diff.md"), ("bench_cache_explain.py", "cache_explain.md")]


def main() -> int:
    failed = []
    chosen = sys.argv[1:] or [script for script, _ in BENCHMARKS]
    if chosen == ["--collect"]:
        chosen = []
    for script in chosen:
        print(f"running {script} ...", flush=True)
        if subprocess.run([sys.executable, str(BENCH / script)], cwd=BENCH.parent).returncode != 0:
            failed.append(script)
    # Each benchmark's section, then its variants (bench/results/NAME-*.md: the same script run otherwise).
    sections = [path.read_text() for _, result in BENCHMARKS
                for path in sorted((BENCH / "results").glob(result)) + sorted(
                    (BENCH / "results").glob(result.replace(".md", "-*.md")))]
    machine = subprocess.run(["sh", "-c", "nproc; free -g | awk '/Mem/ {print $2}'"], capture_output=True,
                             text=True).stdout.split()
    header = (
        "# Benchmarks\n\n"
        "Every figure is a ratio against the docker CLI on the same engine (for BuildKit, which this CLI cannot "
        "use, against the same request read raw by docker-py), measured in the same run "
        "(`python bench/run_all.py` writes this page). The engine's own time is the floor; what is above it "
        "is dockmagic's overhead. Targets come from the project's issues.\n\n"
        f"Machine: {machine[0] if machine else '?'} cores, {machine[1] if len(machine) > 1 else '?'} GiB, "
        f"written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
    )
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(header + "\n".join(sections))
    print(f"wrote {DOCS}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
