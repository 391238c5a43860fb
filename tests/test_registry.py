"""Pull, push, login and builds FROM a registry, against the real registries scripts/setup-registry.sh
starts on loopback: 127.0.0.1:5443 (TLS, htpasswd) and 127.0.0.1:5000 (plain HTTP).

Marked engine, not integration: tried on Podman, its service (scripts/setup-podman.sh) runs in a
loopback-only network namespace of its own, where nothing answers on 127.0.0.1:5000 or :5443 ("pinging
container registry 127.0.0.1:5443: ... connection refused"); the TLS engine would need the registry's CA
in its own certs.d as well."""

from __future__ import annotations

import base64
import io
import json
import os
import pathlib
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import dockmagic
from dockmagic.engine import connect
from dockmagic.errors import DockmagicError
from dockmagic.models.transfer import PUSH, TransferProgress
from dockmagic.operations import registry
from dockmagic.operations.replay import replay_build

from .conftest import docker_cli

pytestmark = [pytest.mark.engine]

BASE = pathlib.Path("/var/lib/dockmagic-registry")
TLS = "127.0.0.1:5443"
PLAIN = "127.0.0.1:5000"


def _credentials() -> dict:
    try:
        return json.loads((BASE / "credentials.json").read_text())
    except OSError:
        pytest.skip("no local registries: run scripts/setup-registry.sh as root (scripts/setup.sh does)")


@pytest.fixture(scope="module")
def credentials() -> dict:
    return _credentials()


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """An empty docker config folder of the test's own (DOCKER_CONFIG), so ~/.docker is never touched."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


@pytest.fixture
def logged_in(docker_config, credentials, engine):
    registry.login(TLS, credentials["username"], credentials["password"], engine=engine)
    return docker_config


def tags_in(address: str, name: str, credentials: dict | None = None) -> list[str]:
    """The tags the registry lists for repository ``name`` (none for an unknown repository)."""
    scheme = "https" if address == TLS else "http"
    request = urllib.request.Request(f"{scheme}://{address}/v2/{name}/tags/list")
    if credentials:
        token = base64.b64encode(f"{credentials['username']}:{credentials['password']}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=str(BASE / "ca" / "ca.pem")) if scheme == "https" else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return json.load(answer).get("tags") or []
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


def image_with_random_layer(engine, tag: str, megabytes: int) -> None:
    """A local image: busybox plus a layer of ``megabytes`` random bytes (so no registry has its layers)."""
    dockerfile = f"FROM busybox:latest\nRUN head -c {megabytes * 1000 * 1000} /dev/urandom > /blob\n"
    # nocache: a cached RUN would give the same "random" layer as an earlier test's, already on the engine.
    for message in engine.api.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, decode=True,
                                    nocache=True, network_mode="none"):
        assert "error" not in message, message


def only_in_the_registry(engine, unique_name, cleanup, megabytes: int) -> tuple[str, str]:
    """A new image pushed to the plain registry and removed from the engine: ``(name, reference)``; the
    reference and ``{name}-built:1`` (for a build FROM it) are removed after the test."""
    name = unique_name("dmbase")
    reference = f"{PLAIN}/{name}:1"
    cleanup["images"] += [reference, f"{name}-built:1"]
    image_with_random_layer(engine, reference, megabytes)
    docker_cli("push", reference)
    docker_cli("rmi", reference)
    return name, reference


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_push_then_pull_over_plain_http_shows_each_layer_and_the_bytes(engine, unique_name, cleanup):
    name = unique_name("dmreg")
    reference = f"{PLAIN}/{name}:1"
    cleanup["images"] += [f"{name}:1", reference]
    image_with_random_layer(engine, f"{name}:1", 3)
    engine.tag_image(f"{name}:1", f"{PLAIN}/{name}", "1")

    pushed = registry.push(reference, engine=engine)
    statuses = [layer.status for layer in pushed.progress.layers.values()]
    assert len(statuses) == 2 and "Pushed" in statuses  # busybox's layer: mounted or already there
    assert pushed.progress.moved_bytes >= 3_000_000
    assert pushed.digest.startswith("sha256:")
    assert tags_in(PLAIN, name) == ["1"]
    assert f"1: digest: {pushed.digest}" in str(pushed)

    again = registry.push(reference, engine=engine)
    assert {layer.status for layer in again.progress.layers.values()} == {"Layer already exists"}

    engine.remove_image(reference)
    engine.remove_image(f"{name}:1")
    pulled = registry.pull(reference, engine=engine)
    text = str(pulled)
    assert "Already exists" in text and "Pull complete" in text  # busybox's layer is here, the new one is not
    assert f"Status: Downloaded newer image for {reference}" in text
    assert pulled.progress.moved_bytes >= 3_000_000 and pulled.progress.speed > 0
    assert engine.inspect_image(reference)["RepoDigests"] == [f"{PLAIN}/{name}@{pushed.digest}"]


def test_the_tls_registry_takes_the_credentials_that_docker_login_stored(engine, credentials, docker_config,
                                                                        unique_name, cleanup):
    # `docker login` itself writes the config the pull then reads: dockmagic and the CLI agree.
    done = docker_cli("login", "-u", credentials["username"], "--password-stdin", TLS,
                      input=credentials["password"], env=dict(os.environ, DOCKER_CONFIG=str(docker_config)))
    assert "Login Succeeded" in done.stdout
    reference = f"{TLS}/{unique_name('dmreg')}:1"
    cleanup["images"].append(reference)
    engine.tag_image("busybox:latest", reference.rsplit(":", 1)[0], "1")
    pushed = registry.push(reference, engine=engine)
    assert pushed.digest
    engine.remove_image(reference)
    pulled = registry.pull(f"{TLS}/debian:bookworm", engine=engine)
    cleanup["images"].append(f"{TLS}/debian:bookworm")
    assert pulled.digest and engine.inspect_image(f"{TLS}/debian:bookworm")


def test_wrong_credentials_are_one_sentence_naming_the_user_and_what_to_do(engine, docker_config, credentials):
    (docker_config / "config.json").write_text(json.dumps(
        {"auths": {TLS: {"auth": base64.b64encode(b"dockmagic:wrong").decode()}}}))
    with pytest.raises(registry.RegistryError) as raised:
        registry.pull(f"{TLS}/busybox:latest", engine=engine)
    assert str(raised.value) == (f"The registry at {TLS} refused the credentials for dockmagic: "
                                 f"run %docker_login {TLS}.")
    assert raised.value.reason == "credentials"


def test_an_unknown_image_names_what_was_asked_and_where(engine):
    with pytest.raises(registry.RegistryError) as raised:
        registry.pull(f"{PLAIN}/no-such-image:7", engine=engine)
    message = str(raised.value)
    assert message.startswith(f"The registry at {PLAIN} has no image {PLAIN}/no-such-image:7 (")
    assert message.endswith("check its name and tag.") and raised.value.reason == "unknown image"


@pytest.mark.parametrize("kind", ["pull", "push"])
def test_a_registry_that_is_down_is_one_sentence(engine, kind, cleanup):
    address = f"127.0.0.1:{free_loopback_port()}"
    reference = f"{address}/busybox:latest"
    if kind == "push":
        cleanup["images"].append(reference)
        engine.tag_image("busybox:latest", f"{address}/busybox", "latest")
    with pytest.raises(registry.RegistryError) as raised:
        getattr(registry, kind)(reference, engine=engine)
    message = str(raised.value)
    assert message.startswith(f"Nothing answers at {address} (") and message.endswith("is the registry running?")


def test_docker_login_keeps_the_password_out_of_the_notebook(ipython_shell, settings, docker_config, credentials,
                                                             monkeypatch, capsys, cleanup):
    password = credentials["password"]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": password)
    ipython_shell.run_cell(f"%docker_login {TLS} -u {credentials['username']}", store_history=True)
    ipython_shell.run_cell(f"%docker_pull {TLS}/busybox:latest -o pulled", store_history=True)
    cleanup["images"].append(f"{TLS}/busybox:latest")
    shown = capsys.readouterr()
    assert "Login Succeeded" in shown.out
    assert f"Status: Downloaded newer image for {TLS}/busybox:latest" in shown.out or \
        f"Status: Image is up to date for {TLS}/busybox:latest" in shown.out
    assert password not in shown.out + shown.err
    namespace = ipython_shell.user_ns
    assert namespace["pulled"].digest.startswith("sha256:")
    assert not [name for name, value in namespace.items() if password in repr(value)[:100000]]
    history = [line for _, _, line in ipython_shell.history_manager.get_range()]
    assert history and not [line for line in history if password in line]
    config = docker_config / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert TLS in json.loads(config.read_text())["auths"]


def test_docker_login_with_a_wrong_password_stores_nothing(ipython_shell, settings, docker_config, monkeypatch,
                                                           capsys):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "not-the-password")
    ipython_shell.run_cell(f"%docker_login {TLS} -u dockmagic")
    shown = capsys.readouterr()
    assert f"The registry at {TLS} refused the credentials for dockmagic: run %docker_login {TLS}." in \
        shown.out + shown.err
    assert "not-the-password" not in shown.out + shown.err
    assert not (docker_config / "config.json").exists()


def test_a_legacy_build_from_the_registry_pulls_the_base_in_its_from_step(engine, unique_name, cleanup):
    name, base = only_in_the_registry(engine, unique_name, cleanup, megabytes=2)
    result = dockmagic.build(f"FROM {base}\nRUN test -s /blob\n", tags=[f"{name}-built:1"], network="none",
                             builder="legacy")
    from_step = result.steps[0]
    assert from_step.instruction == f"FROM {base}"
    assert "Pulling from" in from_step.log and "Pull complete" in from_step.log
    assert engine.inspect_image(f"{name}-built:1")


def test_a_buildkit_build_from_a_missing_base_pulls_it_then_builds_once(engine, unique_name, cleanup, tmp_path):
    # The build is sent while its base is looked for; the base is missing, so that first request is cancelled
    # unread, the base pulled through the engine, and the build sent again: one build, as the user sees it.
    name, base = only_in_the_registry(engine, unique_name, cleanup, megabytes=1)
    recording = tmp_path / "build.jsonl"
    result = dockmagic.build(f"FROM {base}\nRUN test -s /blob && echo found-the-blob\n", tags=[f"{name}-built:1"],
                             network="none", builder="buildkit", record=str(recording))
    assert result.ok and result.builder == "buildkit"
    assert result.warnings.count(f"Pulled through the engine before the build: {base}.") == 1
    assert not any("cancel" in warning for warning in result.warnings)
    assert [step.instruction for step in result.steps] == [f"FROM {base}", "RUN test -s /blob && echo found-the-blob"]
    assert "found-the-blob" in result.steps[1].log
    assert engine.inspect_image(f"{name}-built:1")["Id"] == result.image_id
    # The recording holds the build that ran, and its replay ends as it did.
    replayed = replay_build(str(recording))
    assert replayed.state == "done" and replayed.image_id == result.image_id


def test_a_buildkit_build_copying_from_a_private_image_pulls_it_first_with_the_credentials(engine, logged_in,
                                                                                          unique_name, cleanup):
    # COPY --from=image is pulled through the engine, with the stored credentials, as a FROM image is: BuildKit
    # alone would ask the build session for them, and a Dockerfile-only build has none.
    name = unique_name("dmcopyfrom")
    source = f"{TLS}/{name}:1"
    cleanup["images"] += [source, f"{name}-built:1"]
    engine.tag_image("busybox:latest", f"{TLS}/{name}", "1")
    registry.push(source, engine=engine)
    engine.remove_image(source)
    dockerfile = f"FROM busybox\nCOPY --from={source} /bin/busybox /copied\nRUN test -s /copied && echo copied\n"
    result = dockmagic.build(dockerfile, tags=[f"{name}-built:1"], network="none", builder="buildkit", no_cache=True)
    assert result.ok, result.error
    assert f"Pulled through the engine before the build: {source}." in result.warnings
    assert "copied" in result.steps[-1].log
    assert engine.inspect_image(source)


def test_a_missing_base_is_pulled_with_the_stored_credentials_before_a_buildkit_build(engine, logged_in,
                                                                                     unique_name, cleanup):
    name = unique_name("dmbase")
    base = f"{TLS}/{name}:1"
    cleanup["images"].append(base)
    engine.tag_image("busybox:latest", f"{TLS}/{name}", "1")
    registry.push(base, engine=engine)
    engine.remove_image(base)
    lines: list[str] = []
    assert registry.pull_missing_base(engine, base, lines.append) is True
    assert any(line.startswith("Status: Downloaded newer image for") for line in lines)
    assert registry.pull_missing_base(engine, base, lines.append) is False  # there now: nothing is sent


def test_a_registry_stopped_mid_push_is_a_clear_error_and_leaves_no_tag(engine, unique_name, cleanup, tmp_path):
    if not shutil.which("docker-registry"):
        pytest.skip("Debian's docker-registry is not installed: run scripts/setup-registry.sh")
    port = free_loopback_port()
    address = f"127.0.0.1:{port}"
    storage = tmp_path / "storage"
    config = tmp_path / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                      f"http:\n  addr: {address}\n")

    def start() -> subprocess.Popen:
        process = subprocess.Popen(["docker-registry", "serve", str(config)], cwd="/",
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
                return process
            except OSError:
                time.sleep(0.1)
        process.kill()
        pytest.fail(f"the throwaway registry did not answer at {address}")

    name = unique_name("dmfault")
    reference = f"{address}/{name}:1"
    cleanup["images"].append(reference)
    image_with_random_layer(engine, reference, 50)
    server = start()
    stopped = threading.Event()

    def stop_once_bytes_move(progress: TransferProgress) -> None:
        if not stopped.is_set() and progress.moved_bytes > 1_000_000:
            stopped.set()
            server.send_signal(signal.SIGKILL)

    progress = TransferProgress(PUSH, reference)
    progress.subscribe(stop_once_bytes_move)
    try:
        with pytest.raises(DockmagicError) as raised:
            registry.push(reference, engine=engine, progress=progress)
        assert stopped.is_set(), "the push ended before the registry was stopped"
        assert str(raised.value).startswith(f"The registry at {address} stopped answering during the push of "
                                            f"{reference} (")
        assert "it holds no tag for it" in str(raised.value)
        assert progress.error == str(raised.value)
    finally:
        server.kill()
        server.wait()
    server = start()  # the same storage: what the registry kept of the cut push
    try:
        assert tags_in(address, name) == []
    finally:
        server.kill()
        server.wait()


def test_a_legacy_build_from_the_tls_registry_uses_a_docker_login_made_after_connecting(engine, docker_config,
                                                                               credentials, unique_name, cleanup):
    name = unique_name("dmbase")
    base = f"{TLS}/{name}:1"
    cleanup["images"] += [base, f"{name}-built:1"]
    image_with_random_layer(engine, base, 1)
    # A config.json that already holds another registry's credential when the kernel connects...
    (docker_config / "config.json").write_text(json.dumps({"auths": {"registry.example": {"auth": "eDp5"}}}))
    connected = connect()
    # ...then a `docker login` in a terminal: the build must send the credential it stored since.
    docker_cli("login", "-u", credentials["username"], "--password-stdin", TLS,
               input=credentials["password"], env=dict(os.environ, DOCKER_CONFIG=str(docker_config)))
    registry.push(base, engine=connected)
    connected.remove_image(base)
    result = dockmagic.build(f"FROM {base}\nRUN test -s /blob\n", tags=[f"{name}-built:1"], network="none",
                             engine=connected, builder="legacy")
    assert "Pull complete" in result.steps[0].log
