"""kubetm.host.net against real sockets and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from kubetm.errors import KubetmError
from kubetm.host import net


@pytest.fixture
def server():
    """A loopback HTTP server: / answers 200 after `ready_after` s, /missing 404."""
    state = {"ready_at": 0.0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/missing" or time.monotonic() < state["ready_at"]:
                code, body = (404 if self.path == "/missing" else 503), b"no"
            else:
                code, body = 200, b"Hello Kubernetes!\n"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.state = state
    yield srv
    srv.shutdown()
    srv.server_close()


def test_port_free_sees_a_listener():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not net.port_free(port)
    assert net.port_free(port)


def test_http_get_returns_error_statuses_instead_of_raising(server, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # never used: requests go direct
    port = server.server_address[1]
    assert net.http_get(f"http://127.0.0.1:{port}/") == (200, b"Hello Kubernetes!\n")
    assert net.http_get(f"http://127.0.0.1:{port}/missing")[0] == 404


def test_http_get_of_a_closed_port_raises_oserror():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        net.http_get(f"http://127.0.0.1:{port}/", timeout=2)


def test_wait_answer_retries_until_the_server_is_up(server):
    server.state["ready_at"] = time.monotonic() + 0.5
    checks = []
    body = net.wait_answer(
        f"http://127.0.0.1:{server.server_address[1]}/", lambda: checks.append(1), timeout=10
    )
    assert body == b"Hello Kubernetes!\n" and checks


def test_wait_answer_stops_as_soon_as_alive_raises():
    def gone() -> None:
        raise KubetmError("container x stopped before answering")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.monotonic()
    with pytest.raises(KubetmError, match="stopped before answering"):
        net.wait_answer(f"http://127.0.0.1:{port}/", gone, timeout=30)
    assert time.monotonic() - t < 5


def test_wait_answer_gives_up_after_timeout_with_the_last_failure(server):
    server.state["ready_at"] = time.monotonic() + 60
    with pytest.raises(KubetmError) as e:
        net.wait_answer(
            f"http://127.0.0.1:{server.server_address[1]}/",
            lambda: None,
            timeout=1,
            what="the thing",
        )
    assert e.value.message == "the thing did not answer within 1 s" and e.value.hint == "HTTP 503"


def test_http_get_reads_a_chunked_body_without_its_framing():
    """Node.js answers with Transfer-Encoding: chunked; the body is the text, not the chunks."""

    class Chunked(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for part in (b"pod-1", b"\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Chunked)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/hostname"
        assert net.http_get(url) == (200, b"pod-1\n")
        assert net.http_get(url, limit=3) == (200, b"pod")
    finally:
        srv.shutdown()
        srv.server_close()


def test_bind_problem_tells_a_busy_port_from_a_missing_address():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert net.bind_problem(port, "127.0.0.1") == "in use"
    # TEST-NET-1 (RFC 5737) is assigned to no interface here: what 127.0.0.2 is on macOS
    assert net.bind_problem(0, "192.0.2.1") == "not available"
    assert net.address_available("127.0.0.1") and not net.address_available("192.0.2.1")
    assert net.bind_problem(0, "127.0.0.1") is None
