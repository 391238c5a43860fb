"""A real JupyterLab (and Notebook 7) on 127.0.0.1 and a real headless Chromium (Debian's) driven by
Playwright: what a person sees, in the page's DOM."""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import nbformat
import pytest

from ..conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: F401 (the browser fixture is there)

TOKEN = "dockmagic-browser-tests"
SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "out" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    def __init__(self, app: str):
        self.root = pathlib.Path(tempfile.mkdtemp(prefix=f"dockmagic-{app}-"))
        self.port = free_port()
        self.app = app
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.root / ".jupyter"),
                   JUPYTER_RUNTIME_DIR=str(self.root / ".runtime"))
        # Lab settings: no news popup, no "build recommended" prompt over the page.
        settings = self.root / ".lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
        # Start the notebook's own kernel without asking.
        tracker = self.root / ".lab-settings" / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True)
        (tracker / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true}')
        # Settings > Save Widget State Automatically: what a user turns on to keep views in saved notebooks.
        widgets = self.root / ".lab-settings" / "@jupyter-widgets" / "jupyterlab-manager"
        widgets.mkdir(parents=True)
        (widgets / "plugin.jupyterlab-settings").write_text('{"saveState": true}')
        env["JUPYTERLAB_SETTINGS_DIR"] = str(self.root / ".lab-settings")
        command = [sys.executable, "-m", "jupyterlab" if app == "lab" else "notebook", "--no-browser",
                   "--allow-root", "--ip=127.0.0.1", f"--port={self.port}", f"--IdentityProvider.token={TOKEN}",
                   f"--ServerApp.root_dir={self.root}", "--ServerApp.disable_check_xsrf=False"]
        self.log = open(self.root / "server.log", "w")
        self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.root / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"{app} did not start: {log}") from None
                time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        if self.app == "lab":
            # ?reset: a fresh workspace, so notebooks of earlier tests are not open behind this one.
            return f"{self.url}/lab/tree/{name}?reset&token={TOKEN}"
        return f"{self.url}/notebooks/{name}?token={TOKEN}"

    def write_notebook(self, name: str, sources: list[str]) -> pathlib.Path:
        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for source in sources],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        path = self.root / name
        nbformat.write(notebook, path)
        return path

    def shutdown_kernels(self):
        """Stop every kernel the server runs (earlier tests' notebooks keep theirs running otherwise)."""
        try:
            request = urllib.request.Request(f"{self.url}/api/kernels?token={TOKEN}")
            import json
            for kernel in json.load(urllib.request.urlopen(request, timeout=5)):
                urllib.request.urlopen(urllib.request.Request(
                    f"{self.url}/api/kernels/{kernel['id']}?token={TOKEN}", method="DELETE"), timeout=10)
        except OSError:
            pass

    def stop(self):
        # Kernels first, so no container work is left running behind the server.
        self.shutdown_kernels()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def lab():
    server = JupyterServer("lab")
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str, locator=None):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = locator if locator is not None else page
    target.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# Watches the kernel's messages in the page: the widget manager is ready for widgets once it has had its
# first comm_info_reply (a cell run before that can show "Error displaying widget: model not found", since
# the kernel's comm_open came before the manager listened); window.dmCommMessages counts the widgets' updates,
# window.dmCommTimes holds when the kernel sent each (its header's date, in ms).
WATCH_KERNEL_MESSAGES = """
if (!window.dmWatchingKernel) {
  window.dmWatchingKernel = true;
  window.dmWidgetManagerReady = false;
  window.dmCommMessages = 0;
  window.dmCommTimes = [];
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
        const type = (text.match(/"msg_type":\\s*"([a-z_]+)"/) || [])[1];
        if (type === "comm_info_reply") window.dmWidgetManagerReady = true;
        if (type === "comm_msg") window.dmCommMessages += 1;
        const date = (text.match(/"date":\\s*"([^"]+)"/) || [])[1];   // the header's, which comes first
        if (type === "comm_msg" && date) window.dmCommTimes.push(Date.parse(date));
      });
    }
  };
}
"""


class NotebookPage:
    """A notebook open in JupyterLab, driven as a person would: keyboard and clicks."""

    def __init__(self, page, server: JupyterServer, name: str):
        self.page = page
        self.server = server
        # One kernel at a time: the earlier tests' kernels (six, by the BuildKit tests) kept the machine busy,
        # and a new notebook's widget manager then sometimes never got its comm_info reply.
        server.shutdown_kernels()
        page.add_init_script(WATCH_KERNEL_MESSAGES)
        page.goto(server.notebook_url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
        # Wait for the kernel to be idle before running anything.
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
        # ...and for the widget manager to listen to it.
        # Now and then (in two of the last three full runs here) the manager's first comm_info request goes
        # unanswered and the page waits on it for good (60 s seen): a reload connects afresh, as a person would.
        for attempt in range(2):
            try:
                page.wait_for_function("() => window.dmWidgetManagerReady", timeout=30000)
                break
            except Exception:
                screenshot(page, f"not-ready-{name}-{attempt}")
                if attempt == 1:
                    raise
                page.reload()
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)

    def run_all(self):
        """Run > Run All Cells, then wait until the kernel has taken every cell (its prompt shows [*] or a
        number). A click made while the kernel is still starting can be lost; it is made again."""
        count = self.notebook.locator(".jp-CodeCell").count()
        queued = ("(count) => { const prompts = Array.from(document.querySelectorAll("
                  "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')).slice(0, count);"
                  " return prompts.filter(p => /\\[(\\*|\\d+)\\]/.test(p.textContent)).length; }")
        for attempt in range(4):
            dialog = self.page.locator(".jp-Dialog")
            if dialog.count() and "Select Kernel" in (dialog.first.text_content() or ""):
                dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
            self.page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
            self.page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
            try:
                self.page.wait_for_function(f"(count) => ({queued})(count) > 0", arg=count, timeout=20000)
                break
            except Exception:
                if attempt == 3:
                    raise
        self.page.wait_for_function(f"(count) => ({queued})(count) === count", arg=count, timeout=120000)

    def run_cell(self, index: int):
        cell = self.notebook.locator(".jp-CodeCell").nth(index)
        cell.locator(".jp-InputArea-prompt").click()
        self.page.keyboard.press("Shift+Enter")

    @property
    def notebook(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first

    def output(self, index: int):
        return self.notebook.locator(".jp-CodeCell").nth(index).locator(".jp-OutputArea")

    def wait_idle(self, timeout=120000):
        self.page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)

    def save(self):
        self.page.keyboard.press("Control+s")
        self.page.wait_for_timeout(1000)
