"""Records the engine's pull and push streams from the loopback registries (scripts/setup-registry.sh) into
tests/streams/registry/: run from the repository root, as root, with the main engine up."""
import json, docker, os, sys
api = docker.APIClient(base_url="unix:///var/run/docker.sock")
creds = json.load(open("/var/lib/dockmagic-registry/credentials.json"))
auth = {"username": creds["username"], "password": creds["password"]}
out = "tests/streams/registry/"
def rec(name, it):
    msgs = list(it)
    with open(out + name + ".jsonl", "w") as f:
        for m in msgs: f.write(json.dumps(m) + "\n")
    print(name, len(msgs), msgs[-1])
# an image with a 20 MB layer of random data
import io, tarfile
df = b"FROM busybox:latest\nRUN head -c 20000000 /dev/urandom > /blob\n"
for _ in api.build(fileobj=io.BytesIO(df), tag="dockmagic-rec:1", rm=True, decode=True, network_mode="none"): pass
for port, a in ((5000, None), (5443, auth)):
    ref = f"127.0.0.1:{port}/dockmagic-rec"
    api.tag("dockmagic-rec:1", ref, "1")
    rec(f"push-new-{port}", api.push(ref, "1", stream=True, decode=True, auth_config=a))
    rec(f"push-again-{port}", api.push(ref, "1", stream=True, decode=True, auth_config=a))
    api.remove_image(ref + ":1")
api.remove_image("dockmagic-rec:1")
for port, a in ((5000, None), (5443, auth)):
    ref = f"127.0.0.1:{port}/dockmagic-rec"
    rec(f"pull-new-{port}", api.pull(ref, "1", stream=True, decode=True, auth_config=a))
    rec(f"pull-again-{port}", api.pull(ref, "1", stream=True, decode=True, auth_config=a))
    api.remove_image(ref + ":1")
rec("pull-layers-exist-5000", api.pull("127.0.0.1:5000/debian", "bookworm", stream=True, decode=True))
api.remove_image("127.0.0.1:5000/debian:bookworm")
def err(name, f):
    try:
        rec(name, f())
    except docker.errors.APIError as e:
        print(name, "APIError", e.status_code, e.explanation)
        json.dump({"status_code": e.status_code, "explanation": e.explanation}, open(out + name + ".error.json", "w"))
err("pull-unknown-5000", lambda: api.pull("127.0.0.1:5000/nosuch", "1", stream=True, decode=True))
err("pull-unknown-tag-5000", lambda: api.pull("127.0.0.1:5000/busybox", "nosuch", stream=True, decode=True))
err("pull-wrong-credentials-5443", lambda: api.pull("127.0.0.1:5443/busybox", "latest", stream=True, decode=True, auth_config={"username": "dockmagic", "password": "wrong"}))
err("pull-no-credentials-5443", lambda: api.pull("127.0.0.1:5443/busybox", "latest", stream=True, decode=True, auth_config={}))
err("pull-down-5999", lambda: api.pull("127.0.0.1:5999/busybox", "latest", stream=True, decode=True))
api.tag("busybox:latest", "127.0.0.1:5443/rec-busybox", "1")
err("push-wrong-credentials-5443", lambda: api.push("127.0.0.1:5443/rec-busybox", "1", stream=True, decode=True, auth_config={"username": "dockmagic", "password": "wrong"}))
api.remove_image("127.0.0.1:5443/rec-busybox:1")
api.tag("busybox:latest", "127.0.0.1:5999/rec-busybox", "1")
err("push-down-5999", lambda: api.push("127.0.0.1:5999/rec-busybox", "1", stream=True, decode=True))
api.remove_image("127.0.0.1:5999/rec-busybox:1")
err("push-unknown-local", lambda: api.push("127.0.0.1:5000/nosuch-local", "1", stream=True, decode=True))
