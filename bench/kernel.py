"""A real Jupyter kernel driven from the benchmark, so that timings include the magic, the widget and
the kernel, and the widget messages are counted as a browser would receive them (iopub comm_msg)."""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field

import psutil
from jupyter_client.manager import start_new_kernel


@dataclass
class CellRun:
    seconds: float
    status: str
    comm_messages: list = field(default_factory=list)  # (seconds since start, bytes)
    outputs: list = field(default_factory=list)
    peak_rss: int = 0
    start_rss: int = 0
    end_rss: int = 0


class BenchKernel:
    def __init__(self):
        self.manager, self.client = start_new_kernel(kernel_name="python3")
        pid = self.manager.provisioner.process.pid
        self.process = psutil.Process(pid)

    def rss(self) -> int:
        return self.process.memory_info().rss

    def run(self, code: str, timeout: float = 600, sample_memory: bool = False, cell_id: str | None = None) -> CellRun:
        """Run ``code``; with ``cell_id``, as that notebook cell (JupyterLab and Notebook 7 send each request
        with its cell's id, so a cell run again is known as such)."""
        peak = [self.rss()]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], self.rss())
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True) if sample_memory else None
        start_rss = peak[0]
        if sampler:
            sampler.start()
        started = time.perf_counter()
        if cell_id is None:
            msg_id = self.client.execute(code)
        else:
            content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                       "allow_stdin": False, "stop_on_error": True}
            request = self.client.session.msg("execute_request", content, metadata={"cellId": cell_id})
            self.client.shell_channel.send(request)
            msg_id = request["header"]["msg_id"]
        run = CellRun(seconds=0.0, status="?")
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(code[:80]) from None
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "comm_msg":
                size = (len(json.dumps(message["content"], default=str))
                        + sum(len(b) for b in message.get("buffers") or []))
                run.comm_messages.append((time.perf_counter() - started, size))
            elif kind in ("stream", "display_data", "execute_result", "error", "update_display_data"):
                run.outputs.append(message["content"])
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                break
        run.seconds = time.perf_counter() - started
        reply = self.client.get_shell_msg(timeout=timeout)
        run.status = reply["content"]["status"]
        if sampler:
            stop.set()
            sampler.join()
        run.start_rss, run.peak_rss, run.end_rss = start_rss, peak[0], self.rss()
        return run

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
