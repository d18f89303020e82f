"""Prober against a loopback http.server and against fake transports (no cluster)."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kubetm.demos.prober import ProbeError, Prober, describe_error, http_sender
from kubetm.demos.timeline import summarize


class VersionServer(ThreadingHTTPServer):
    daemon_threads = True
    version = "v1"
    status = 200
    delay = 0.0


class Handler(BaseHTTPRequestHandler):
    server: VersionServer

    def do_GET(self) -> None:
        if self.server.delay:
            time.sleep(self.server.delay)
        body = (self.server.version + "\n").encode()
        self.send_response(self.server.status if self.path == "/version" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[VersionServer]:
    srv = VersionServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv: VersionServer, path: str = "/version") -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def test_steady_rate_and_versions(server: VersionServer) -> None:
    with Prober(url(server), rate=50, timeout=2.0, duration=0.6) as p:
        time.sleep(0.3)
        server.version = "v2"
        p.join(timeout=3)
    samples = p.samples()
    assert 28 <= len(samples) <= 31
    assert all(s.ok and s.error is None for s in samples), [s for s in samples if not s.ok]
    assert {s.version for s in samples} == {"v1", "v2"}  # body "v1\n" is stripped
    gaps = [b.t_ms - a.t_ms for a, b in itertools.pairwise(samples)]
    assert 10 < sorted(gaps)[len(gaps) // 2] < 30  # 20 ms schedule (a busy machine delays a few)
    summary = summarize(samples, strategy="test")
    assert summary["failures"] == 0 and summary["downtime_ms"] == 0
    assert p.stats()["sent"] == len(samples)


def test_http_errors_and_refused(server: VersionServer) -> None:
    server.status = 503
    with pytest.raises(ProbeError, match="HTTP 503"):
        http_sender(url(server))()
    with pytest.raises(ProbeError, match="HTTP 404"):
        http_sender(url(server, "/other"))()
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    p = Prober(f"http://127.0.0.1:{free}/version", rate=100, duration=0.1).start()
    p.join(timeout=3)
    assert p.samples() and all(not s.ok and s.error == "refused" for s in p.samples())


def test_timeout_is_a_failure(server: VersionServer) -> None:
    server.delay = 0.3
    with pytest.raises(OSError) as err:
        http_sender(url(server), timeout=0.05)()
    assert describe_error(err.value) == "timeout"


def test_slow_transport_keeps_the_rate_with_bounded_in_flight() -> None:
    in_flight = peak = 0
    lock = threading.Lock()

    def slow() -> str:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.1)
        with lock:
            in_flight -= 1
        return "v1"

    p = Prober("fake://", rate=50, duration=0.5, send=slow, max_in_flight=8)
    p.start().join(timeout=3)
    assert 23 <= len(p.samples()) <= 26  # 25 slots, each 100 ms long, 5-6 at a time
    assert peak <= 8
    assert all(s.latency_ms >= 95 for s in p.samples())


def test_transport_exceptions_are_recorded() -> None:
    def boom() -> str:
        raise ValueError("bad body")

    p = Prober("fake://", rate=100, duration=0.05, send=boom)
    p.start().join(timeout=3)
    assert p.samples() and all(
        s.error == "ValueError: bad body" and s.version is None for s in p.samples()
    )


def test_stop_is_prompt_without_duration() -> None:
    p = Prober("fake://", rate=0.1, send=lambda: "v1").start()  # next slot 10 s away
    time.sleep(0.05)
    t = time.perf_counter()
    p.stop()
    # far under the 10 s to the next slot (a stop that waited for it would take 10 s), with room
    # for a starved test process (make test runs the unit tests at nice 19 beside the demos)
    assert time.perf_counter() - t < 3
    assert len(p.samples()) == 1  # slot 0 at t=0
    assert 40 <= p.elapsed_ms() < 10_000


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        http_sender("https://127.0.0.1/version")
    with pytest.raises(ValueError):
        Prober("http://127.0.0.1/version", rate=0)
