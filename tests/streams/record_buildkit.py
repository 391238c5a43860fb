"""Record BuildKit build streams from a real Docker Engine, as fixtures for the BuildKit parser, model and
view tests.

Usage (from the repository root, with the project's venv):

    .venv/bin/python tests/streams/record_buildkit.py unix:///var/run/docker.sock tests/streams/buildkit
    .venv/bin/python tests/streams/record_buildkit.py ADDRESS FOLDER simple failing_run   # only some

Each scenario is one ``POST /build?version=2`` (the engine's own BuildKit, no client session) with the
context tar as the body, ``networkmode=host`` (an engine started with ``--bridge=none`` fails every RUN
otherwise) and ``pull=0`` (only local base images: busybox:latest, debian:bookworm). docker-py has no call
for it, so its low-level client posts the request and decodes the JSON lines. They are written to
``FOLDER/<scenario>.jsonl`` exactly as decoded; a build the engine rejects with an HTTP error ends its file
with one line ``{"error": <message>, "http_status": <code>}``, the only line the script writes itself.
``FOLDER/scenarios.json`` holds each scenario's Dockerfile and build options (the model tests need the
Dockerfile), ``FOLDER/engine.json`` the engine's ``version()`` answer.

The ``cancelled`` scenario passes ``buildid`` and, once its ``sleep`` step has started, posts
``/build/cancel?id=`` from a second client.

The tags the builds create are removed at the end (BuildKit leaves no intermediate images).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import uuid
from dataclasses import asdict
from pathlib import Path

import docker
import docker.errors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import Scenario, context_tar

SIMPLE = """\
FROM busybox
RUN echo hello && echo oops >&2
CMD ["echo","hi"]
"""

PARALLEL = """\
FROM busybox AS left
RUN sleep 3 && echo left > /left.txt

FROM busybox AS right
RUN sleep 3 && echo right > /right.txt

FROM busybox
COPY --from=left /left.txt /left.txt
COPY --from=right /right.txt /right.txt
RUN cat /left.txt /right.txt
"""

TARGET = """\
FROM busybox AS tools
RUN echo tools > /tools.txt

FROM busybox AS unused
RUN echo never-built

FROM tools AS final
RUN cat /tools.txt
"""

SCENARIOS: list[Scenario] = [
    Scenario("simple", SIMPLE, options={"nocache": True}),
    # Same Dockerfile right after simple: every step comes from the cache.
    Scenario("simple_cached", SIMPLE),
    Scenario("parallel_stages", PARALLEL, options={"nocache": True}),
    Scenario(
        "cache_mount",
        "FROM busybox\nRUN --mount=type=cache,target=/cache date >> /cache/runs && wc -l /cache/runs\n",
        options={"nocache": True},
    ),
    Scenario(
        "bind_mount",
        "FROM busybox AS src\nRUN echo from-src > /data.txt\n\n"
        "FROM busybox\nRUN --mount=type=bind,from=src,target=/src cat /src/data.txt\n",
        options={"nocache": True},
    ),
    Scenario(
        "copy_chmod",
        "FROM busybox\nCOPY --chmod=755 hello.sh /hello.sh\nRUN ls -l /hello.sh && /hello.sh\n",
        files={"hello.sh": "#!/bin/sh\necho hello from the script\n"},
        options={"nocache": True},
    ),
    Scenario("targetarch", "FROM busybox\nARG TARGETARCH\nRUN echo arch=$TARGETARCH\n", options={"nocache": True}),
    Scenario(
        "failing_run",
        "FROM busybox\nRUN echo before\nRUN echo some output; echo bad thing happened >&2; exit 3\nRUN echo never\n",
        options={"nocache": True},
    ),
    # Both are clipped by the engine's log limit (on Engine 20.10: "[output clipped, log limit 200KiB/s
    # reached]" after 200 KiB of a fast printer), so the files stay under 300 KB.
    Scenario("many_lines", "FROM busybox\nRUN seq 1 200000\n", options={"nocache": True}),
    Scenario("million_lines", "FROM busybox\nRUN seq 1 1000000\n", options={"nocache": True}),
    # A printer under the rate limit, 1,080,000 bytes in all (more than 1 MiB): on Engine 20.10 it is not clipped.
    Scenario(
        "slow_printer",
        "FROM busybox\nRUN for i in 1 2 3 4 5 6; do seq 100000 140000 | head -c 180000; sleep 1; done\n",
        options={"nocache": True},
    ),
    # Engine 20.10's BuildKit refuses a stage name with capitals ("repository name must be lowercase").
    Scenario("stage_name_case", "FROM busybox AS Tools\nRUN echo t > /t\n\nFROM Tools\nRUN cat /t\n",
             options={"nocache": True}),
    Scenario("target_skip", TARGET, options={"nocache": True, "target": "final"}),
    Scenario("heredoc", "FROM busybox\nRUN <<EOF\necho from a heredoc\nEOF\n", options={"nocache": True}),
    Scenario(
        "secret_mount",
        "FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token\n",
        options={"nocache": True},
    ),
    Scenario("syntax_line", "# syntax=docker/dockerfile:1\nFROM busybox\nRUN echo hi\n", options={"nocache": True}),
    Scenario(
        "debian_steps",
        "FROM debian:bookworm\nWORKDIR /app\nENV GREETING=hello\nRUN echo $GREETING from $(cat /etc/debian_version)\n",
        options={"nocache": True},
    ),
    Scenario(
        "cancelled",
        "FROM busybox\nRUN echo starting; sleep 30; echo never\n",
        options={"nocache": True},
    ),
]

def tag_of(scenario: Scenario) -> str:
    """Not the legacy recorder's tag: both can run without removing each other's images."""
    return "dmrec-bk-" + scenario.name.replace("_", "-")


def build_params(scenario: Scenario, build_id: str | None) -> dict:
    params = {"version": "2", "t": tag_of(scenario), "networkmode": "host", "pull": "0", "rm": "1", "forcerm": "1"}
    options = scenario.options
    if options.get("nocache"):
        params["nocache"] = "1"
    if options.get("target"):
        params["target"] = options["target"]
    if options.get("buildargs"):
        params["buildargs"] = json.dumps(options["buildargs"])
    if build_id:
        params["buildid"] = build_id
    return params


def _started_sleep(event: dict) -> bool:
    """Whether a trace message reports a started vertex whose name mentions ``sleep`` (a crude look at the
    raw protobuf bytes: the recorder must not depend on the decoder it records fixtures for)."""
    if event.get("id") != "moby.buildkit.trace" or not isinstance(event.get("aux"), str):
        return False
    raw = base64.b64decode(event["aux"])
    return b"sleep 30" in raw and b"\x2a" in raw  # field 5 (started) of a Vertex is tag 0x2a


def run_build(client: docker.APIClient, scenario: Scenario, address: str) -> list[dict]:
    """The decoded events of one build, as received; an HTTP error from the engine becomes a last
    {"error", "http_status"} entry."""
    build_id = uuid.uuid4().hex if scenario.name == "cancelled" else None
    events: list[dict] = []
    cancelled = threading.Event()
    try:
        response = client._post(
            client._url("/build"),
            params=build_params(scenario, build_id),
            data=context_tar(scenario),
            headers={"Content-Type": "application/x-tar"},
            stream=True,
            timeout=None,
        )
        client._raise_for_status(response)
        for event in client._stream_helper(response, decode=True):
            events.append(event)
            if build_id and not cancelled.is_set() and _started_sleep(event):
                cancelled.set()
                canceller = docker.APIClient(base_url=address)
                canceller._raise_for_status(canceller._post(canceller._url("/build/cancel"), params={"id": build_id}))
    except docker.errors.APIError as exc:
        events.append({"error": exc.explanation, "http_status": exc.status_code})
    return events


def clean_up(client: docker.APIClient, tags: list[str], image_ids: set[str]) -> None:
    for name in [*tags, *sorted(image_ids)]:
        try:
            client.remove_image(name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            print(f"record: could not remove {name}: {exc.explanation}", file=sys.stderr)


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
    chosen = [known[n] for n in args.scenarios] if args.scenarios else SCENARIOS

    client = docker.APIClient(base_url=args.address, timeout=600)
    args.folder.mkdir(parents=True, exist_ok=True)
    (args.folder / "engine.json").write_text(json.dumps(client.version(), indent=2, sort_keys=True) + "\n")
    index_path = args.folder / "scenarios.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}

    before = {i for i in client.images(all=True, quiet=True)}
    made: set[str] = set()
    try:
        for scenario in chosen:
            events = run_build(client, scenario, args.address)
            for event in events:
                aux = event.get("aux")
                if event.get("id") == "moby.image.id" and isinstance(aux, dict) and aux.get("ID") not in before:
                    made.add(aux["ID"])
            out = args.folder / f"{scenario.name}.jsonl"
            with out.open("w", encoding="utf-8") as fh:
                for event in events:
                    fh.write(json.dumps(event, ensure_ascii=False) + "\n")
            index[scenario.name] = asdict(scenario)
            last = events[-1] if events else {}
            outcome = "error" if "error" in last or "errorDetail" in last else "ok"
            print(f"record: {scenario.name}: {len(events)} events, last one {outcome} -> {out}")
    finally:
        clean_up(client, [tag_of(s) for s in chosen], made)
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
