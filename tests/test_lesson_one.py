"""The first lesson, end to end on the real engine, as a notebook user does it:

    %docker_start debian:bookworm --name play --network host
    %%docker_shell play
    apt-get update && apt-get install -y figlet
    %docker_diff play
    %docker_commit play figlet
    %docker_run figlet figlet ciao ciao
    %docker_dockerfile play --build figlet-rebuilt
    %docker_run figlet-rebuilt figlet ciao ciao

The apt install runs once per test session (module-scoped fixtures); everything made is removed at the
end, whatever happened.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid

import pytest
from IPython.core.interactiveshell import InteractiveShell

from .conftest import docker_cli, engine_is_podman

pytestmark = [
    pytest.mark.engine, pytest.mark.integration,
    # Every test here needs the install cell (and the rebuild's RUN) to reach Debian's package mirror.
    pytest.mark.skipif(engine_is_podman(), reason=(
        "the lesson installs figlet with apt over the network; scripts/setup-podman.sh runs the Podman service "
        "in a loopback-only network namespace (through the Docker-compatible API Podman would otherwise put "
        "containers on its 10.88.0.0/16 bridge), so neither --network host containers nor build steps can "
        "reach a mirror on Podman here")),
]

BANNER = (
    "      _                    _             \n"
    "  ___(_) __ _  ___     ___(_) __ _  ___  \n"
    " / __| |/ _` |/ _ \\   / __| |/ _` |/ _ \\ \n"
    "| (__| | (_| | (_) | | (__| | (_| | (_) |\n"
    " \\___|_|\\__,_|\\___/   \\___|_|\\__,_|\\___/ \n"
    "                                         \n"
)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def _shell():
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dockmagic")
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "dockmagic")


@pytest.fixture(scope="module")
def lesson():
    """The container after the install cell: its name and what the cell printed."""
    name = _name("dmlesson")
    try:
        with _shell() as shell:
            shell.run_line_magic("docker_start", f"debian:bookworm --name {name} --network host")
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                shell.run_cell_magic("docker_shell", name, "apt-get update && apt-get install -y figlet")
        yield {"container": name, "out": out.getvalue(), "err": err.getvalue()}
    finally:
        docker_cli("rm", "-f", name, check=False)


@pytest.fixture(scope="module")
def committed(lesson):
    """The image committed from the lesson's container with %docker_commit."""
    image = _name("dmlesson-figlet")
    try:
        with _shell() as shell, contextlib.redirect_stdout(io.StringIO()):
            result = shell.run_line_magic("docker_commit", f"{lesson['container']} {image}")
        yield {"image": image, "result": result}
    finally:
        docker_cli("rmi", "-f", image, check=False)


@pytest.fixture
def rebuilt_tag():
    tag = _name("dmlesson-rebuilt")
    yield tag
    docker_cli("rmi", "-f", tag, check=False)


def test_the_install_cell_streams_apts_output(lesson):
    assert "Setting up figlet" in lesson["out"]
    assert docker_cli("exec", lesson["container"], "figlet", "-v").returncode == 0


def test_diff_shows_what_apt_added_as_the_cli_does(ipython_shell, lesson, capfd):
    result = ipython_shell.run_line_magic("docker_diff", lesson["container"])
    printed = capfd.readouterr().out
    cli = docker_cli("diff", lesson["container"]).stdout
    # The engine lists the changes in an order that varies from call to call (`docker diff` twice on one
    # container differs too), so the same lines are compared, not their order.
    assert sorted(str(result).splitlines()) == sorted(cli.splitlines())
    assert sorted(printed.splitlines()) == sorted(cli.splitlines())
    lines = cli.splitlines()
    assert "A /usr/share/figlet" in lines
    assert "C /etc" in lines


def test_the_committed_image_prints_the_banner(ipython_shell, committed, capfd):
    assert committed["result"].tags  # the commit named the image
    returned = ipython_shell.run_line_magic("docker_run", f"{committed['image']} figlet ciao ciao")
    assert returned is None
    assert capfd.readouterr().out == BANNER


def test_the_sessions_dockerfile_rebuilds_the_same_image(ipython_shell, lesson, committed, rebuilt_tag, capfd):
    result = ipython_shell.run_line_magic("docker_dockerfile", f"{lesson['container']} --build {rebuilt_tag}")
    first, second, source, run = result.text.splitlines()
    assert [first, second, run] == ["FROM debian:bookworm", 'SHELL ["/bin/bash", "-c"]',
                                    "RUN apt-get update && apt-get install -y figlet"]
    # Which cell the RUN came from: the session's first (and the notebook's In [n], when IPython counted).
    assert re.fullmatch(r"# from cell 1( \(In \[[0-9]+\]\))?", source)
    assert result.build.ok
    # Compared with what %docker_commit made: no file differs beyond logs and caches.
    assert result.compared_with.startswith(committed["image"])
    assert result.differences == []
    text = result._repr_mimebundle_()["text/plain"]
    assert f"Same files as {committed['image']}:latest (logs and caches left out)." in text

    capfd.readouterr()
    ipython_shell.run_line_magic("docker_run", f"{rebuilt_tag} figlet ciao ciao")
    assert capfd.readouterr().out == BANNER
