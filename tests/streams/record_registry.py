"""Records the engine's pull and push streams from the loopback registries (scripts/setup-registry.sh) into
tests/streams/registry/: run from the repository root, as root, with the main engine up.

NAME.jsonl holds a stream's decoded messages; NAME.error.json the refusal the engine answered instead."""

import io
import json

import docker

OUT = "tests/streams/registry/"
api = docker.APIClient(base_url="unix:///var/run/docker.sock")
credentials = json.load(open("/var/lib/dockmagic-registry/credentials.json"))
auth = {"username": credentials["username"], "password": credentials["password"]}
wrong = {"username": credentials["username"], "password": "wrong"}


def record(name, messages):
    messages = list(messages)
    with open(OUT + name + ".jsonl", "w") as handle:
        for message in messages:
            handle.write(json.dumps(message) + "\n")
    print(name, len(messages), messages[-1])


def record_refusal(name, call):
    try:
        record(name, call())
    except docker.errors.APIError as error:
        print(name, "refused", error.status_code, error.explanation)
        with open(OUT + name + ".error.json", "w") as handle:
            json.dump({"status_code": error.status_code, "explanation": error.explanation}, handle)


def pull(reference, tag, auth_config=None):
    return api.pull(reference, tag, stream=True, decode=True, auth_config=auth_config)


def push(reference, tag, auth_config=None):
    return api.push(reference, tag, stream=True, decode=True, auth_config=auth_config)


# An image with a 20 MB layer of random data, that no registry holds yet.
dockerfile = b"FROM busybox:latest\nRUN head -c 20000000 /dev/urandom > /blob\n"
for _ in api.build(fileobj=io.BytesIO(dockerfile), tag="dockmagic-rec:1", rm=True, decode=True, network_mode="none"):
    pass
for port, credential in ((5000, None), (5443, auth)):
    reference = f"127.0.0.1:{port}/dockmagic-rec"
    api.tag("dockmagic-rec:1", reference, "1")
    record(f"push-new-{port}", push(reference, "1", credential))
    record(f"push-again-{port}", push(reference, "1", credential))
    api.remove_image(reference + ":1")
api.remove_image("dockmagic-rec:1")
for port, credential in ((5000, None), (5443, auth)):
    reference = f"127.0.0.1:{port}/dockmagic-rec"
    record(f"pull-new-{port}", pull(reference, "1", credential))
    record(f"pull-again-{port}", pull(reference, "1", credential))
    api.remove_image(reference + ":1")
record("pull-layers-exist-5000", pull("127.0.0.1:5000/debian", "bookworm"))
api.remove_image("127.0.0.1:5000/debian:bookworm")

record_refusal("pull-unknown-5000", lambda: pull("127.0.0.1:5000/nosuch", "1"))
record_refusal("pull-unknown-tag-5000", lambda: pull("127.0.0.1:5000/busybox", "nosuch"))
record_refusal("pull-wrong-credentials-5443", lambda: pull("127.0.0.1:5443/busybox", "latest", wrong))
record_refusal("pull-no-credentials-5443", lambda: pull("127.0.0.1:5443/busybox", "latest", {}))
record_refusal("pull-down-5999", lambda: pull("127.0.0.1:5999/busybox", "latest"))
api.tag("busybox:latest", "127.0.0.1:5443/rec-busybox", "1")
record_refusal("push-wrong-credentials-5443", lambda: push("127.0.0.1:5443/rec-busybox", "1", wrong))
api.remove_image("127.0.0.1:5443/rec-busybox:1")
api.tag("busybox:latest", "127.0.0.1:5999/rec-busybox", "1")
record_refusal("push-down-5999", lambda: push("127.0.0.1:5999/rec-busybox", "1"))
api.remove_image("127.0.0.1:5999/rec-busybox:1")
record_refusal("push-unknown-local", lambda: push("127.0.0.1:5000/nosuch-local", "1"))
