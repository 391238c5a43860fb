"""Build secrets, for real: ``--secret`` served through the build session while a RUN step reads it (on
Podman, sent in the context's tar as podman-remote sends them), with or without a context folder, from a
file or the kernel's environment; never in the image; what is refused before anything is sent; and
Docker's legacy builder's sentence."""

from __future__ import annotations

import hashlib

import pytest

import dockmagic
from dockmagic import DockerfileError
from dockmagic.errors import InvalidInput

from . import test_build
from .conftest import docker_cli, engine_is_podman

image_names = test_build.image_names  # the fixture: the tags a test makes are removed after it

pytestmark = [pytest.mark.engine, pytest.mark.integration]
ON_PODMAN = engine_is_podman()
buildkit_only = pytest.mark.skipif(ON_PODMAN, reason="Podman builds with buildah: BuildKit's session does not apply")
docker_only = pytest.mark.skipif(ON_PODMAN, reason="Podman has no legacy builder of Docker's")

READS_BOTH = ("FROM busybox\n"
              "RUN --mount=type=secret,id=token --mount=type=secret,id=DM_API_TOKEN "
              "sha256sum /run/secrets/token /run/secrets/DM_API_TOKEN\n"
              "RUN cat /run/secrets/token 2>&1 || echo no token here\n")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_file_and_a_variable_reach_the_step_and_stay_out_of_the_image(image_names, tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_bytes(b"file secret \x00\xff value")
    monkeypatch.setenv("DM_API_TOKEN", "from the environment")
    tag = image_names()
    result = dockmagic.build(READS_BOTH, tags=[tag], no_cache=True,
                             secrets=[f"id=token,src={token}", "id=DM_API_TOKEN"])
    assert result.ok and result.builder == ("legacy" if ON_PODMAN else "buildkit")
    read = result.steps[1].log
    assert f"{sha256(token.read_bytes())}  /run/secrets/token" in read
    assert f"{sha256(b'from the environment')}  /run/secrets/DM_API_TOKEN" in read
    assert "no token here" in result.steps[2].log  # the next step has no secrets
    shown = docker_cli("run", "--rm", tag, "sh", "-c", "ls /run/secrets 2>&1; cat /run/secrets/* 2>&1; true")
    assert "file secret" not in shown.stdout and "from the environment" not in shown.stdout
    history = docker_cli("history", "--no-trunc", tag).stdout
    assert "file secret" not in history and "from the environment" not in history


@buildkit_only
def test_secrets_beside_a_context_folder_and_a_changed_secret_keeps_the_cache(image_names, tmp_path):
    (tmp_path / "context").mkdir()
    (tmp_path / "context" / "data.txt").write_text("data\n")
    token = tmp_path / "token"
    token.write_text("first")
    tag = image_names()
    dockerfile = ("FROM busybox\nCOPY data.txt /data.txt\n"
                  "RUN --mount=type=secret,id=token,required=true cat /data.txt /run/secrets/token\n")
    first = dockmagic.build(dockerfile, tags=[tag], context=str(tmp_path / "context"), no_cache=True,
                            secrets=[f"id=token,src={token}"])
    assert first.ok and "data\nfirst" in first.steps[2].log
    token.write_text("second")
    # As with docker build: a secret is no part of the step's cache key.
    again = dockmagic.build(dockerfile, tags=[tag], context=str(tmp_path / "context"),
                            secrets=[f"id=token,src={token}"])
    assert [step.cached for step in again.steps[1:]] == [True, True]


def test_a_secret_not_given_is_said_before_the_build(image_names, capfd, tmp_path):
    tag = image_names()
    result = dockmagic.build("FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token || echo absent\n",
                             tags=[tag], no_cache=True)
    # Optional (BuildKit's default): the build goes on without the file, and says so once.
    notice = "Line 2: no --secret id=token was given, so /run/secrets/token will not exist in that step"
    assert result.ok and "absent" in result.steps[1].log
    assert [w for w in result.warnings if notice in w] and capfd.readouterr().err.count(notice) == 1
    # A misspelt id: both ends said.
    typo = tmp_path / "token"
    typo.write_text("x")
    misspelt = dockmagic.build("FROM busybox\nRUN --mount=type=secret,id=token true\n", tags=[tag],
                               secrets=[f"id=tokn,src={typo}"])
    assert "--secret id=tokn: no RUN --mount=type=secret,id=tokn reads it." in misspelt.warnings
    assert any("no --secret id=token was given" in w for w in misspelt.warnings)
    with pytest.raises(DockerfileError) as refused:
        dockmagic.build("FROM busybox\nRUN --mount=type=secret,id=token,required=true true\n", tags=[tag + "-no"])
    assert str(refused.value) == ("Line 2: RUN --mount=type=secret,id=token is required=true, and no secret 'token' "
                                  "was given: build with --secret id=token,src=FILE (or env=VARIABLE).")
    assert docker_cli("images", "-q", tag + "-no").stdout.strip() == ""


def test_bad_secrets_are_refused_before_anything_is_sent(image_names, tmp_path, monkeypatch):
    monkeypatch.delenv("DM_NOT_SET", raising=False)
    cases = {
        "token": "'token' is not KEY=VALUE",
        f"id=x,src={tmp_path / 'missing'}": "cannot read",
        "id=DM_NOT_SET": "the variable DM_NOT_SET is not set in the kernel's environment",
        "id=a,colour=b": "'colour' is not a secret's option",
    }
    tag = image_names()
    for spec, said in cases.items():
        with pytest.raises(InvalidInput) as refused:
            dockmagic.build("FROM busybox\nRUN true\n", tags=[tag], secrets=[spec])
        assert said in str(refused.value)
    assert docker_cli("images", "-q", tag).stdout.strip() == ""


@docker_only
def test_the_legacy_builder_gets_a_sentence(image_names, tmp_path):
    token = tmp_path / "token"
    token.write_text("x")
    with pytest.raises(InvalidInput) as refused:
        dockmagic.build("FROM busybox\nRUN true\n", tags=[image_names()], builder="legacy",
                        secrets=[f"id=token,src={token}"])
    assert str(refused.value).startswith("--secret: the legacy builder takes no secrets: build with --builder "
                                         "buildkit")


def test_a_secret_is_not_in_the_context_a_copy_sends(image_names, tmp_path):
    # On Podman the secret travels in the context's tar; the engine moves it out before the build.
    token = tmp_path / "token"
    token.write_text("never copied")
    result = dockmagic.build("FROM busybox\nCOPY . /context\nRUN ls -A /context && cat /context/* | wc -c\n",
                             tags=[image_names()], no_cache=True, secrets=[f"id=token,src={token}"])
    assert result.steps[2].log.split() == ["Dockerfile", str(len("FROM busybox\nCOPY . /context\nRUN ls -A "
                                                                   "/context && cat /context/* | wc -c\n"))]


def test_the_magic_takes_secret(ipython_shell, image_names, tmp_path, capfd):
    token = tmp_path / "token"
    token.write_text("magic secret")
    tag = image_names()
    ipython_shell.run_cell_magic(
        "dockerfile", f"-t {tag} --no-cache -o built --secret id=token,src={token}",
        "FROM busybox\nRUN --mount=type=secret,id=token sha256sum /run/secrets/token\n")
    built = ipython_shell.user_ns["built"]
    assert built.ok and f"{sha256(b'magic secret')}  /run/secrets/token" in built.steps[1].log
    assert "magic secret" not in capfd.readouterr().out  # the progress shows the digest, never the value
