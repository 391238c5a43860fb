"""Faults and bad input, on the real engine: the engine killed mid-operation, interrupts, two builds at
once, output that is not text, odd build contexts, and input the engine would refuse.

Each test ends with the kernel usable and, of what its operations could have made (containers and tags
carrying the test's own token: other runs share this engine), nothing left but what the user asked for.
Each records a row of docs/reliability.md (see tests/reliability.py): the fault, what the user saw, how
long it took to say so, and what was left behind.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import tracemalloc

import pytest

import dockmagic
from dockmagic.errors import (
    DockerBuildError,
    EngineConnectionLost,
    EngineUnavailable,
    NotFound,
)
from dockmagic.models.build import MAX_LINE_CHARS
from dockmagic.operations.containers import OUTPUT_TAIL_BYTES

from .conftest import docker_cli, engine_is_podman
from .reliability import ROOT

pytestmark = [pytest.mark.engine]

DOCKER_PID_FILE = "/var/run/docker.pid"
CONTAINERD_PID_FILE = "/var/run/docker/containerd/containerd.pid"
DOCKER_SOCKET = "/var/run/docker.sock"
HANG_BOUND_SECONDS = 10  # "within a few seconds": generous, only there to catch a hang


# --- what was made, before and after ---------------------------------------------------------------

def snapshot(token: str) -> dict:
    """The containers (all states) and image tags that carry ``token``: everything a test's operations
    could have made. Other test runs share the engine, so their containers are left out."""
    lines = docker_cli("ps", "-a", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}\t{{.Command}}").stdout
    containers = {f"{line.split(chr(9))[0][:12]} ({line.split(chr(9))[1]})"
                  for line in lines.splitlines() if token in line}
    tags = {tag for tag in docker_cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
            if token in tag}
    return {"containers": containers, "image tags": tags}


def token_containers(token: str) -> list[str]:
    lines = docker_cli("ps", "-a", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}\t{{.Command}}\t{{.Status}}",
                       check=False).stdout
    return [line for line in lines.splitlines() if token in line]


def remove_everything_of(token: str) -> None:
    for line in token_containers(token):
        docker_cli("rm", "-f", line.split("\t")[0], check=False)
    for tag in snapshot(token)["image tags"]:
        docker_cli("rmi", "-f", tag, check=False)


def wait_for(condition, timeout: float = 30.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {condition}")


def assert_one_line(text: str) -> None:
    """What the user saw is a short message, not a traceback wall."""
    assert "Traceback" not in text, text
    assert 'File "' not in text, text
    assert "site-packages" not in text, text


# --- the engine: killed and started again -----------------------------------------------------------

def engine_pid() -> int:
    with open(DOCKER_PID_FILE) as handle:
        pid = int(handle.read().strip())
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        command = handle.read().replace(b"\0", b" ").decode()
    # Only ever the engine the tests use (a second, TLS engine may run beside it).
    assert "dockerd" in command and DOCKER_SOCKET in command, command
    return pid


def kill_engine() -> float:
    """SIGKILL the engine's daemon; returns when it was killed."""
    os.kill(engine_pid(), signal.SIGKILL)
    return time.monotonic()


def _process_state(pid: int) -> str | None:
    """The state letter of process ``pid`` ("Z" for a zombie), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def engine_answers() -> bool:
    return docker_cli("info", "--format", "{{.ServerVersion}}", check=False).returncode == 0


def restart_engine() -> None:
    """The project's setup script starts the daemon again (idempotent). In a session of its own, so the
    daemon does not belong to this test run's process group."""
    if engine_answers():
        return
    # dockerd refuses to start while its pid file names a process that exists, and waits in vain for a
    # containerd whose pid file does: the killed daemon and its containerd may linger as zombies until
    # init reaps them. Wait for them to be dead, then drop the pid files of the dead.
    for pid_file in (DOCKER_PID_FILE, CONTAINERD_PID_FILE):
        try:
            with open(pid_file) as handle:
                old_pid = int(handle.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            continue
        deadline = time.monotonic() + 3
        while _process_state(old_pid) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        if _process_state(old_pid) in (None, "Z"):
            os.remove(pid_file)
    subprocess.run(["setsid", "bash", os.path.join(ROOT, "scripts", "setup-engine.sh")], cwd=ROOT,
                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180, check=True)
    assert engine_answers()


def restart_engine_again() -> None:
    """restart_engine, tried a second time if the first start failed: the engine must come back."""
    try:
        restart_engine()
    except (subprocess.CalledProcessError, AssertionError):
        time.sleep(1)
        restart_engine()


@pytest.fixture(scope="module")
def killable_image():
    """busybox with STOPSIGNAL SIGKILL: when the restarted daemon stops the containers the killed one left
    running, they stop at once instead of after the 10 s a shell ignoring SIGTERM would cost (each outage
    stays short for the other runs sharing this engine)."""
    tag = f"dmfault-killable-{os.getpid()}:1"
    dockmagic.build("FROM busybox\nSTOPSIGNAL SIGKILL\n", tags=[tag])
    yield tag
    docker_cli("rmi", "-f", tag, check=False)


def kill_engine_when(condition, timeout: float = 60.0) -> dict:
    """Kill the engine from a thread as soon as ``condition()`` holds; the returned dict gets "at"."""
    killed: dict = {}

    def watch():
        try:
            wait_for(condition, timeout)
            killed["at"] = kill_engine()
        except BaseException as error:  # reported by the test, which finds no "at"
            killed["error"] = error

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    killed["thread"] = thread
    return killed


def user_cell(shell, code: str, capfd) -> tuple[BaseException | None, str]:
    """Run ``code`` as a user's cell; (the error it raised, everything it printed, error display included)."""
    capfd.readouterr()
    result = shell.run_cell(code, store_history=False)
    captured = capfd.readouterr()
    # What a terminal shows, colours aside.
    return result.error_in_exec, re.sub(r"\x1b\[[0-9;]*m", "", captured.out + captured.err)


def cell_while_the_engine_is_killed(shell, code: str, capfd, when) -> tuple[BaseException | None, str, float]:
    """Run ``code`` as a user's cell while a thread kills the engine once ``when()`` holds, then start the
    engine again: (the cell's error, what it showed, seconds from the kill to the cell's end)."""
    killed = kill_engine_when(when)
    try:
        error, shown = user_cell(shell, code, capfd)
        failed_at = time.monotonic()
    finally:
        killed["thread"].join(70)
        restart_engine_again()
    assert "at" in killed, killed
    return error, shown, failed_at - killed["at"]


@pytest.mark.slow
def test_engine_unreachable_when_the_extension_loads(kernel_factory, fault_report):
    # A user whose one engine is this Docker: a Podman service left running here would otherwise answer
    # on the next default socket.
    kernel = kernel_factory(env=dict(os.environ, DOCKER_HOST=f"unix://{DOCKER_SOCKET}"))
    try:
        kill_engine()
        wait_for(lambda: not engine_answers(), timeout=10)
        loaded = kernel.execute("%load_ext dockmagic")
        assert loaded.error is None
        cell = kernel.execute("%docker_images")
    finally:
        restart_engine_again()
    assert cell.error["ename"] == "EngineUnavailable"
    assert "No container engine answered" in cell.error["evalue"]
    assert f"unix://{DOCKER_SOCKET} (connection refused)" in cell.error["evalue"]
    assert_one_line("\n".join(cell.error["traceback"]))
    assert cell.seconds < HANG_BOUND_SECONDS
    back = kernel.execute("%docker_images")
    assert back.error is None and "busybox" in back.shown_data
    fault_report("Engine not running when the extension loads (%load_ext, then %docker_images)",
                 f"{cell.error['ename']}: {cell.error['evalue']}", cell.seconds, left="nothing (nothing was sent)")


def token_processes(token: str) -> list[int]:
    """The machine's processes whose command line carries ``token``: a BuildKit RUN step runs as one
    (in a runc container the engine does not list as a container)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if token.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue  # gone meanwhile
    return found


def process_left_running(token: str) -> list[str]:
    """The command lines of ``token``'s processes still running after a few seconds' grace; they are killed."""
    try:
        wait_for(lambda: not token_processes(token), timeout=HANG_BOUND_SECONDS)
        return []
    except AssertionError:
        left = []
        for pid in token_processes(token):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    left.append(handle.read().replace(b"\0", b" ").decode(errors="replace").strip())
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
        return left


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)  # the cleanup note depends on when the restarted engine lists the container
def test_engine_killed_during_a_legacy_build(ipython_shell, unique_name, killable_image, capfd, fault_report):
    token = unique_name("dmfault")
    before = snapshot(token)
    cell = (f"%%dockerfile -t {token}:1 --no-cache --builder legacy\nFROM {killable_image}\n"
            f"RUN echo {token}; while true; do sleep 0.1; done\n")
    error, shown, seconds = cell_while_the_engine_is_killed(
        ipython_shell, cell, capfd,
        when=lambda: token_containers(token))
    assert isinstance(error, DockerBuildError)
    assert "the container engine stopped answering during the build" in str(error)
    assert isinstance(error, EngineConnectionLost) and isinstance(error, DockerBuildError)
    assert f"BuildConnectionLost: Step 2/2 (RUN echo {token}" in shown
    assert_one_line(shown)
    assert seconds < HANG_BOUND_SECONDS
    # The restarted daemon keeps the build's stopped container; the next magic removes it and says so.
    assert token_containers(token), "the restarted engine kept no container of the killed build"
    error, shown_next = user_cell(ipython_shell, "%docker_run busybox echo engine is back", capfd)
    assert error is None and "engine is back" in shown_next
    assert "dockmagic: removed 1 container(s) left by an operation the engine's stop interrupted" in shown_next
    after = snapshot(token)
    assert after == before
    fault_report("Engine killed (SIGKILL dockerd) during a %%dockerfile RUN step (legacy builder), then restarted",
                 shown.strip().splitlines()[-1] + " — next magic: " + shown_next.strip().splitlines()[0],
                 seconds, before, after)


@pytest.mark.slow
def test_engine_killed_during_a_buildkit_build(ipython_shell, unique_name, killable_image, capfd, fault_report):
    # BuildKit runs inside dockerd: killing dockerd ends the build. Its RUN step is a runc container the
    # engine never lists, so the kill waits for the step's process, and "nothing left" means no process.
    token = unique_name("dmfault")
    before = snapshot(token)
    cell = (f"%%dockerfile -t {token}:1 --no-cache --builder buildkit\nFROM {killable_image}\n"
            f"RUN echo {token}; while true; do sleep 0.1; done\n")
    error, shown, seconds = cell_while_the_engine_is_killed(
        ipython_shell, cell, capfd,
        when=lambda: token_processes(token))
    assert isinstance(error, DockerBuildError)
    assert "the container engine stopped answering during the build" in str(error)
    assert isinstance(error, EngineConnectionLost) and isinstance(error, DockerBuildError)
    assert "BuildConnectionLost: " in shown and "Nothing was tagged" in shown
    assert_one_line(shown)
    assert seconds < HANG_BOUND_SECONDS
    # The step's process must not outlive the engine. (A runc container whose runc died keeps running: one
    # left is killed here, so that a failure of this test leaves no busy loop on the machine.)
    left_running = process_left_running(token)
    error, shown_next = user_cell(ipython_shell, "%docker_run busybox echo engine is back", capfd)
    assert error is None and "engine is back" in shown_next
    assert "left by an operation the engine's stop interrupted" not in shown_next
    after = snapshot(token)
    assert after == before
    fault_report("Engine killed (SIGKILL dockerd) during a %%dockerfile RUN step (BuildKit), then restarted",
                 shown.strip().splitlines()[-1] + " — next magic: " + shown_next.strip().splitlines()[0],
                 seconds, before, after)
    if left_running:
        # dockerd 20.10's BuildKit runs the step under runc without a parent-death signal: a SIGKILLed dockerd
        # leaves it running, outside any container the engine (or dockmagic, through the engine) can see.
        pytest.xfail(f"the engine left the killed build's RUN step running: {left_running}")


@pytest.mark.slow
def test_engine_killed_during_a_run(ipython_shell, unique_name, killable_image, capfd, fault_report):
    token = unique_name("dmfault")
    before = snapshot(token)
    error, shown, seconds = cell_while_the_engine_is_killed(
        ipython_shell, f"%docker_run {killable_image} sh -c 'echo {token}; sleep 60'", capfd,
        when=lambda: any("Up " in line for line in token_containers(token)))
    assert isinstance(error, EngineConnectionLost)
    assert "stopped answering while container" in str(error)
    assert "is removed when the engine answers again" in str(error)
    assert token in shown and "EngineConnectionLost: " in shown
    assert_one_line(shown)
    assert seconds < HANG_BOUND_SECONDS
    assert token_containers(token), "the restarted engine kept no container of the killed run"
    seen = _last_error(shown)
    error, shown_next = user_cell(ipython_shell, "%docker_run busybox echo engine is back", capfd)
    assert error is None and "engine is back" in shown_next and "dockmagic: removed 1 container(s)" in shown_next
    after = snapshot(token)
    assert after == before
    fault_report("Engine killed during %docker_run, then restarted",
                 seen + " — next magic: " + shown_next.strip().splitlines()[0], seconds, before, after)


_ERROR_LINE = re.compile(r"^\w*(Error|NotFound|Lost|Interrupted|Unavailable|Cancelled): ")


def _last_error(shown: str) -> str:
    """The line where IPython shows the error (``NotFound: No image ...``), else the end of the output."""
    lines = [line for line in shown.splitlines() if _ERROR_LINE.match(line)]
    return lines[-1] if lines else shown.strip()[-300:]


@pytest.mark.slow
def test_engine_killed_during_a_shell_cell(ipython_shell, unique_name, killable_image, capfd, fault_report):
    token = unique_name("dmfault")
    ipython_shell.run_line_magic("docker_start", f"{killable_image} --name {token} --network none")
    try:
        before = snapshot(token)
        started = time.monotonic()
        error, shown, seconds = cell_while_the_engine_is_killed(
            ipython_shell, f"%%docker_shell {token}\necho working; sleep 60\n", capfd,
            when=lambda: time.monotonic() - started > 2.0)
        assert isinstance(error, EngineConnectionLost)
        assert "stopped answering during %docker_shell" in str(error)
        assert "working" in shown
        assert_one_line(shown)
        assert seconds < HANG_BOUND_SECONDS
        # The restarted engine stopped the container (no live restore): the next cell says so, clearly.
        error, shown_next = user_cell(ipython_shell, f"%%docker_shell {token}\necho again\n", capfd)
        assert "is not running (exited" in str(error) and "Restart it with docker start" in str(error)
        assert_one_line(shown_next)
        after = snapshot(token)
        assert after == before  # only the container the user started, now stopped
        fault_report("Engine killed during a %%docker_shell cell, then restarted",
                     f"{_last_error(shown)} — next cell: {_last_error(shown_next)}", seconds, before, after)
    finally:
        docker_cli("rm", "-f", token, check=False)


@pytest.mark.slow
def test_engine_killed_during_a_diff(ipython_shell, unique_name, capfd, fault_report):
    token = unique_name("dmfault")
    docker_cli("run", "--name", token, "--network", "none", "busybox", "sh", "-c",
               "mkdir /many && cd /many && seq 1 60000 | xargs touch")
    try:
        before = snapshot(token)
        started = time.monotonic()
        error, shown, seconds = cell_while_the_engine_is_killed(
            ipython_shell, f"%docker_diff {token}", capfd,
            when=lambda: time.monotonic() - started > 0.3)
        assert isinstance(error, EngineConnectionLost), shown[-500:]
        assert "stopped answering during %docker_diff" in str(error)
        assert_one_line(shown)
        assert seconds < HANG_BOUND_SECONDS
        error, shown_next = user_cell(ipython_shell, f"d = %docker_diff {token}\nprint(len(d))", capfd)
        assert error is None and "60001" in shown_next
        after = snapshot(token)
        assert after == before
        fault_report("Engine killed during %docker_diff (60,000 changes), then restarted",
                     _last_error(shown) + " — next %docker_diff: 60001 changes", seconds, before, after)
    finally:
        docker_cli("rm", "-f", token, check=False)


# --- interrupts, in a real kernel ------------------------------------------------------------------

class Outcome:
    def __init__(self, messages, seconds, interrupted_at=None, finished_at=None):
        self.messages = messages
        self.seconds = seconds
        self.after_interrupt = None if interrupted_at is None else finished_at - interrupted_at
        self.text = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
        self.shown_data = "".join(m["content"]["data"].get("text/plain", "") for m in messages
                                  if m["msg_type"] in ("display_data", "execute_result"))
        errors = [m["content"] for m in messages if m["msg_type"] == "error"]
        self.error = errors[-1] if errors else None

    def shown(self) -> str:
        if self.error is None:
            return self.text
        return self.text + "\n".join(self.error["traceback"])


def _stream_text(messages) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


class Kernel:
    """A real IPython kernel driven through jupyter_client, as a notebook drives it."""

    def __init__(self, manager, client):
        self.manager = manager
        self.client = client

    def execute(self, code: str, timeout: float = 120, interrupt_when=None) -> Outcome:
        msg_id = self.client.execute(code)
        messages = []
        started = time.monotonic()
        interrupted_at = None
        while True:
            if interrupt_when is not None and interrupted_at is None and interrupt_when(_stream_text(messages)):
                self.manager.interrupt_kernel()
                interrupted_at = time.monotonic()
            if time.monotonic() - started > timeout:
                self.manager.interrupt_kernel()
                raise AssertionError(f"the cell did not finish within {timeout} s: {code!r}")
            try:
                message = self.client.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
            messages.append(message)
        finished = time.monotonic()
        return Outcome(messages, finished - started, interrupted_at, finished)


@pytest.fixture(scope="module")
def kernel_factory(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    started = []

    def make(env: dict | None = None) -> Kernel:
        options = {"env": env} if env is not None else {}  # jupyter_client takes no env=None
        manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path_factory.mktemp("kernel")),
                                           **options)
        kernel = Kernel(manager, client)
        started.append(kernel)
        return kernel

    yield make
    for kernel in started:
        kernel.client.stop_channels()
        kernel.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(kernel_factory):
    kernel = kernel_factory()
    loaded = kernel.execute("%load_ext dockmagic")
    assert loaded.error is None, loaded.shown()
    return kernel


def assert_kernel_usable(kernel: Kernel) -> None:
    outcome = kernel.execute("print(6 * 7)")
    assert outcome.error is None and outcome.text == "42\n"


def error_line(outcome: Outcome) -> str:
    assert outcome.error is not None, outcome.text
    shown = "\n".join(outcome.error["traceback"])
    assert_one_line(shown)
    assert len(outcome.error["traceback"]) == 1
    return f"{outcome.error['ename']}: {outcome.error['evalue']}"


# What shows that a build's RUN step is running: the legacy builder's step is a container the engine lists,
# BuildKit's a runc process the engine does not list (its shell's command line carries the token as long as
# the shell does not exec its last command).
STEP_RUNNING = {"legacy": token_containers, "buildkit": token_processes}


@pytest.mark.slow
@pytest.mark.parametrize("builder", ["legacy", "buildkit"])
def test_interrupting_a_build_leaves_no_container_and_no_tag(kernel, unique_name, builder, fault_report):
    token = unique_name("dmfault")
    before = snapshot(token)
    outcome = kernel.execute(f"%%dockerfile -t {token}:1 --no-cache --builder {builder}\nFROM busybox\n"
                             f"RUN echo {token}; sleep 60; echo slept\n",  # sleep not last: sh stays, token in view
                             interrupt_when=lambda _: STEP_RUNNING[builder](token))
    assert outcome.error["ename"] == "BuildCancelled"
    assert "Build interrupted" in outcome.error["evalue"] and "nothing was tagged" in outcome.error["evalue"]
    seen = error_line(outcome)
    assert outcome.after_interrupt < HANG_BOUND_SECONDS
    assert_kernel_usable(kernel)
    wait_for(lambda: not token_processes(token), timeout=HANG_BOUND_SECONDS)  # the step's process ended
    after = snapshot(token)
    assert after == before
    fault_report(f"Interrupt (kernel interrupt) during a %%dockerfile RUN step ({builder})", seen,
                 outcome.after_interrupt, before, after)


class SilentRegistry:
    """A TCP listener on loopback that accepts connections and never answers: a pull from it hangs."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def all_closed_by_the_engine(self) -> bool:
        """True once every accepted connection was closed by its client (a read gives EOF)."""
        for connection in self.accepted:
            connection.setblocking(False)
            try:
                while True:
                    data = connection.recv(65536)
                    if not data:
                        break
            except BlockingIOError:
                return False
            except OSError:
                continue
        return True

    def close(self):
        self.server.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_registry():
    registry = SilentRegistry()
    yield registry
    registry.close()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["build-legacy", "build-buildkit", "run"])
def test_interrupting_a_pull_that_hangs(kernel, unique_name, silent_registry, how, fault_report):
    token = unique_name("dmfault")
    image = f"127.0.0.1:{silent_registry.port}/{token}:latest"
    before = snapshot(token)
    code = (f"%%dockerfile -t {token}:1 --builder {how.split('-')[1]}\nFROM {image}\nRUN true\n"
            if how.startswith("build") else f"%docker_run {image} echo never")
    outcome = kernel.execute(code, interrupt_when=lambda _: silent_registry.accepted)
    seen = error_line(outcome)
    if how == "build-legacy":
        assert outcome.error["ename"] == "BuildCancelled"
    elif how == "build-buildkit":
        # dockmagic pulls BuildKit's base images through the engine before the build: the interrupt
        # stops that pull, before any build started.
        assert outcome.error["ename"] == "Interrupted"
        assert "%dockerfile was stopped before it finished" in outcome.error["evalue"]
    else:
        assert outcome.error["ename"] == "Interrupted"
        assert f"Interrupted while pulling '{image}'" in outcome.error["evalue"]
        assert "nothing was pulled and no container was made" in outcome.error["evalue"]
        assert "dockmagic stopped waiting" in outcome.error["evalue"]
    assert outcome.after_interrupt < HANG_BOUND_SECONDS
    # The engine does not abandon a pull when its client goes: it gives up at its own TLS handshake
    # timeout (10 s), and closes its connections to the registry then.
    wait_for(silent_registry.all_closed_by_the_engine, timeout=20)
    assert docker_cli("image", "inspect", image, check=False).returncode != 0
    assert_kernel_usable(kernel)
    after = snapshot(token)
    assert after == before
    what = f"FROM an image whose registry never answers (%%dockerfile, {how[len('build-'):]})" \
        if how.startswith("build") else \
        "%docker_run of an image whose registry never answers"
    fault_report(f"Interrupt during a pull that hangs: {what}", seen, outcome.after_interrupt, before, after)


@pytest.mark.slow
def test_interrupting_a_run_kills_and_removes_its_container(kernel, unique_name, fault_report):
    token = unique_name("dmfault")
    before = snapshot(token)
    outcome = kernel.execute(f"%docker_run busybox sh -c 'echo {token}; sleep 60'",
                             interrupt_when=lambda _: any("Up " in line for line in token_containers(token)))
    seen = error_line(outcome)
    assert outcome.error["ename"] == "Interrupted"
    assert "was killed and removed" in outcome.error["evalue"]
    assert outcome.after_interrupt < HANG_BOUND_SECONDS
    assert_kernel_usable(kernel)
    after = snapshot(token)
    assert after == before
    fault_report("Interrupt during %docker_run (a program sleeping)", seen, outcome.after_interrupt, before, after)


@pytest.mark.slow
def test_interrupting_a_shell_command_keeps_the_shell(kernel, unique_name, fault_report):
    token = unique_name("dmfault")
    kernel.execute(f"%docker_start busybox --name {token} --network none")
    try:
        before = snapshot(token)
        outcome = kernel.execute(f"%%docker_shell {token}\ncd /tmp; echo started; sleep 60\n",
                                 interrupt_when=lambda text: "started" in text)
        seen = error_line(outcome)
        assert outcome.error["ename"] == "CellInterrupted"
        assert "the cell's command was stopped" in outcome.error["evalue"]
        assert outcome.after_interrupt < HANG_BOUND_SECONDS
        again = kernel.execute(f"%%docker_shell {token}\npwd; ps | grep -c 'sleep 60' || true\n")
        assert again.error is None and again.text.splitlines()[0] == "/tmp"
        assert_kernel_usable(kernel)
        after = snapshot(token)
        assert after == before
        fault_report("Interrupt during a %%docker_shell command (sleep 60)",
                     seen + " — next cell runs in /tmp, same shell", outcome.after_interrupt, before, after)
    finally:
        docker_cli("rm", "-f", token, check=False)


@pytest.mark.slow
def test_interrupting_a_commit_removes_the_image_it_made(kernel, unique_name, fault_report):
    token = unique_name("dmfault")
    repository = f"{token}-image"
    # The tag exists already (on busybox): an interrupted commit must leave it where it was.
    docker_cli("tag", "busybox:latest", f"{repository}:1")
    busybox_id = docker_cli("image", "inspect", "-f", "{{.Id}}", "busybox:latest").stdout.strip()
    kernel.execute(f"%docker_start busybox --name {token} --network none")
    events = None
    try:
        filled = kernel.execute(f"%%docker_shell {token}\nhead -c 300000000 /dev/urandom > /big && echo filled\n")
        assert filled.error is None and "filled" in filled.text
        before = snapshot(token)
        # The engine pauses a running container for the whole commit: its "pause" event says the commit began.
        events = subprocess.Popen(["docker", "events", "--filter", f"container={token}", "--filter", "event=pause",
                                   "--format", "{{.Action}}"], stdout=subprocess.PIPE, text=True)
        paused = threading.Event()
        threading.Thread(target=lambda: (events.stdout.readline(), paused.set()), daemon=True).start()
        time.sleep(0.5)  # the event stream is open before the commit starts
        outcome = kernel.execute(f"%docker_commit {token} {repository}:1", interrupt_when=lambda _: paused.is_set())
        seen = error_line(outcome)
        assert outcome.error["ename"] == "Interrupted"
        assert "waited for it and removed the image it made" in outcome.error["evalue"]
        assert f"{repository}:1 points again to {busybox_id.split(':')[1][:12]}" in outcome.error["evalue"]
        assert outcome.after_interrupt < HANG_BOUND_SECONDS
        assert docker_cli("image", "inspect", "-f", "{{.Id}}", f"{repository}:1").stdout.strip() == busybox_id
        # No image committed from this container survives.
        committed = [line for line in docker_cli("images", "-a", "-q", "--no-trunc").stdout.split()
                     if docker_cli("image", "inspect", "-f", "{{.Container}}", line, check=False).stdout.strip()
                     == _container_id(token)]
        assert committed == []
        assert_kernel_usable(kernel)
        after = snapshot(token)
        assert after == before
        fault_report("Interrupt during %docker_commit (300 MB layer) onto an existing tag", seen,
                     outcome.after_interrupt, before, after)
    finally:
        if events is not None:
            events.kill()
            events.wait()
        docker_cli("rm", "-f", token, check=False)
        docker_cli("rmi", f"{repository}:1", check=False)


def _container_id(name: str) -> str:
    return docker_cli("inspect", "-f", "{{.Id}}", name).stdout.strip()


def test_the_live_view_says_a_builds_notices_once(kernel, unique_name):
    """In a notebook the view's header shows the build's notices; they are not written to stderr as well."""
    if docker_cli("network", "ls", "--filter", "name=^bridge$", "-q").stdout.strip():
        pytest.skip("this engine has a bridge network: BuildKit gives no notice")
    if engine_is_podman():
        pytest.skip("Podman builds with buildah: no BuildKit network notice")
    tag = f"{unique_name('dmfault')}:1"
    try:
        outcome = kernel.execute(f"%%dockerfile --no-cache -t {tag}\nFROM busybox\nRUN true\n")
        assert outcome.error is None, outcome.shown()
        stderr = "".join(m["content"]["text"] for m in outcome.messages
                         if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        sent = "".join(json.dumps(m["content"].get("data", {})) for m in outcome.messages
                       if m["msg_type"] in ("comm_open", "comm_msg"))
        assert "no bridge network" not in stderr and "no bridge network" in sent
    finally:
        docker_cli("rmi", tag, check=False)


# --- two builds at once ----------------------------------------------------------------------------

@pytest.mark.slow
def test_two_builds_from_two_threads_keep_their_own_views_and_logs(kernel, unique_name, tmp_path, fault_report):
    token = unique_name("dmfault")
    shared_logs = tmp_path / "logs"
    before = snapshot(token)
    code = f"""
import threading
ip = get_ipython()
ip.run_line_magic("config", "DockMagic.log_dir = {str(shared_logs)!r}")
failures = []
def build(letter):
    try:
        ip.run_cell_magic("dockerfile", f"--no-cache -t {token}-{{letter}}:1 -o result_{{letter}}",
                          "FROM busybox\\n"
                          f"RUN for i in 1 2 3 4 5 6 7 8; do echo {token}-{{letter}}-$i; sleep 0.25; done\\n")
    except Exception as error:
        failures.append(repr(error))
threads = [threading.Thread(target=build, args=(letter,)) for letter in "ab"]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
ip.run_line_magic("config", "DockMagic.log_dir = ''")
print(failures)
"""
    try:
        outcome = kernel.execute(code)
        assert outcome.error is None, outcome.shown()
        # Nothing failed; the engine's notices (one a build: "This engine has no bridge network") aside.
        assert outcome.text.strip().splitlines()[-1] == "[]", outcome.text
        summary = kernel.execute(
            "import json\nprint(json.dumps({x: {'log': r.steps[1].log, 'dir': r.log_dir, 'start': "
            "r.steps[1].started, 'end': r.steps[1].started + r.steps[1].seconds, 'ok': r.ok} "
            "for x, r in (('a', result_a), ('b', result_b))}))")
        results = json.loads(summary.text)
        # Each widget's state and updates, by comm: what each view was sent.
        sent: dict[str, str] = {}
        for message in outcome.messages:
            if message["msg_type"] in ("comm_open", "comm_msg"):
                comm = message["content"]["comm_id"]
                sent[comm] = sent.get(comm, "") + json.dumps(message["content"]["data"])
        views = {comm: text for comm, text in sent.items() if f"{token}-a-1" in text or f"{token}-b-1" in text}
    finally:
        remove_everything_of(token)
    assert results["a"]["ok"] and results["b"]["ok"]
    # They did run at the same time.
    assert results["a"]["start"] < results["b"]["end"] and results["b"]["start"] < results["a"]["end"]
    assert results["a"]["dir"] != results["b"]["dir"]
    for mine in ("a", "b"):
        log = results[mine]["log"]
        assert [line for line in log.splitlines() if token in line] == [f"{token}-{mine}-{i}" for i in range(1, 9)]
    assert len(views) == 2
    for text in views.values():
        has_a, has_b = f"{token}-a-" in text, f"{token}-b-" in text
        assert has_a != has_b, "a view holds lines of both builds"
        mine = "a" if has_a else "b"
        assert all(f"{token}-{mine}-{i}" in text for i in range(1, 9))
    after = snapshot(token)
    assert after == before
    fault_report("Two %%dockerfile builds at once from two threads of one kernel, sharing DockMagic.log_dir",
                 "two live views; each view and each result's step log holds only its own 8 lines; "
                 "each build logs to its own folder", None, before, after)


# --- output that is not plain text -----------------------------------------------------------------

WEIRD_SCRIPT = (
    r"printf 'bad \377\376 bytes\n'; printf '\033[31mred\033[0m \033[2K\033[1Acursor\n'; "
    r"printf 'progress 10%%\rprogress 50%%\rprogress 100%%\n'; printf 'nul\000byte\n'; "
    r"head -c 10000000 /dev/zero | tr '\000' x; printf '\nend\n'"
)


@pytest.mark.slow
def test_weird_output_of_a_build_step_is_shown_safely(unique_name, fault_report):
    from dockmagic.views.build_widget import LiveBuildView

    token = unique_name("dmfault")
    views = []
    tracemalloc.start()
    try:
        # The legacy builder's model and view (LiveBuildView); its engine sends the 10 MB line whole.
        result = dockmagic.build(f"FROM busybox\nRUN echo {token}; {WEIRD_SCRIPT}\n", no_cache=True, builder="legacy",
                                 watch=lambda progress: views.append(LiveBuildView(progress)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    step = result.steps[1]
    shown = [text for text, _ in step._tail]
    assert shown[1:] == [
        "bad \ufffd\ufffd bytes", "red cursor", "progress 100%", "nul\u2400byte",
        shown[5], "end",
    ]
    assert shown[5].startswith("x" * MAX_LINE_CHARS) and "more characters in the log file" in shown[5]
    assert len(shown[5]) < MAX_LINE_CHARS + 100
    assert len(step.log) > 10_000_000  # the whole line is in the log file
    view = views[0]
    view.flush()
    state = json.dumps({"steps": view.widget.steps, "tails": view.widget.log_tails, "header": view.widget.header})
    for bad in ("\\u001b", "\\u0000", "\\ud8"):
        assert bad not in state
    tails = [text for text, _ in view.widget.log_tails["1"]]
    assert tails == shown and not any("\r" in text for text in tails)
    assert peak < 64 * 1024 * 1024, peak
    fault_report("Build step printing bytes that are not UTF-8, ANSI colour/cursor codes, \\r progress, NUL, "
                 "and one 10 MB line with no newline",
                 " | ".join(shown[1:5]) + f" | a 10 MB line cut to {MAX_LINE_CHARS} characters + '… (more in the "
                 f"log file)'; peak memory {peak // (1024 * 1024)} MB", None, left="nothing (build ok)")


@pytest.mark.slow
def test_weird_output_of_a_run_and_a_shell_cell_is_shown_safely(ipython_shell, unique_name, capfd, fault_report):
    token = unique_name("dmfault")
    before = snapshot(token)
    capfd.readouterr()
    ipython_shell.run_line_magic("docker_run", f"-o weird busybox sh -c \"{WEIRD_SCRIPT}\"")
    printed = capfd.readouterr().out
    result = ipython_shell.user_ns["weird"]
    assert result.exit_code == 0
    assert "bad \ufffd\ufffd bytes" in printed and "\x1b[31mred" in printed and "nul\0byte" in printed
    assert len(printed) > 10_000_000
    assert len(result.output.encode()) <= OUTPUT_TAIL_BYTES + 4 and result.truncated
    assert result.output.endswith("x\nend\n")
    ipython_shell.run_line_magic("docker_start", f"busybox --name {token} --network none")
    try:
        capfd.readouterr()
        ipython_shell.run_cell_magic("docker_shell", token, WEIRD_SCRIPT + "\necho after\n")
        printed_shell = capfd.readouterr().out
        assert "bad \ufffd\ufffd bytes" in printed_shell and printed_shell.endswith("end\nafter\nexit status 0\n")
        assert len(printed_shell) > 10_000_000
        ipython_shell.run_cell_magic("docker_shell", token, "echo still here")
        assert capfd.readouterr().out == "still here\nexit status 0\n"
    finally:
        docker_cli("rm", "-f", token, check=False)
    after = snapshot(token)
    assert after == before
    fault_report("%docker_run and a %%docker_shell cell printing the same bytes",
                 "streamed as printed (colours and \\r kept for the frontend, bad bytes as \ufffd); the run's "
                 f".output keeps the last {OUTPUT_TAIL_BYTES // 1024} KiB; the shell goes on", None, before, after)


# --- build contexts --------------------------------------------------------------------------------

def test_symlinks_pointing_outside_the_context(ipython_shell, unique_name, tmp_path, capfd, fault_report):
    token = unique_name("dmfault")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"secret-{token}\n")
    context = tmp_path / "context"
    context.mkdir()
    (context / "inside.txt").write_text("inside\n")
    os.symlink(outside / "secret.txt", context / "file-link")
    os.symlink("../outside", context / "dir-link")
    before = snapshot(token)
    error, shown = user_cell(ipython_shell, f"%%dockerfile --context {context} -o linked -t {token}:1\nFROM busybox\n"
                             "COPY . /ctx\nRUN ls -l /ctx; cat /ctx/file-link || echo no-target\n", capfd)
    assert error is None
    assert "Warning: 2 symbolic link(s) in the build context point outside it" in shown
    assert f"file-link -> {outside / 'secret.txt'}" in shown and "dir-link -> ../outside" in shown
    assert f"secret-{token}" not in ipython_shell.user_ns["linked"].steps[2].log
    assert "no-target" in ipython_shell.user_ns["linked"].steps[2].log
    error, shown_copy = user_cell(ipython_shell, f"%%dockerfile --context {context}\nFROM busybox\n"
                                  "COPY dir-link/secret.txt /secret.txt\n", capfd)
    assert isinstance(error, DockerBuildError)
    assert_one_line(shown_copy)
    docker_cli("rmi", f"{token}:1")
    after = snapshot(token)
    assert after == before
    warning = next(line for line in shown.splitlines() if line.startswith("Warning"))
    fault_report("Build context with symlinks pointing outside it (COPY . then COPY through a linked folder)",
                 warning + " — then: " + _last_error(shown_copy), None, before, after)


def context_warnings(result) -> list[str]:
    """The warnings dockmagic gave about the build context (the engine's own are left out)."""
    return [warning for warning in result.warnings if warning.startswith("Warning: the build context")]


def test_a_huge_context_is_announced_before_it_is_sent(ipython_shell, tmp_path, capfd, fault_report):
    context = tmp_path / "context"
    context.mkdir()
    with open(context / "big.bin", "wb") as handle:
        handle.write(os.urandom(12 * 1024 * 1024))
    notices = io.StringIO()
    order = []
    result = dockmagic.build("FROM busybox\nRUN true\n", context=str(context), context_warning_bytes=10_000_000,
                             notify=notices, watch=lambda progress: order.append(notices.getvalue()))
    announced = order[0].splitlines()  # what was written when the build's first progress came
    assert announced[0].startswith(f"Warning: the build context '{context}' is 12.")
    assert "MB (more than 10" in announced[0]
    # The engine and the builder may add notices of their own (BuildKit: "This engine has no bridge network").
    assert result.ok and context_warnings(result) == [announced[0].strip()]
    ipython_shell.run_line_magic("config", "DockMagic.context_warning_bytes = 10000000")
    try:
        error, shown = user_cell(ipython_shell, f"%%dockerfile --context {context}\nFROM busybox\nRUN true\n", capfd)
    finally:
        ipython_shell.run_line_magic("config", f"DockMagic.context_warning_bytes = {500 * 1024 * 1024}")
    assert error is None and "raise %config DockMagic.context_warning_bytes" in shown
    quiet = dockmagic.build("FROM busybox\nRUN true\n", context=str(context), notify=notices)
    assert context_warnings(quiet) == []
    fault_report("Build context larger than DockMagic.context_warning_bytes (12 MB against 10 MB)",
                 announced[0].strip() + " (written before anything is sent; the build goes on)", None,
                 left="nothing (build ok)")


@pytest.mark.parametrize("builder", ["legacy", "buildkit"])
def test_dockerignore_excluding_the_dockerfile(ipython_shell, unique_name, tmp_path, capfd, builder, fault_report):
    token = unique_name("dmfault")
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox\nRUN echo the folder's own Dockerfile\n")
    (context / "keep.txt").write_text(f"kept-{token}\n")
    (context / "drop.txt").write_text("dropped\n")
    (context / ".dockerignore").write_text("Dockerfile\n*.Dockerfile\n.dockmagic*\n.dockerignore\ndrop.txt\n")
    error, shown = user_cell(ipython_shell, f"%%dockerfile --context {context} -o ignored --builder {builder}\n"
                             "FROM busybox\n"
                             "COPY . /ctx\nRUN ls -A /ctx; cat /ctx/keep.txt\n", capfd)
    assert error is None, shown
    log = ipython_shell.user_ns["ignored"].steps[2].log
    assert log.split() == ["keep.txt", f"kept-{token}"]
    (context / ".dockerignore").write_text("*\n")
    error, shown_all = user_cell(ipython_shell, f"%%dockerfile --context {context} --builder {builder}\n"
                                 "FROM busybox\n"
                                 "COPY keep.txt /keep.txt\n", capfd)
    assert isinstance(error, DockerBuildError) and "keep.txt" in str(error)
    assert_one_line(shown_all)
    fault_report(f".dockerignore excluding the Dockerfile, *.Dockerfile and .dockmagic* "
                 f"(and then everything; {builder})",
                 "the cell's Dockerfile is built anyway and the excluded files stay out (COPY . gives only "
                 "keep.txt); with '*': " + _last_error(shown_all), None, left="nothing")


# --- user input ------------------------------------------------------------------------------------

BEFORE_SENDING = [
    ("%%dockerfile with an empty cell", "cell", "dockerfile", "", ""),
    ("%%dockerfile with only a comment", "cell", "dockerfile", "", "# nothing yet\n"),
    ("%%dockerfile with an unknown option", "cell", "dockerfile", "--frobnicate", "FROM busybox\n"),
    ("%%dockerfile -t with a tag the engine refuses", "cell", "dockerfile", "-t Bad_Tag:1", "FROM busybox\n"),
    ("%%dockerfile --build-arg without =", "cell", "dockerfile", "--build-arg NOEQUALS", "FROM busybox\n"),
    ("%docker_run with an unknown option", "line", "docker_run", "--frobnicate busybox true", None),
    ("%docker_run --name the engine refuses", "line", "docker_run", "--name 'bad name!' busybox true", None),
    ("%docker_run with an image name the engine refuses", "line", "docker_run", "Busy:Box true", None),
    ("%docker_run -e without a key", "line", "docker_run", "-e =x busybox true", None),
    ("%docker_run -v that is not SRC:DST", "line", "docker_run", "-v /only busybox true", None),
    ("%docker_start --name the engine refuses", "line", "docker_start", "busybox --name=-bad", None),
    ("%docker_commit to a repository name the engine refuses", "line", "docker_commit", "box Bad/Repo", None),
    ("%docker_commit -c with an instruction commit cannot apply", "line", "docker_commit",
     "-c 'RUN true' box repo:1", None),
    ("%%docker_shell with no container named", "cell", "docker_shell", "", "echo hi\n"),
    ("%docker_rm with no container named", "line", "docker_rm", "", None),
]


@pytest.mark.parametrize("what, kind, magic, line, cell", BEFORE_SENDING, ids=[b[0] for b in BEFORE_SENDING])
def test_bad_input_is_refused_before_anything_is_sent(ipython_shell, monkeypatch, capfd, what, kind, magic, line,
                                                      cell, fault_report):
    # No engine at all: an error other than EngineUnavailable proves it came before any connection.
    from dockmagic.engine import _connected

    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    _connected.clear()
    code = f"%%{magic} {line}\n{cell}" if kind == "cell" else f"%{magic} {line}"
    started = time.monotonic()
    error, shown = user_cell(ipython_shell, code, capfd)
    seconds = time.monotonic() - started
    assert error is not None and not isinstance(error, EngineUnavailable), shown
    assert_one_line(shown)
    assert seconds < 2
    message = shown.strip().splitlines()[-1] if shown.strip() else f"{type(error).__name__}: {error}"
    if "refuses" in what:  # dockmagic's own check of the name, not the option parser, said no
        assert "is not a valid" in message, message
    fault_report(f"Bad input: {what}", message, seconds, left="nothing (nothing was sent)")


MISSING = [
    ("%docker_diff of a missing container", "line", "docker_diff", "{token}", None, NotFound),
    ("%%docker_shell in a missing container", "cell", "docker_shell", "{token}", "echo hi\n", NotFound),
    ("%docker_commit of a missing container", "line", "docker_commit", "{token} {token}-image:1", None, NotFound),
    ("%docker_rm of a missing container", "line", "docker_rm", "{token}", None, NotFound),
    ("%docker_history of a missing image", "line", "docker_history", "{token}:1", None, NotFound),
    ("%docker_rmi of a missing image", "line", "docker_rmi", "{token}:1", None, NotFound),
    ("%docker_run of a missing image (a pull is tried: no registry)", "line", "docker_run", "{token}:1 true", None,
     NotFound),
    ("%%dockerfile FROM a missing image", "cell", "dockerfile", "", "FROM {token}:1\n", DockerBuildError),
]


@pytest.mark.parametrize("what, kind, magic, line, cell, error_type", MISSING, ids=[m[0] for m in MISSING])
def test_missing_containers_and_images_are_clear_errors(ipython_shell, unique_name, capfd, what, kind, magic, line,
                                                        cell, error_type, fault_report):
    token = unique_name("dmfault")
    before = snapshot(token)
    line, cell = line.format(token=token), (cell or "").format(token=token)
    code = f"%%{magic} {line}\n{cell}" if kind == "cell" else f"%{magic} {line}"
    started = time.monotonic()
    error, shown = user_cell(ipython_shell, code, capfd)
    seconds = time.monotonic() - started
    assert isinstance(error, error_type), shown
    assert token in str(error)
    assert_one_line(shown)
    assert seconds < HANG_BOUND_SECONDS
    after = snapshot(token)
    assert after == before
    fault_report(f"Missing: {what}", _last_error(shown), seconds, before, after)
