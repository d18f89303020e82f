"""kubetm.deploy.http_get: the GET from the host to a NodePort, against a real loopback server."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from kubetm.deploy import http_get
from kubetm.errors import KubetmError


@pytest.fixture
def port():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code, body = (404, b"no") if self.path == "/missing" else (200, b"Hello Kubernetes!\n")
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_get_returns_status_and_body(port, monkeypatch):
    monkeypatch.setenv(
        "http_proxy", "http://127.0.0.1:9"
    )  # ignored: node addresses are reached directly
    assert http_get(f"http://127.0.0.1:{port}/") == (200, "Hello Kubernetes!\n")


def test_an_error_status_is_one_line_after_the_retry_budget(port):
    with pytest.raises(
        KubetmError, match=rf"^GET http://127.0.0.1:{port}/missing answered HTTP 404$"
    ):
        http_get(f"http://127.0.0.1:{port}/missing", total=0.5)


def test_nothing_listening_names_the_nodeport_mapping():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(KubetmError) as e:
        http_get(f"http://127.0.0.1:{free}/", timeout=1, total=0.5)
    assert (
        e.value.message.startswith(f"GET http://127.0.0.1:{free}/ failed:")
        and "30000-30009" in e.value.hint
    )


def test_only_ip_addresses_are_contacted():
    with pytest.raises(KubetmError, match="refusing to send traffic to non-IP host 'example.com'"):
        http_get("http://example.com/")
