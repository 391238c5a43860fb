"""An engine reached over ssh (DOCKER_HOST=ssh://root@127.0.0.1:2222), for real: scripts/setup-sshd.sh serves
this machine's Docker Engine through a dedicated sshd with a key pair of its own, and docker-py's ssh transport
(paramiko) runs `docker system dial-stdio` there. What a user sees when the key is wrong, the host unknown or
the port closed; that builds and runs work; and what is left when the sshd stops in the middle of a build."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

import dockmagic
from dockmagic import DockerBuildError, EngineConnectionLost, EngineUnavailable
from dockmagic.engine import SSH_IDLE_SESSIONS, _connected, connect
from dockmagic.operations.upload import CountingReader

pytestmark = [pytest.mark.engine]

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "ssh://root@127.0.0.1:2222"
CLIENT = Path("/var/lib/dockmagic-ssh/client")
SSHD_PIDFILE = Path("/run/dockmagic-sshd.pid")
# The project's bound for a refusal that needs no waiting (tests/test_remote_engine.py): it returned, fast.
FAST_SECONDS = 3.0


def setup_sshd() -> None:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "setup-sshd.sh")], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"setup-sshd.sh failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def sshd():
    """The dedicated sshd, started by its setup script (idempotent) so that this file also runs alone."""
    setup_sshd()


@pytest.fixture
def ssh_environment(sshd, monkeypatch):
    """This process (and the docker CLI it runs) reaches the engine over ssh, as after
    `source /var/lib/dockmagic-ssh/client/env.sh`: the machine's own ~/.ssh is not used."""
    monkeypatch.setenv("DOCKER_HOST", ADDRESS)
    monkeypatch.setenv("HOME", str(CLIENT / "home"))
    monkeypatch.setenv("PATH", f"{CLIENT / 'bin'}:{os.environ['PATH']}")
    for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT", "SSH_AUTH_SOCK"):
        monkeypatch.delenv(name, raising=False)


def home_with(tmp_path: Path, monkeypatch, identity: Path, known_hosts: str) -> None:
    """HOME is a folder of the test's own whose ~/.ssh names ``identity`` and holds ``known_hosts``."""
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True)
    (ssh / "config").write_text(f"Host 127.0.0.1\n  Port 2222\n  User root\n  IdentityFile {identity}\n")
    (ssh / "known_hosts").write_text(known_hosts)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def connect_error(docker_host: str | None = None) -> str:
    _connected.clear()  # a new connection, not the one an earlier test left open with another key or HOME
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as caught:
        connect(docker_host)
    seconds = time.monotonic() - started
    assert seconds < FAST_SECONDS, f"took {seconds:.1f} s"
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message and "paramiko" not in message, message
    return message


def local_cli(*args: str) -> subprocess.CompletedProcess:
    """The docker CLI on the local socket, the engine the sshd serves (DOCKER_HOST and HOME as the test
    found them do not matter: the socket is named)."""
    return subprocess.run(["docker", "-H", "unix:///var/run/docker.sock", *args], capture_output=True, text=True,
                          timeout=120)


def test_docker_info_a_build_and_a_run_over_ssh(ssh_environment, ipython_shell, unique_name, capfd):
    info = ipython_shell.run_line_magic("docker_info", "")
    assert info.available and info.address == ADDRESS and str(info).startswith("Docker Engine ")
    assert f"at {ADDRESS}" in str(info)
    tag = unique_name("dmssh")
    try:
        result = dockmagic.build(f'FROM busybox\nRUN echo "built over ssh"\nCMD ["echo", "{tag}"]\n', tags=[tag])
        assert result.ok and f"at {ADDRESS}" in str(result)
        # The docker CLI over the same ssh sees that very image.
        cli = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", tag], capture_output=True,
                             text=True, timeout=120)
        assert cli.stdout.strip() == result.image_id, cli.stderr
        capfd.readouterr()
        ipython_shell.run_line_magic("docker_run", f"-o ran {tag}")
        assert ipython_shell.user_ns["ran"].exit_code == 0 and f"{tag}\n" in capfd.readouterr().out
    finally:
        local_cli("rmi", "-f", tag)


def test_a_key_the_server_does_not_accept_is_named(sshd, monkeypatch, tmp_path):
    key = tmp_path / "not-authorized"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    home_with(tmp_path, monkeypatch, key, (CLIENT / "known_hosts").read_text())
    message = connect_error(ADDRESS)
    assert message.startswith(f"The ssh server of the engine at {ADDRESS} (%config DockMagic.docker_host) "
                              "refused this client's key (Authentication failed)")
    assert "IdentityFile" in message


def test_an_unknown_host_is_never_trusted(ssh_environment, monkeypatch, tmp_path):
    home_with(tmp_path, monkeypatch, CLIENT / "id_ed25519", known_hosts="")
    message = connect_error()
    assert message.startswith(f"The ssh server of the engine at {ADDRESS} (DOCKER_HOST) is not in "
                              "~/.ssh/known_hosts, and an unknown host is never trusted")


def test_a_closed_port_is_engine_unavailable_naming_the_host(ssh_environment, monkeypatch):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"ssh://root@127.0.0.1:{port}"
    monkeypatch.setenv("DOCKER_HOST", address)
    message = connect_error()
    assert message.startswith(f"No container engine answered. Tried DOCKER_HOST: {address} (connection refused)")


def sshd_processes() -> list[int]:
    """The dedicated sshd and every process under it (one per ssh connection, and what those run)."""
    listener = int(SSHD_PIDFILE.read_text().split()[0])
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [listener], [listener]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def containers_running(marker: str) -> list[str]:
    listed = local_cli("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}").stdout.splitlines()
    return [line.split()[0] for line in listed if marker in line]


@pytest.mark.slow
def test_sshd_stopped_mid_build_is_reported_and_leaves_nothing_once_back(ssh_environment, unique_name,
                                                                           fault_report):
    marker = unique_name("dmsshfault")
    outcome = {}

    def build():
        started = time.monotonic()
        try:
            # The legacy builder: its RUN step is a container the engine lists, which is what is watched here.
            outcome["result"] = dockmagic.build(f"FROM busybox\nRUN echo {marker} && sleep 5\n", no_cache=True,
                                                builder="legacy")
        except BaseException as error:  # what a user would see, whatever it is
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=build)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not containers_running(marker) and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.1)
        assert containers_running(marker), f"the build's RUN never started: {outcome}"
        for pid in sshd_processes():  # the sshd this test's setup started, and its sessions
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        thread.join(60)
        assert not thread.is_alive(), "the build did not return after the sshd stopped"
    finally:
        setup_sshd()  # the sshd back, whatever happened
    error = outcome.get("error")
    # Both a failed build (its .result) and a lost engine, as the issue asks: EngineConnectionLost.
    assert isinstance(error, DockerBuildError) and isinstance(error, EngineConnectionLost), outcome
    assert "the container engine stopped answering during the build" in str(error)
    # Once the engine answers again (the next connect), nothing of that build is left on it: the build's
    # container, still there while the sshd was down, is removed by that very connect.
    connect()
    assert containers_running(marker) == []
    fault_report(f"Engine over ssh ({ADDRESS}): the sshd killed during a `RUN sleep 5` build",
                 f"{type(error).__name__}: {error}", outcome["seconds"],
                 left="nothing (the build's container is gone once the engine answers again)")
    # The kernel's next request works.
    assert connect().ping(5)


def test_a_large_context_upload_over_ssh_is_counted(ssh_environment, unique_name):
    # 20 MB of context through the ssh channel, read through CountingReader as a build would send it.
    big = os.urandom(20 * 1000 * 1000)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY big.bin /big.bin\nRUN wc -c < /big.bin\n"),
                           ("big.bin", big)):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    archive.seek(0)
    reports = []
    tag = unique_name("dmupload")
    engine = connect()
    try:
        with engine.post_build(CountingReader(archive, reports.append, interval=0.05),
                               {"t": tag, "rm": True, "forcerm": True}) as stream:
            lines = "".join(message.get("stream", "") for message in stream if isinstance(message, dict))
        assert f"{len(big)}\n" in lines  # the engine got every byte
        assert reports[-1].done and reports[-1].sent == reports[-1].total == len(archive.getvalue())
        assert [report.done for report in reports].count(True) == 1
        assert str(reports[-1]).startswith("sent 20MB in ") and "MB/s)" in str(reports[-1])
    finally:
        local_cli("rmi", "-f", tag)


def test_many_requests_stay_within_the_servers_session_limit(ssh_environment, ipython_shell, capfd, cleanup,
                                                            unique_name):
    # Each request is an ssh session, and so is a persistent shell; the sshd here keeps OpenSSH's default
    # MaxSessions (10). Requests to many different paths once held an idle session per path, until the
    # server refused more ("open failed: Connect failed") with a shell open.
    _connected.clear()
    name = unique_name("dmsshshell")
    cleanup["containers"].append(name)
    ipython_shell.run_line_magic("docker_start", f"busybox --name {name}")
    ipython_shell.run_cell_magic("docker_shell", name, "echo shell-before")
    for number in range(12):
        ipython_shell.run_line_magic("docker_run", f"-o ran busybox echo run-{number}")
        assert ipython_shell.user_ns["ran"].exit_code == 0
    ipython_shell.run_line_magic("docker_diff", name)
    ipython_shell.run_cell_magic("docker_shell", name, "echo shell-after")
    printed = capfd.readouterr().out
    assert "shell-before\n" in printed and "run-11\n" in printed and "shell-after\n" in printed
    # What the server holds now: the idle sessions kept for reuse and the shell's, under its limit of 10.
    held = dial_stdio_sessions()
    assert 1 <= len(held) <= SSH_IDLE_SESSIONS + 1 < 10, held


def dial_stdio_sessions() -> list[int]:
    """The `docker system dial-stdio` processes the dedicated sshd runs: one per open ssh session."""
    found = []
    for pid in sshd_processes():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "dial-stdio" in command and not command.startswith(("sh ", "bash ", "/bin/sh", "/bin/bash")):
            found.append(pid)
    return found
