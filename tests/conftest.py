"""Shared fixtures. Engine tests talk to the real engine the setup script started; nothing is faked."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium floods the closed network with refused connections.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--enable-precise-memory-info",
]


@pytest.fixture(scope="session")
def engine():
    """The real engine; tests that need one fail loudly (not skip) when it is missing, since the README's
    test command always starts one."""
    from dockmagic.engine import connect

    return connect()


@pytest.fixture
def unique_name():
    """A name no other test (or a parallel run) uses: containers, images, tags."""

    def make(prefix: str = "dmtest") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    return make


def engine_is_podman() -> bool:
    """True when the engine the tests talk to (DOCKER_HOST, or the default sockets) is Podman; for
    ``pytest.mark.skipif`` on what Podman cannot do. False when no engine answers."""
    from dockmagic.engine import connect
    from dockmagic.errors import EngineUnavailable

    try:
        return connect().is_podman
    except EngineUnavailable:
        return False


def docker_cli(*args: str, check: bool = True, input: str | None = None,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """The docker CLI on the same engine, to compare what dockmagic does with what users know."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, input=input, env=env)


@pytest.fixture(scope="session", autouse=True)
def engine_left_as_found():
    """The run leaves the engine as it found it: a container that a test made and did not remove fails the
    run (after it is removed), and the untagged images of the tests' builds without a tag are removed. The
    engine is the one the run was started with, whatever a test points DOCKER_HOST at in between."""
    environment = dict(os.environ)
    if os.environ.get("DOCKMAGIC_SHARED_ENGINE"):
        # Several test runs share this engine (development in parallel work trees): what another run made
        # is not this run's leftover, and must not be removed under it.
        yield
        return

    def cli(*args: str) -> list[str]:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, env=environment)
        return done.stdout.split() if done.returncode == 0 else []

    if subprocess.run(["docker", "info"], capture_output=True, env=environment).returncode != 0:
        yield  # no engine: the engine tests fail on their own
        return
    containers, dangling = set(cli("ps", "-aq", "--no-trunc")), set(cli("images", "-qa", "--no-trunc",
                                                                         "-f", "dangling=true"))
    yield
    left = sorted(set(cli("ps", "-aq", "--no-trunc")) - containers)
    names = [" ".join(cli("inspect", "-f", "{{.Name}} ({{.Config.Image}}, {{.State.Status}})", c)) for c in left]
    if left:
        cli("rm", "-f", *left)
    new_images = sorted(set(cli("images", "-qa", "--no-trunc", "-f", "dangling=true")) - dangling)
    if new_images:
        cli("rmi", *new_images)
    assert not left, f"the tests left {len(left)} container(s) behind: {', '.join(names)}"


@pytest.fixture
def ipython_shell():
    """A real IPython shell (not a kernel) with dockmagic loaded: magics take their text path."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dockmagic")
    yield shell
    shell.run_line_magic("unload_ext", "dockmagic")


@pytest.fixture
def all_container_ids():
    """Every container id on the engine, to check that an operation left nothing behind."""

    def read() -> set[str]:
        out = docker_cli("ps", "-aq", "--no-trunc").stdout.split()
        return set(out)

    return read


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: the README's test command installs it (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


# The reliability report (docs/reliability.md): its recorder fixture and the hooks that write it.
from .reliability import fault_report, pytest_runtest_makereport, pytest_sessionfinish  # noqa: E402,F401
