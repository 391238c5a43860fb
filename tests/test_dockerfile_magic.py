"""``%%dockerfile`` as a user types it: in terminal IPython (text progress) and its options and errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

from dockmagic import DockerBuildError, DockerfileError
from dockmagic.errors import DockmagicError

from .conftest import docker_cli, engine_is_podman

pytestmark = [pytest.mark.engine, pytest.mark.integration]


@pytest.fixture
def tag(unique_name):
    name = unique_name("dmmagic")
    yield name
    docker_cli("rmi", "-f", name, check=False)


def test_cell_builds_and_binds_the_result(ipython_shell, tag, capsys, engine):
    ipython_shell.run_cell_magic(
        "dockerfile", f"-t {tag} -o built --label team=data --no-cache --builder legacy",
        'FROM busybox\nRUN echo "step output"\nCMD ["echo", "hi"]\n')
    printed = capsys.readouterr().out
    # In a terminal the progress prints as the docker CLI prints it (the legacy builder's format here;
    # BuildKit's: tests/test_buildkit.py).
    # --label adds a LABEL step at the end, as `docker build --label` does.
    assert "Step 1/4 : FROM busybox" in printed
    assert "Step 2/4 : RUN echo \"step output\"" in printed
    assert "step output" in printed
    result = ipython_shell.user_ns["built"]
    # Docker names the step's container; Podman's stream does not, so neither does the printout.
    assert (" ---> Running in " in printed) == (not engine.is_podman)
    assert f"\n ---> {result.steps[1].layer_id}\n" in printed
    assert "Successfully built " in printed
    assert printed.count("Successfully tagged ") == 1 and f"Successfully tagged {tag}:latest\n" in printed
    assert result.ok and result.tags and result.tags[0].startswith(tag)
    labels = docker_cli("image", "inspect", "-f", "{{json .Config.Labels}}", tag).stdout
    assert '"team":"data"' in labels


@pytest.mark.parametrize("builder, says_cached", [
    ("legacy", " ---> Using cache"),
    pytest.param("buildkit", "[2/2] RUN echo cached-step\n#5 CACHED", marks=pytest.mark.skipif(
        engine_is_podman(), reason="Podman builds with buildah")),
])
def test_cached_rebuild_prints_using_cache(ipython_shell, tag, capsys, builder, says_cached):
    cell = "FROM busybox\nRUN echo cached-step\n"
    ipython_shell.run_cell_magic("dockerfile", f"-t {tag} --builder {builder}", cell)
    capsys.readouterr()
    ipython_shell.run_cell_magic("dockerfile", f"-t {tag} -o again --builder {builder}", cell)
    printed = capsys.readouterr().out
    assert says_cached in printed
    assert ipython_shell.user_ns["again"].steps[-1].cached


def test_quiet_shows_only_the_summary(ipython_shell, tag, capsys):
    ipython_shell.run_cell_magic("dockerfile", f"-t {tag} --quiet", "FROM busybox\nRUN echo quiet-step\n")
    printed = capsys.readouterr().out
    assert "Step 1/2 : FROM busybox" not in printed
    assert printed.startswith("Build done")


def test_failure_raises_short_error_after_showing_the_step(ipython_shell, capsys):
    with pytest.raises(DockerBuildError) as caught:
        ipython_shell.run_cell_magic("dockerfile", "-o failed", "FROM busybox\nRUN echo oh no; exit 4\n")
    # "Step 2/2 (RUN ...)" from the legacy builder, "[2/2] (RUN ...)" from BuildKit.
    assert re.search(r"^(Step 2/2|\[2/2\]) \(RUN echo oh no; exit 4\) failed with exit code 4", str(caught.value))
    assert "oh no" in capsys.readouterr().out
    assert ipython_shell.user_ns["failed"].exit_code == 4
    # IPython renders the error as one short line, not a traceback.
    rendered = caught.value._render_traceback_()
    assert len(rendered) == 1 and "DockerBuildError" in rendered[0]


def test_bad_options_and_values_are_clear(ipython_shell):
    with pytest.raises(UsageError):
        ipython_shell.run_cell_magic("dockerfile", "--frobnicate", "FROM busybox\n")
    with pytest.raises(DockmagicError, match="--build-arg 'NOEQUALS' is not KEY=VALUE"):
        ipython_shell.run_cell_magic("dockerfile", "--build-arg NOEQUALS", "FROM busybox\n")
    with pytest.raises(DockerfileError, match="Line 2: unknown instruction"):
        ipython_shell.run_cell_magic("dockerfile", "", "FROM busybox\nINSTALL figlet\n")


def test_help_is_the_docstring(ipython_shell):
    doc = ipython_shell.find_cell_magic("dockerfile").__doc__
    assert "--tag" in doc and "--context" in doc and "--no-cache" in doc and "Build the cell" in doc


def test_unload_removes_the_magic(ipython_shell):
    ipython_shell.run_line_magic("unload_ext", "dockmagic")
    assert ipython_shell.find_cell_magic("dockerfile") is None
    ipython_shell.run_line_magic("load_ext", "dockmagic")
    assert ipython_shell.find_cell_magic("dockerfile") is not None


@pytest.mark.skipif(engine_is_podman(), reason=(
    "Through its Docker-compatible API, Podman runs a build's RUN steps in the service's own network namespace "
    "with or without networkmode=host, and scripts/setup-podman.sh runs the service in a loopback-only "
    "namespace (no bridge, no private-range traffic): the step sees only lo either way, so the setting's "
    "effect cannot be observed"))
def test_config_sets_the_default_network(ipython_shell, tag):
    ipython_shell.run_line_magic("config", 'DockMagic.network = "host"')
    try:
        ipython_shell.run_cell_magic("dockerfile", f"-t {tag} -o net --no-cache",
                                     "FROM busybox\nRUN ls /sys/class/net\n")
        # With the host's network the step sees more than loopback.
        interfaces = ipython_shell.user_ns["net"].steps[1].log.split()
        assert len(interfaces) > 1
    finally:
        ipython_shell.run_line_magic("config", 'DockMagic.network = ""')


def test_terminal_ipython_prints_plain_progress(tmp_path, unique_name):
    tag = unique_name("dmterm")
    cell = f"%%dockerfile -t {tag} --no-cache\nFROM busybox\nRUN echo from-terminal-ipython\n"
    try:
        run = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor",
                              "--ext", "dockmagic", "-c", cell], capture_output=True, text=True, timeout=120)
    finally:
        docker_cli("rmi", "-f", tag, check=False)
    assert run.returncode == 0, run.stderr
    if engine_is_podman():  # the legacy builder's format, as the docker CLI prints it
        assert "Step 1/2 : FROM busybox" in run.stdout
        assert run.stdout.index("Successfully built") < run.stdout.index("Successfully tagged")
    else:  # BuildKit's, as docker buildx build --progress=plain prints it
        assert re.search(r"^#\d+ \[2/2\] RUN echo from-terminal-ipython$", run.stdout, re.MULTILINE)
        assert re.search(r"^#\d+ \d+\.\d{3} from-terminal-ipython$", run.stdout, re.MULTILINE)
    assert "from-terminal-ipython" in run.stdout
    assert run.stdout.count("Successfully tagged") == 1
    assert "application/vnd.jupyter.widget-view" not in run.stdout


def test_quoted_build_arg_keeps_its_spaces(ipython_shell, tag):
    ipython_shell.run_cell_magic("dockerfile", f"-t {tag} --no-cache -o quoted --build-arg 'GREETING=hello there'",
                                 "FROM busybox\nARG GREETING\nRUN echo \"[$GREETING]\"\n")
    assert "[hello there]" in ipython_shell.user_ns["quoted"].steps[-1].log


def test_typed_into_terminal_ipython_on_a_pseudo_terminal(unique_name):
    pexpect = pytest.importorskip("pexpect")
    tag = unique_name("dmpty")
    child = pexpect.spawn(sys.executable, ["-m", "IPython", "--no-banner", "--colors=NoColor", "--simple-prompt"],
                          encoding="utf-8", timeout=120, dimensions=(40, 200))
    try:
        child.expect(r"In \[1\]: ")
        child.sendline("%load_ext dockmagic")
        child.expect(r"In \[2\]: ")
        for line in (f"%%dockerfile -t {tag}", "FROM busybox", "RUN echo typed-at-a-terminal", "", ""):
            child.sendline(line)
        child.expect(r"In \[3\]: ")
        printed = child.before
        child.sendline("exit")
    finally:
        child.close(force=True)
        docker_cli("rmi", "-f", tag, check=False)
    assert "typed-at-a-terminal" in printed
    if engine_is_podman():
        assert "Step 1/2 : FROM busybox" in printed and "Successfully built" in printed
    else:
        assert "[2/2] RUN echo typed-at-a-terminal" in printed and "Successfully tagged" in printed
    assert "Traceback" not in printed
