"""How long ``%docker_pull`` and ``%docker_push`` take for a ~200 MB image, against ``docker pull`` and
``docker push`` on the same registry, in the same run.

The image is busybox plus one layer of 200 MB of random data (it does not compress: the engine gzips it
on push, as it would a real layer). The registry is Debian's docker-registry on a loopback port of its
own, plain HTTP, started here; its storage is emptied before every push, so that each push sends every
byte, and each pull starts with the image removed from the engine, so that each pull downloads and
extracts every byte. CLI and dockmagic alternate (which goes first alternates too), several times each,
and the median of each run's ratio is the figure (target: ratio <= 1.10 each); docker-py reading the same stream and
nothing else is timed beside them, as the API's floor. dockmagic's figure is what the magics do:
connect, read the credentials, stream the progress into the model and the live widget's state.
Prints a markdown section and writes it to bench/results/registry.md. The registry and the images are
removed at the end, whatever happens.

Usage: .venv/bin/python bench/bench_registry.py [--runs N] [--megabytes N]
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockmagic.engine import connect  # noqa: E402
from dockmagic.models.transfer import PULL, PUSH, TransferProgress  # noqa: E402
from dockmagic.operations import registry  # noqa: E402
from dockmagic.views.transfer_view import LiveTransferView  # noqa: E402


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def dockmagic_transfer(kind: str, reference: str) -> None:
    progress = TransferProgress(kind, reference)
    view = LiveTransferView(progress)
    (registry.pull if kind == PULL else registry.push)(reference, engine=connect(), progress=progress)
    view.close()


class ThrowawayRegistry:
    """docker-registry on a free loopback port, plain HTTP, its storage in a temporary folder."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{probe.getsockname()[1]}"
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="dmbench-registry-"))
        self.storage = self.folder / "storage"
        config = self.folder / "registry.yml"
        config.write_text(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n"
                          f"  filesystem:\n    rootdirectory: {self.storage}\nhttp:\n  addr: {self.address}\n")
        self.process = subprocess.Popen(["docker-registry", "serve", str(config)], cwd="/",
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise SystemExit(f"the registry did not answer at {self.address}")

    def empty(self) -> None:
        shutil.rmtree(self.storage, ignore_errors=True)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    if not shutil.which("docker-registry"):
        print("docker-registry is missing: run scripts/setup-registry.sh", file=sys.stderr)
        return 1

    engine = connect()
    load_before = " ".join(f"{value:.1f}" for value in os.getloadavg())
    server = ThrowawayRegistry()
    reference = f"{server.address}/dmbench-{uuid.uuid4().hex[:10]}:1"
    try:
        dockerfile = f"FROM busybox:latest\nRUN head -c {args.megabytes * 1000 * 1000} /dev/urandom > /blob\n"
        for message in engine.api.build(fileobj=io.BytesIO(dockerfile.encode()), tag=reference, rm=True,
                                        decode=True, network_mode="none"):
            if "error" in message:
                raise SystemExit(message["error"])

        def cli_push():
            server.empty()
            return timed(lambda: docker("push", reference))

        def dockmagic_push():
            server.empty()
            return timed(lambda: dockmagic_transfer(PUSH, reference))

        def raw_push():  # docker-py reading the stream and nothing else: the API's own floor
            server.empty()
            return timed(lambda: [None for _ in engine.push_image(reference)])

        def raw_pull():
            docker("rmi", reference)
            return timed(lambda: [None for _ in engine.pull_image(reference)])

        def cli_pull():
            docker("rmi", reference)
            return timed(lambda: docker("pull", reference))

        def dockmagic_pull():
            docker("rmi", reference)
            return timed(lambda: dockmagic_transfer(PULL, reference))

        times = {name: [] for name in ("cli push", "dockmagic push", "docker-py push", "cli pull",
                                       "dockmagic pull", "docker-py pull")}
        for run in range(args.runs):
            pushes = [("cli push", cli_push), ("dockmagic push", dockmagic_push), ("docker-py push", raw_push)]
            pulls = [("cli pull", cli_pull), ("dockmagic pull", dockmagic_pull), ("docker-py pull", raw_pull)]
            if run % 2:
                pushes.reverse()
                pulls.reverse()
            for name, action in pushes + pulls:  # the pulls find the image the last push sent
                times[name].append(action())
                print(f"run {run + 1}: {name} {times[name][-1]:.2f} s", flush=True)
    finally:
        subprocess.run(["docker", "rmi", "-f", reference], capture_output=True)
        server.close()

    load_after = " ".join(f"{value:.1f}" for value in os.getloadavg())
    medians = {name: statistics.median(values) for name, values in times.items()}
    # The ratio of each run's pair (timed one after the other, under the same load), then their median:
    # on a machine others share, the load drifts between runs far more than between the two of a pair.
    push_ratio = statistics.median(d / c for d, c in zip(times["dockmagic push"], times["cli push"], strict=True))
    pull_ratio = statistics.median(d / c for d, c in zip(times["dockmagic pull"], times["cli pull"], strict=True))

    def cell(values):
        return ", ".join(f"{value:.2f}" for value in values)

    section = (
        "## `%docker_pull` / `%docker_push` vs `docker pull` / `docker push` (bench/bench_registry.py)\n\n"
        f"A {args.megabytes} MB image (busybox plus a layer of random data) through Debian's docker-registry "
        "on loopback (plain HTTP, emptied before each push; the image removed before each pull), "
        f"{args.runs} runs each, alternating. Ratio: the median of each run's dockmagic/CLI ratio (the two "
        f"timed one after the other). Target: ratio <= 1.10 each. Load average at the start: {load_before}, "
        f"at the end: {load_after} (on {os.cpu_count()} cores).\n\n"
        "| work | docker CLI median (runs) | dockmagic median (runs) | ratio (median of runs) | "
        "docker-py alone (median) |\n"
        "| --- | --- | --- | --- | --- |\n"
        f"| push | {medians['cli push']:.2f} s ({cell(times['cli push'])}) | "
        f"{medians['dockmagic push']:.2f} s ({cell(times['dockmagic push'])}) | {push_ratio:.3f} | "
        f"{medians['docker-py push']:.2f} s |\n"
        f"| pull | {medians['cli pull']:.2f} s ({cell(times['cli pull'])}) | "
        f"{medians['dockmagic pull']:.2f} s ({cell(times['dockmagic pull'])}) | {pull_ratio:.3f} | "
        f"{medians['docker-py pull']:.2f} s |\n\n"
        "docker-py alone: the same request through docker-py, its stream read and dropped (no model, no "
        "view): the API's floor, to tell dockmagic's overhead from the difference between the API and the "
        "CLI. Parsing, the model and the throttled widget cost about 3 µs a progress message.\n\n"
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}.\n"
    )
    print(section)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "registry.md").write_text(section)
    return 0 if push_ratio <= 1.10 and pull_ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
