"""Record build streams from a real engine, as fixtures for the build-stream parser tests.

Usage (from the repository root, with the project's venv):

    .venv/bin/python tests/streams/record.py unix:///var/run/docker.sock tests/streams/docker
    .venv/bin/python tests/streams/record.py unix:///run/podman/podman.sock tests/streams/podman
    .venv/bin/python tests/streams/record.py ADDRESS FOLDER three_steps failing_run   # only some scenarios

Each scenario is one build through docker-py's low-level client (``APIClient.build`` with ``decode=True``).
Its events are written to ``FOLDER/<scenario>.jsonl``, one JSON object per line, exactly as decoded from the
engine: nothing is added, dropped, merged or reshaped. A build the engine rejects with an HTTP error (before
or during the stream) ends its file with one line ``{"error": <the engine's message>, "http_status": <code>}``;
that line is the only one the script writes itself. ``FOLDER/engine.json`` holds the engine's ``version()``
answer, so a fixture can be traced to the engine that produced it.

The images and tags the builds create are removed at the end; images that existed before the run (the
base images, and anything a cached step reused) are left alone.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

TAG_PREFIX = "dmrec-"

THREE_STEPS = """\
FROM busybox
RUN echo hello && echo oops >&2
CMD ["echo","hi"]
"""

MULTISTAGE = """\
FROM busybox AS base
RUN echo made-in-base > /base.txt
FROM busybox
COPY --from=base /base.txt /copied.txt
CMD ["cat","/copied.txt"]
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    dockerfile: str
    files: dict[str, str] = field(default_factory=dict)  # other context files: name -> content
    options: dict = field(default_factory=dict)  # extra keyword arguments for APIClient.build

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.name.replace("_", "-")


SCENARIOS: list[Scenario] = [
    Scenario("three_steps", THREE_STEPS, options={"nocache": True}),
    # Same Dockerfile right after three_steps: every step comes from the cache.
    Scenario("three_steps_cached", THREE_STEPS),
    Scenario("failing_run", "FROM busybox\nRUN echo before; exit 3\n", options={"nocache": True}),
    Scenario("multistage", MULTISTAGE, options={"nocache": True}),
    Scenario("multistage_target", MULTISTAGE, options={"nocache": True, "target": "base"}),
    Scenario(
        "build_arg",
        "ARG GREETING\nFROM busybox\nARG GREETING\nRUN echo $GREETING\n",
        options={"nocache": True, "buildargs": {"GREETING": "ciao"}},
    ),
    Scenario("many_lines", "FROM busybox\nRUN seq 1 2000\n", options={"nocache": True}),
    # No registry is reachable: the pull of the base fails.
    Scenario("missing_base", "FROM dmrec-no-such-image:1\nRUN true\n"),
    Scenario("unknown_instruction", "FROM busybox\nFOO bar\n"),
    Scenario(
        "multiline_run",
        "FROM busybox\nRUN echo first \\\n    && echo second\n",
        options={"nocache": True},
    ),
    Scenario(
        "context_copy",
        "FROM busybox\nCOPY data.txt /data.txt\n",
        files={"data.txt": "hello from the build context\n"},
        options={"nocache": True},
    ),
]


def context_tar(scenario: Scenario) -> io.BytesIO:
    """An uncompressed tar holding the Dockerfile and the scenario's other files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in {"Dockerfile": scenario.dockerfile, **scenario.files}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def run_build(client: docker.APIClient, scenario: Scenario) -> list[dict]:
    """The decoded events of one build, as received; an HTTP error from the engine becomes a last
    {"error", "http_status"} entry."""
    events: list[dict] = []
    try:
        stream = client.build(
            fileobj=context_tar(scenario),
            custom_context=True,
            decode=True,
            rm=True,
            forcerm=True,
            tag=scenario.tag,
            **scenario.options,
        )
        for event in stream:
            events.append(event)
    except docker.errors.APIError as exc:
        events.append({"error": exc.explanation, "http_status": exc.status_code})
    return events


# Image ids a stream names: Docker's " ---> <12 hex>" and {"aux": {"ID": ...}}, Podman's "--> <11 hex>",
# "--> Using cache <64 hex>" and bare full-id lines, and both engines' "Successfully built <12 hex>".
_ID_IN_TEXT = re.compile(
    r"(?:--->|-->)\s+(?:Using cache\s+)?([0-9a-f]{11,64})\b|^([0-9a-f]{64})$|Successfully built ([0-9a-f]{11,64})",
    re.MULTILINE,
)


def ids_named(events: list[dict]) -> set[str]:
    found: set[str] = set()
    for event in events:
        text = event.get("stream")
        if isinstance(text, str):
            for match in _ID_IN_TEXT.finditer(text):
                found.add(next(g for g in match.groups() if g))
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            found.add(aux["ID"].removeprefix("sha256:"))
    return found


def all_image_ids(client: docker.APIClient) -> set[str]:
    return {i.removeprefix("sha256:") for i in client.images(all=True, quiet=True)}


def clean_up(client: docker.APIClient, tags: list[str], candidate_ids: set[str], before: set[str]) -> None:
    """Remove our tags, then the images our builds made: named in their streams (often by a short id),
    present now, absent before the run."""
    for tag in tags:
        try:
            client.remove_image(tag)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            print(f"record: could not remove {tag}: {exc.explanation}", file=sys.stderr)

    def ours_now() -> set[str]:
        return {
            full
            for full in all_image_ids(client) - before
            if any(full.startswith(short) for short in candidate_ids)
        }

    # An image can be the parent of another of ours: go round until nothing more goes. Remove by full id
    # only (Podman's compat API answers 500, not 404, for a 64-hex id it does not hold).
    left = ours_now()
    while left:
        for image_id in sorted(left):
            try:
                client.remove_image(image_id)
            except docker.errors.APIError:
                pass
        still = ours_now()
        if still >= left:
            print(f"record: could not remove images: {sorted(still)}", file=sys.stderr)
            break
        left = still


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="engine address, e.g. unix:///var/run/docker.sock")
    parser.add_argument("folder", type=Path, help="where to write <scenario>.jsonl")
    parser.add_argument("scenarios", nargs="*", help="only these scenarios (default: all, in order)")
    args = parser.parse_args(argv)

    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in args.scenarios if n not in known]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [s for s in SCENARIOS if not args.scenarios or s.name in args.scenarios]

    client = docker.APIClient(base_url=args.address, timeout=600)
    args.folder.mkdir(parents=True, exist_ok=True)
    (args.folder / "engine.json").write_text(json.dumps(client.version(), indent=2, sort_keys=True) + "\n")

    before = all_image_ids(client)
    named: set[str] = set()
    try:
        for scenario in chosen:
            events = run_build(client, scenario)
            named |= ids_named(events)
            out = args.folder / f"{scenario.name}.jsonl"
            with out.open("w", encoding="utf-8") as fh:
                for event in events:
                    fh.write(json.dumps(event, ensure_ascii=False) + "\n")
            last = events[-1] if events else {}
            outcome = "error" if "error" in last or "errorDetail" in last else "ok"
            print(f"record: {scenario.name}: {len(events)} events, last one {outcome} -> {out}")
    finally:
        clean_up(client, [s.tag for s in chosen], named, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
