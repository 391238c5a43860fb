"""Shared fixtures. Engine tests talk to the real engine the setup script started; nothing is faked.

Layout: tests/unit/ holds the tests that need no engine (parser, model, views, --check, replay); they run with
DOCKER_HOST pointing nowhere (tests/unit/conftest.py). The tests at the top level and in tests/browser/ may
use an engine; those that do carry the ``engine`` marker, which the hook below enforces."""

from __future__ import annotations

import os
import pathlib
import subprocess
import uuid

import pytest

UNIT = pathlib.Path(__file__).parent / "unit"
# Fixtures that talk to the engine: a test using one (directly or through another fixture) is an engine test.
ENGINE_FIXTURES = {"engine", "all_container_ids", "cleanup"}

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
def cleanup():
    """Names of containers and images to remove after the test, whatever happened."""
    made = {"containers": [], "images": []}
    yield made
    for name in made["containers"]:
        docker_cli("rm", "-f", name, check=False)
    for name in made["images"]:
        docker_cli("rmi", "-f", name, check=False)


def marker_problem(item) -> str | None:
    """Why a test's markers do not say what it needs, or None: a test in tests/unit/ needs no engine and no
    browser; a test elsewhere that uses an engine fixture is marked ``engine``."""
    parametrized = getattr(item, "callspec", None)  # a parameter named like a fixture (engine="docker") is not it
    engine_fixtures = sorted(ENGINE_FIXTURES.intersection(item.fixturenames)
                             - set(parametrized.params if parametrized else ()))
    if UNIT in pathlib.Path(item.path).parents:
        marked = [name for name in ("engine", "integration", "browser") if item.get_closest_marker(name)]
        if marked or engine_fixtures:
            return (f"{item.nodeid} is in tests/unit/, which needs no engine and no browser, but it "
                    f"{'is marked ' + ', '.join(marked) if marked else 'uses ' + ', '.join(engine_fixtures)}: "
                    "move it to tests/ (engine) or tests/browser/")
        return None
    if engine_fixtures and not item.get_closest_marker("engine"):
        return (f"{item.nodeid} uses the engine ({', '.join(engine_fixtures)}) but is not marked engine: add "
                "pytest.mark.engine (and pytest.mark.integration if every engine should run it)")
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The markers hold: checked on every collected test before ``-m`` selects any, so that a run of
    ``-m "not engine"`` with no engine, or of ``-m integration`` on another engine, misses no test."""
    problems = [problem for problem in map(marker_problem, items) if problem]
    if problems:
        raise pytest.UsageError("tests whose markers do not say what they need:\n  " + "\n  ".join(problems))


@pytest.fixture
def ipython_shell():
    """A real IPython shell (not a kernel) with dockmagic loaded: magics take their text path."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dockmagic")
    yield shell
    shell.run_line_magic("unload_ext", "dockmagic")


# DockMagic's state that is not a config trait: set by %docker_recordings and the recording wrapper.
RECORDING_STATE = ("current_recording", "replaying", "_store")


@pytest.fixture(autouse=True)
def dockmagic_settings_restored():
    """Every test leaves DockMagic's settings as it found them: DockMagic is a singleton that outlives the
    test, so a setting a test turns on (%docker_recordings, %config DockMagic.builder) would otherwise
    change how every later test's magics run. Settings the test found unset go back to their defaults."""
    from dockmagic.magics.settings import DockMagic

    existed = DockMagic.initialized()
    if existed:
        instance = DockMagic.instance()
        before = {name: getattr(instance, name) for name in instance.trait_names(config=True)}
        state = {name: instance.__dict__[name] for name in RECORDING_STATE if name in instance.__dict__}
    yield
    if not DockMagic.initialized():
        return
    instance = DockMagic.instance()
    if not existed:
        before, state = instance.trait_defaults(*instance.trait_names(config=True)), {}
    for name, value in before.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
    for name in RECORDING_STATE:
        instance.__dict__.pop(name, None)
    instance.__dict__.update(state)


@pytest.fixture
def settings(ipython_shell):
    """The shell's DockMagic, put back as it was after the test."""
    from dockmagic.magics.settings import DockMagic

    instance = DockMagic.instance()
    before = {name: getattr(instance, name) for name in instance.trait_names(config=True)}
    yield instance
    for name, value in before.items():
        setattr(instance, name, value)


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
