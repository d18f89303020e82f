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


# ------------------------------------------------------------------ https_request (the auth labs)


def _cert(folder, name):
    """A self-signed certificate for 127.0.0.1 (it is its own CA): (cert path, key path)."""
    import subprocess

    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={name}/O=testers",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 that asks for a client certificate (trusting client.crt) and
    answers 200 "<client CN or none> <Authorization header or none>", or 403 without either."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    server_crt, server_key = _cert(tmp_path, "server")
    client_crt, client_key = _cert(tmp_path, "client")

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            peer = self.connection.getpeercert() or {}
            cn = next(
                (v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"), "none"
            )
            auth = self.headers.get("Authorization") or "none"
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length).decode() if length else ""
            body = f"{cn} {auth} {self.command} {sent}".strip().encode()
            self.send_response(200 if cn != "none" or auth != "none" else 403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *a):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(server_crt, server_key)
    ctx.load_verify_locations(client_crt)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", server_crt, (client_crt, client_key)
    httpd.shutdown()


def test_https_request_presents_a_client_certificate_a_token_or_nothing(tls_server):
    url, ca, (crt, key) = tls_server
    assert net.https_request(url, ca_file=ca, cert_file=crt, key_file=key) == (
        200,
        b"client none GET",
    )
    assert net.https_request(url, ca_file=ca, token="t0k") == (200, b"none Bearer t0k GET")
    assert net.https_request(url, ca_file=ca) == (
        403,
        b"none none GET",
    )  # an error status, not raised
    status, body = net.https_request(url, method="POST", body=b"{}", ca_file=ca, token="t")
    assert (status, body) == (200, b"none Bearer t POST {}")


def test_https_request_checks_the_server_against_the_ca(tls_server, tmp_path):
    import ssl

    url, _ca, _client = tls_server
    other_ca, _ = _cert(tmp_path, "other")
    with pytest.raises(OSError) as err:  # urllib wraps the TLS failure (URLError is an OSError)
        net.https_request(url, ca_file=other_ca)
    assert isinstance(getattr(err.value, "reason", err.value), ssl.SSLError)
