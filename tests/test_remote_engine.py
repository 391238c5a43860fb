"""A remote Docker Engine reached over TLS (tcp://127.0.0.1:2376, scripts/setup-tls-engine.sh), for real:
what a user sees when the certificates are wrong or TLS is missing, that %config DockMagic.docker_host
chooses it, and that a build there shows that engine's address and lands there, not on the local one."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

import dockmagic
from dockmagic import EngineUnavailable
from dockmagic.engine import connect, is_on_this_machine

pytestmark = [pytest.mark.engine]

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "tcp://127.0.0.1:2376"
CERT_PATH = "/var/lib/dockmagic-tls/client"
TLS_VARIABLES = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
# A wrong certificate is refused during the TLS handshake: nothing to wait for.
FAST_SECONDS = 3.0


@pytest.fixture(scope="module")
def remote_engine():
    """The TLS engine, started by its setup script (idempotent) so that this file also runs alone."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "setup-tls-engine.sh")], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"setup-tls-engine.sh failed:\n{done.stdout}\n{done.stderr}"
    return {"DOCKER_HOST": ADDRESS, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": CERT_PATH}


@pytest.fixture
def tls_environment(remote_engine, monkeypatch):
    """This process talks to the TLS engine, as after `source /var/lib/dockmagic-tls/client/env.sh`."""
    for name, value in remote_engine.items():
        monkeypatch.setenv(name, value)
    return remote_engine


def cli(*args: str, remote: bool, check: bool = True) -> subprocess.CompletedProcess:
    """The docker CLI against the TLS engine (remote=True) or the local one (DOCKER_HOST etc. unset)."""
    environment = {k: v for k, v in os.environ.items() if k not in TLS_VARIABLES + ("DOCKER_CONTEXT",)}
    if remote:
        environment.update(DOCKER_HOST=ADDRESS, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=CERT_PATH)
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, env=environment,
                          timeout=120)


def local_cli_answer(*args: str) -> subprocess.CompletedProcess:
    """The local engine's answer; another test may be restarting that dockerd: wait for it (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        done = cli(*args, remote=False, check=False)
        if "Cannot connect to the Docker daemon" not in done.stderr or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def make_certificates(folder: Path, ca_of_client: Path | None = None) -> Path:
    """A CA of its own and a client certificate it signed, laid out as DOCKER_CERT_PATH expects. With
    ``ca_of_client``, that file is the ca.pem instead (a trusted server, an untrusted client)."""
    folder.mkdir(parents=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca-key.pem", "-out",
            "other-ca.pem", "-days", "2", "-subj", "/CN=some other CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "client.csr",
            "-subj", "/CN=a client of some other CA")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", "client.csr", "-CA", "other-ca.pem", "-CAkey", "other-ca-key.pem",
            "-CAcreateserial", "-days", "2", "-extfile", "client.ext", "-out", "cert.pem")
    ca = ca_of_client.read_bytes() if ca_of_client else (folder / "other-ca.pem").read_bytes()
    (folder / "ca.pem").write_bytes(ca)
    return folder


def connect_error(fault_report, fault: str, timeout_seconds: float = FAST_SECONDS) -> str:
    """The message connecting gives (checked to come fast), recorded for docs/reliability.md as ``fault``."""
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as caught:
        connect()
    seconds = time.monotonic() - started
    assert seconds < timeout_seconds, f"took {seconds:.1f} s"
    fault_report(f"Remote engine over TLS ({ADDRESS}): {fault}", f"EngineUnavailable: {caught.value}", seconds,
                 left="nothing (the connection was refused before any request)")
    return str(caught.value)


def assert_short_and_plain(message: str) -> None:
    # One short paragraph a user can act on, not urllib3's wall of text.
    assert "\n" not in message and len(message) < 400, message
    for noise in ("HTTPSConnectionPool", "Max retries", "SSLError(", "_ssl.c", "urllib3"):
        assert noise not in message, message


def test_certificates_of_another_ca_are_refused_clearly(tls_environment, monkeypatch, tmp_path, fault_report):
    # Client and CA both from another CA: this client cannot trust the engine's certificate.
    monkeypatch.setenv("DOCKER_CERT_PATH", str(make_certificates(tmp_path / "other")))
    message = connect_error(fault_report, 'DOCKER_CERT_PATH holds certificates of another CA')
    assert message.startswith(f"TLS certificate check failed for the engine at {ADDRESS} (DOCKER_HOST)")
    assert f"{tmp_path}/other/ca.pem" in message and "DOCKER_CERT_PATH" in message
    assert_short_and_plain(message)


def test_a_client_certificate_the_engine_does_not_trust_is_refused_clearly(tls_environment, monkeypatch,
                                                                          tmp_path, fault_report):
    # The right CA, but a client certificate signed by another one: the engine refuses the client.
    folder = make_certificates(tmp_path / "mixed", ca_of_client=Path(CERT_PATH) / "ca.pem")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(folder))
    message = connect_error(fault_report, 'the right CA, a client certificate the engine does not trust')
    assert message.startswith(f"The engine at {ADDRESS} (DOCKER_HOST) refused this client's TLS certificate")
    assert f"{folder}/cert.pem" in message and "not signed by a CA the engine trusts" in message
    assert_short_and_plain(message)


def test_docker_info_shows_the_certificate_problem(tls_environment, monkeypatch, tmp_path, ipython_shell):
    monkeypatch.setenv("DOCKER_CERT_PATH", str(make_certificates(tmp_path / "other")))
    info = ipython_shell.run_line_magic("docker_info", "")
    assert not info.available
    text = str(info)
    assert text.startswith(f"No engine: TLS certificate check failed for the engine at {ADDRESS}")
    assert "TLS certificate check failed" in info._repr_mimebundle_()["text/html"]


def test_plain_tcp_to_the_tls_port_says_tls_is_needed(remote_engine, monkeypatch, fault_report):
    monkeypatch.setenv("DOCKER_HOST", ADDRESS)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    message = connect_error(fault_report, 'plain TCP (DOCKER_TLS_VERIFY unset) to its TLS port')
    assert message.startswith(f"The engine at {ADDRESS} (DOCKER_HOST) only accepts TLS connections and this "
                              "one was plain TCP")
    assert "DOCKER_TLS_VERIFY=1" in message and "DOCKER_CERT_PATH" in message
    assert_short_and_plain(message)


def test_missing_client_certificates_are_named(tls_environment, monkeypatch, tmp_path, fault_report):
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
    message = connect_error(fault_report, 'DOCKER_CERT_PATH lacks the certificates')
    assert message.startswith(f"TLS to the engine at {ADDRESS} (DOCKER_HOST) is misconfigured: {tmp_path} lacks "
                              "ca.pem, cert.pem or key.pem")
    assert_short_and_plain(message)


@pytest.fixture
def docker_host_setting(ipython_shell):
    """%config DockMagic.docker_host, put back to empty afterwards (the settings outlive the shell)."""

    def set_to(value: str) -> None:
        ipython_shell.run_line_magic("config", f"DockMagic.docker_host = {value!r}")

    yield set_to
    set_to("")


def test_config_docker_host_is_honoured_and_docker_info_shows_the_address(
        remote_engine, monkeypatch, ipython_shell, docker_host_setting, capsys):
    # DOCKER_HOST names the local engine; the setting overrides it. The certificates still come from
    # DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, as docker-py reads them.
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", CERT_PATH)
    docker_host_setting(ADDRESS)
    info = ipython_shell.run_line_magic("docker_info", "")
    assert info.available and info.address == ADDRESS
    version = cli("version", "--format", "{{.Server.Version}}", remote=True).stdout.strip()
    assert str(info).startswith(f"Docker Engine {version} (API ") and f" at {ADDRESS}" in str(info)
    assert f"<code>{ADDRESS}</code>" in info._repr_mimebundle_()["text/html"]
    # What the notebook shows is the same object's text when displayed by IPython.
    ipython_shell.run_cell("%docker_info")
    assert f"at {ADDRESS}" in capsys.readouterr().out

    # A problem reached through the setting names the setting, not DOCKER_HOST.
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "")
    monkeypatch.delenv("DOCKER_CERT_PATH")
    missing = ipython_shell.run_line_magic("docker_info", "")
    assert not missing.available
    assert f"The engine at {ADDRESS} (%config DockMagic.docker_host) only accepts TLS" in str(missing)


@pytest.fixture
def remote_tag(unique_name, remote_engine):
    name = unique_name("dmremote")
    yield name
    cli("rmi", "-f", name, remote=True, check=False)
    local_cli_answer("rmi", "-f", name)


def test_a_build_shows_the_remote_address_and_lands_on_that_engine_only(
        tls_environment, ipython_shell, remote_tag, capsys):
    ipython_shell.run_cell_magic(
        "dockerfile", f"-t {remote_tag} -o built --quiet",
        f'FROM busybox\nRUN echo "built on the remote engine"\nCMD ["echo", "{remote_tag}"]\n')
    printed = capsys.readouterr().out
    # The summary a terminal (or a saved notebook) shows names the engine and where it listens.
    assert printed.startswith("Build done")
    assert "engine: Docker Engine " in printed and f" at {ADDRESS}" in printed
    built = ipython_shell.user_ns["built"]
    assert built.ok and f"at {ADDRESS}" in str(built)
    assert ADDRESS in built._repr_mimebundle_()["text/html"]

    # The image is on the remote engine, as its own CLI says, and runs there...
    remote_id = cli("image", "inspect", "-f", "{{.Id}}", remote_tag, remote=True).stdout.strip()
    assert remote_id == built.image_id
    assert cli("run", "--rm", remote_tag, remote=True).stdout == f"{remote_tag}\n"
    # ... and not on the local engine.
    local = local_cli_answer("image", "inspect", remote_tag)
    assert local.returncode != 0 and "No such image" in local.stderr, local.stderr


def test_the_python_api_builds_there_too(tls_environment, remote_tag):
    result = dockmagic.build("FROM busybox\nRUN echo from-python\n", tags=[remote_tag])
    assert result.ok and "engine: Docker Engine" in str(result) and f"at {ADDRESS}" in str(result)
    assert cli("image", "inspect", "-f", "{{.Id}}", remote_tag, remote=True).stdout.strip() == result.image_id


@pytest.mark.parametrize("address, here", [
    ("unix:///var/run/docker.sock", True), ("tcp://127.0.0.1:2376", True), ("tcp://localhost:2376", True),
    ("tcp://[::1]:2376", True), ("tcp://docker.example.com:2376", False), ("ssh://me@build-box", False),
    ("tcp://192.0.2.10:2376", False),
])
def test_which_addresses_are_on_this_machine(address, here):
    # Decides whether a bind mount's source is a folder here or on the engine's machine (see below).
    assert is_on_this_machine(address) is here


def test_a_bind_mount_on_the_loopback_tls_engine_sees_this_machine_s_folder(
        tls_environment, ipython_shell, tmp_path, capfd):
    # This engine is remote in every way but one: it runs here, so -v reaches this machine's folders and no
    # note is printed. (An engine elsewhere gets the note of note_remote_binds before the run.)
    (tmp_path / "greeting.txt").write_text("hello from this machine\n")
    ipython_shell.run_line_magic("docker_run", f"-o ran -v {tmp_path}:/data:ro busybox cat /data/greeting.txt")
    captured = capfd.readouterr()
    assert ipython_shell.user_ns["ran"].exit_code == 0 and "hello from this machine" in captured.out
    assert "runs on another machine" not in captured.err
