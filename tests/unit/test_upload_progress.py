"""The build context's upload, counted: CountingReader under requests, against a local HTTP server (no engine)."""

from __future__ import annotations

import http.server
import io
import threading

import pytest
import requests

from dockmagic.operations.upload import CountingReader, UploadProgress
from dockmagic.views.units import human_size


class FakeClock:
    """Time that moves only when the test says so: the throttle is checked without sleeping."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reports_are_throttled_and_the_last_one_says_done():
    clock = FakeClock()
    reports: list[UploadProgress] = []
    reader = CountingReader(io.BytesIO(b"x" * 10_000), reports.append, interval=1.0, clock=clock)
    assert len(reader) == 10_000
    reader.read(1000)                      # starts the clock
    clock.now += 0.5
    reader.read(1000)                      # too soon after the start: no report
    clock.now += 0.6
    reader.read(1000)                      # 1.1 s: a report
    clock.now += 0.1
    reader.read(1000)                      # too soon again
    assert [(r.sent, r.done) for r in reports] == [(3000, False)]
    assert len(reader) == 6000
    clock.now += 0.9
    assert len(reader.read()) == 6000      # the rest at once: the end
    assert reports[-1].done and reports[-1].sent == 10_000 and reports[-1].total == 10_000
    assert reports[-1].seconds == pytest.approx(2.1)
    assert reports[-1].bytes_per_second == pytest.approx(10_000 / 2.1)
    assert reader.read(1000) == b"" and len(reports) == 2  # done is told once


def test_the_text_a_user_sees():
    going = UploadProgress(sent=12_000_000, total=40_000_000, seconds=2.0)
    assert str(going) == "sent 12MB of 40MB (30%) at 6MB/s"
    done = UploadProgress(sent=40_000_000, total=40_000_000, seconds=8.0, done=True)
    assert str(done) == "sent 40MB in 8.0 s (5MB/s)"
    assert str(UploadProgress(0, 0, 0.0)) == "sent 0B at 0B/s"
    assert [human_size(n) for n in (999, 1536, 2_500_000, 3 * 10**12)] == ["999B", "1.54kB", "2.5MB", "3TB"]


def test_starts_where_the_file_stands_and_takes_bytes():
    body = io.BytesIO(b"headerBODY")
    body.seek(6)
    assert len(CountingReader(body, lambda _: None)) == 4
    assert len(CountingReader(b"abc", lambda _: None)) == 3


def test_a_stream_of_unknown_size_is_refused_plainly():
    class Pipe:
        def read(self, size=-1):
            return b""

    with pytest.raises(ValueError, match="seekable file or bytes"):
        CountingReader(Pipe(), lambda _: None)


@pytest.fixture
def http_server():
    """A local HTTP server recording each POST's headers and body length."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            received.append({"content-length": self.headers.get("Content-Length"),
                             "transfer-encoding": self.headers.get("Transfer-Encoding"), "body": body})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/build", received
    server.shutdown()
    server.server_close()


def test_requests_sends_it_whole_with_a_content_length(http_server, tmp_path):
    url, received = http_server
    payload = bytes(range(256)) * 4096  # 1 MiB, as a tar file on disk would be
    path = tmp_path / "context.tar"
    path.write_bytes(payload)
    reports: list[UploadProgress] = []
    with open(path, "rb") as context:
        answer = requests.post(url, data=CountingReader(context, reports.append, interval=0.0), timeout=30)
    assert answer.status_code == 200
    assert received[0]["content-length"] == str(len(payload)) and received[0]["transfer-encoding"] is None
    assert received[0]["body"] == payload
    # Counted as requests read it, in order, ending with one "done" at the full size.
    sent = [report.sent for report in reports]
    assert sent == sorted(sent) and len(sent) > 2
    assert reports[-1].done and reports[-1].sent == len(payload)
    assert [report.done for report in reports].count(True) == 1
