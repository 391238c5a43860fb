"""Docker contexts as the docker CLI makes and chooses them, read by dockmagic: no engine needed (the CLI's
`docker context create/use/show` only write and read files). Each test has its own DOCKER_CONFIG folder."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from dockmagic.contexts import UnknownContext, choose_engine, find_context, list_contexts
from dockmagic.engine import choose
from dockmagic.errors import EngineUnavailable

ENGINE_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
DEFAULT_HOSTS = ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock"]


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """An empty DOCKER_CONFIG folder of the test's own, and none of the engine variables set."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    for name in ENGINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return folder


def docker(*args: str) -> str:
    """The docker CLI with this process's environment (so the test's DOCKER_CONFIG and variables)."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=60).stdout


def make_tls_material(folder) -> dict[str, str]:
    """Three PEM files the CLI copies into the context (their contents are not checked by it)."""
    folder.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out",
                    "cert.pem", "-days", "2", "-subj", "/CN=context test"], cwd=folder, check=True,
                   capture_output=True)
    (folder / "ca.pem").write_bytes((folder / "cert.pem").read_bytes())
    return {name: str(folder / f"{name}.pem") for name in ("ca", "cert", "key")}


def test_contexts_made_by_the_cli_are_listed_with_their_tls_material(docker_config, tmp_path):
    pem = make_tls_material(tmp_path / "pem")
    docker("context", "create", "secure", "--description", "a TLS engine",
           "--docker", f"host=tcp://127.0.0.1:2376,ca={pem['ca']},cert={pem['cert']},key={pem['key']}")
    docker("context", "create", "plain", "--docker", "host=tcp://127.0.0.1:2375")
    listed = {context.name: context for context in list_contexts()}
    assert list(listed) == ["default", "plain", "secure"]
    assert listed["secure"].host == "tcp://127.0.0.1:2376" and listed["secure"].description == "a TLS engine"
    # The CLI copied the files into its store; dockmagic uses those copies, not the originals.
    assert listed["secure"].tls_folder.startswith(str(docker_config / "contexts" / "tls"))
    assert listed["secure"].tls.cert == (os.path.join(listed["secure"].tls_folder, "cert.pem"),
                                         os.path.join(listed["secure"].tls_folder, "key.pem"))
    assert listed["plain"].tls is None and listed["plain"].host == "tcp://127.0.0.1:2375"
    # What the CLI itself lists, for the same store.
    cli = {line.split("\t")[0].rstrip(" *"): line.split("\t")[1]
           for line in docker("context", "ls", "--format", "{{.Name}}\t{{.DockerEndpoint}}").splitlines()}
    assert cli["secure"] == listed["secure"].host and cli["plain"] == listed["plain"].host


@pytest.mark.parametrize("variables, current", [
    ({}, None),
    ({}, "one"),
    ({"DOCKER_CONTEXT": "two"}, "one"),
    ({"DOCKER_CONTEXT": "default"}, "one"),
    ({"DOCKER_HOST": "tcp://127.0.0.1:2999"}, "one"),
    ({"DOCKER_HOST": "tcp://127.0.0.1:2999", "DOCKER_CONTEXT": "two"}, "one"),
])
def test_the_context_chosen_is_the_one_the_docker_cli_chooses(docker_config, monkeypatch, variables, current):
    docker("context", "create", "one", "--docker", "host=tcp://127.0.0.1:2001")
    docker("context", "create", "two", "--docker", "host=tcp://127.0.0.1:2002")
    if current:
        docker("context", "use", current)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    choice = choose_engine(None, DEFAULT_HOSTS)
    assert choice.context == docker("context", "show").strip()
    expected_host = docker("context", "inspect", "--format", "{{.Endpoints.docker.Host}}").strip()
    if choice.context == "default" and "DOCKER_HOST" not in variables:
        assert choice.hosts == tuple(DEFAULT_HOSTS)  # the local sockets, Docker's first, as the CLI's
        assert expected_host == DEFAULT_HOSTS[0]
    else:
        assert choice.hosts == (expected_host,)


def test_the_setting_comes_before_everything(docker_config, monkeypatch):
    docker("context", "create", "one", "--docker", "host=tcp://127.0.0.1:2001")
    monkeypatch.setenv("DOCKER_CONTEXT", "one")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2999")
    choice = choose_engine("unix:///run/podman/podman.sock", DEFAULT_HOSTS)
    assert choice.hosts == ("unix:///run/podman/podman.sock",) and choice.context == "default"
    assert choice.source == "%config DockMagic.docker_host"


def test_an_unknown_context_is_named_with_the_known_ones(docker_config, monkeypatch):
    docker("context", "create", "one", "--docker", "host=tcp://127.0.0.1:2001")
    with pytest.raises(UnknownContext) as caught:
        find_context("typo")
    assert str(caught.value) == ("There is no Docker context 'typo'. Known contexts: default, one. Make one "
                                 "with `docker context create typo --docker host=...`.")
    monkeypatch.setenv("DOCKER_CONTEXT", "typo")
    with pytest.raises(EngineUnavailable, match=r"^There is no Docker context 'typo' \(named by DOCKER_CONTEXT\)"):
        choose()
    # The CLI refuses it too.
    refused = subprocess.run(["docker", "context", "inspect"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and 'context "typo"' in refused.stderr, refused.stderr


def test_a_current_context_in_config_json_that_is_gone_says_where_it_is_named(docker_config):
    (docker_config / "config.json").write_text(json.dumps({"currentContext": "removed"}))
    with pytest.raises(EngineUnavailable) as caught:
        choose()
    assert f"(named by currentContext in {docker_config}/config.json)" in str(caught.value)
