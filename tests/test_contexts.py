"""Docker contexts against real engines: a context made by the docker CLI (`docker context create`) for the
TLS engine that scripts/setup-tls-engine.sh starts, in a DOCKER_CONFIG folder of the test's own (the
machine's ~/.docker is never touched). dockmagic must reach the engine the CLI reaches, with the context's
own certificates, name the context in %docker_info, and switch contexts with %docker_context."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import dockmagic
from dockmagic.contexts import UnknownContext
from dockmagic.engine import connect

pytestmark = [pytest.mark.engine]

ROOT = Path(__file__).resolve().parent.parent
TLS_ADDRESS = "tcp://127.0.0.1:2376"
CERTS = Path("/var/lib/dockmagic-tls/client")
LOCAL_ADDRESS = "unix:///var/run/docker.sock"
ENGINE_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


@pytest.fixture(scope="module")
def tls_engine():
    done = subprocess.run(["bash", str(ROOT / "scripts" / "setup-tls-engine.sh")], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"setup-tls-engine.sh failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def docker_config(tls_engine, tmp_path, monkeypatch, settings):
    """A DOCKER_CONFIG of the test's own holding two contexts the docker CLI made: `remote` (the TLS engine,
    its certificates copied into the context) and `local` (the main engine); no engine variable is set."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    for name in ENGINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings.docker_host = ""
    docker("context", "create", "remote", "--description", "the TLS engine", "--docker",
           f"host={TLS_ADDRESS},ca={CERTS}/ca.pem,cert={CERTS}/cert.pem,key={CERTS}/key.pem")
    docker("context", "create", "local", "--docker", f"host={LOCAL_ADDRESS}")
    return folder


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The docker CLI with this process's environment: the test's DOCKER_CONFIG and variables."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120)


def data_root(*args: str) -> str:
    """The engine's data folder, which tells the two dockerds apart, as the CLI reaches it with these options."""
    return docker(*args, "info", "--format", "{{.DockerRootDir}}").stdout.strip()


def test_the_current_context_is_followed_with_its_own_certificates(docker_config, ipython_shell):
    docker("context", "use", "remote")
    engine = connect()
    assert engine.address == TLS_ADDRESS and engine.context == "remote"
    # The very engine the CLI reaches through the context: no DOCKER_CERT_PATH, the context's TLS only.
    assert engine.api.info()["DockerRootDir"] == data_root() == data_root("--context", "remote")
    assert data_root() != data_root("--context", "local")
    info = ipython_shell.run_line_magic("docker_info", "")
    assert info.available and info.context == "remote" and info.address == TLS_ADDRESS
    assert str(info).endswith("(Docker context remote)")
    assert "Docker context <code>remote</code>" in info._repr_mimebundle_()["text/html"]


def test_docker_context_lists_switches_and_leaves_config_json_alone(docker_config, ipython_shell, monkeypatch):
    docker("context", "use", "remote")
    config_json = (docker_config / "config.json").read_bytes()
    monkeypatch.setenv("DOCKER_CONTEXT", "")  # put back after the test: the magic sets it in this process

    table = ipython_shell.run_line_magic("docker_context", "")
    lines = str(table).splitlines()
    assert lines[0].split() == ["NAME", "DOCKER", "ENDPOINT", "DESCRIPTION"]
    assert lines[1].split()[:2] == ["default", LOCAL_ADDRESS]
    assert lines[2].split() == ["local", LOCAL_ADDRESS]
    assert lines[3].split() == ["remote", TLS_ADDRESS, "the", "TLS", "engine", "*", "<-", "this", "kernel"]
    assert lines[-1] == (f"This kernel uses context remote ({TLS_ADDRESS}), chosen by currentContext in "
                         f"{docker_config}/config.json.")

    switched = ipython_shell.run_line_magic("docker_context", "local")
    assert os.environ["DOCKER_CONTEXT"] == "local" and switched.in_use == "local" and switched.current == "local"
    info = ipython_shell.run_line_magic("docker_info", "")
    assert info.address == LOCAL_ADDRESS and info.context == "local"
    assert str(switched).splitlines()[-1] == (f"This kernel uses context local ({LOCAL_ADDRESS}), chosen by "
                                              "DOCKER_CONTEXT.")
    # The kernel's !docker commands follow it too; the CLI's own choice for other programs does not change.
    assert docker("context", "show").stdout.strip() == "local"
    assert (docker_config / "config.json").read_bytes() == config_json

    with pytest.raises(UnknownContext) as caught:
        ipython_shell.run_line_magic("docker_context", "remtoe")
    assert str(caught.value).startswith("There is no Docker context 'remtoe'. Known contexts: default, local, "
                                        "remote.")
    assert os.environ["DOCKER_CONTEXT"] == "local"  # a typo changes nothing


def test_docker_host_still_comes_first_and_the_switch_says_so(docker_config, ipython_shell, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "")
    monkeypatch.setenv("DOCKER_HOST", LOCAL_ADDRESS)
    table = ipython_shell.run_line_magic("docker_context", "remote")
    assert table.in_use == "default"
    assert table.note.startswith("DOCKER_CONTEXT is now remote, but DOCKER_HOST is set and comes first")
    assert connect().address == LOCAL_ADDRESS
    assert docker("context", "show").stdout.strip() == "default"  # the CLI's rule, the same


def test_a_build_through_a_context_lands_on_that_engine(docker_config, monkeypatch, unique_name):
    monkeypatch.setenv("DOCKER_CONTEXT", "remote")
    tag = unique_name("dmcontext")
    try:
        result = dockmagic.build("FROM busybox\nRUN echo through a context\n", tags=[tag])
        assert result.ok and f"at {TLS_ADDRESS}" in str(result)
        assert docker("--context", "remote", "image", "inspect", "-f", "{{.Id}}", tag).stdout.strip() == \
            result.image_id
        assert docker("--context", "local", "image", "inspect", tag, check=False).returncode != 0
    finally:
        docker("--context", "remote", "rmi", "-f", tag, check=False)


def test_a_context_whose_certificates_the_engine_does_not_trust_names_the_context(
        docker_config, tmp_path, monkeypatch, ipython_shell):
    # A client certificate of another CA, stored in a context: the engine refuses it.
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out",
                    "cert.pem", "-days", "2", "-subj", "/CN=not trusted"], cwd=other, check=True, capture_output=True)
    docker("context", "create", "untrusted", "--docker",
           f"host={TLS_ADDRESS},ca={CERTS}/ca.pem,cert={other}/cert.pem,key={other}/key.pem")
    monkeypatch.setenv("DOCKER_CONTEXT", "untrusted")
    info = ipython_shell.run_line_magic("docker_info", "")
    assert not info.available
    assert info.problem.startswith(f"The engine at {TLS_ADDRESS} (context untrusted (DOCKER_CONTEXT)) refused "
                                   "this client's TLS certificate")
    assert f"{docker_config}/contexts/tls/" in info.problem and "docker context update" in info.problem
    assert docker("info", check=False).returncode != 0  # the CLI is refused too
