"""The local web server: the page's own files and its event stream, on 127.0.0.1 only.

Python's stdlib only (http.server, ThreadingHTTPServer); the events are server-sent events
(``text/event-stream``) from an `EventBus`. Routes:

    GET /            index.html            GET /events   the event stream (replay, then live)
    GET /<file>      a file of kubetm/web/static (only those, by exact name)
    anything else    404 (or 403 for a foreign Host header: no DNS-rebinding reads)

    with WebServer(bus, port=0) as srv:     # 0 = a free port
        print(srv.url)
        ...
The server prints nothing; a busy port is a one-line KubetmError.
"""

from __future__ import annotations

import errno
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from kubetm.errors import KubetmError
from kubetm.web.bus import EventBus

HOST = "127.0.0.1"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def static_files() -> dict[str, bytes]:
    """``{"/app.js": b"...", ...}``: every file shipped in kubetm/web/static (read once)."""
    root = resources.files("kubetm.web") / "static"
    files = {
        f"/{entry.name}": entry.read_bytes()
        for entry in root.iterdir()
        if entry.is_file() and any(entry.name.endswith(ext) for ext in TYPES)
    }
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    return files


def check_port(port: int | None) -> int:
    """``--port``: 0 (or None) = a free port, else 1-65535 (exit 2 otherwise)."""
    if port is None:
        return 0
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise KubetmError(
            f"--port must be from 1 to 65535 (0 = a free port), got {port}", exit_code=2
        )
    return port


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    timeout = 10  # a client that never finishes its request line cannot hold a thread for long
    server_version = "kubetm"
    sys_version = ""

    def log_message(self, *args: object) -> None:  # the server prints nothing
        pass

    def _host_ok(self) -> bool:
        port = self.server.server_address[1]
        return (self.headers.get("Host") or "") in (f"{HOST}:{port}", f"localhost:{port}")

    def _send(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._host_ok():
            self._send(403, b"forbidden\n")
            return
        parts = urlsplit(self.path)
        if parts.path == "/events" and self.command == "GET":
            self._events(parts.query)
            return
        body = self.server.files.get(parts.path)
        if body is None:
            self._send(404, b"not found\n")
            return
        ext = parts.path[parts.path.rfind(".") :] if "." in parts.path else ".html"
        self._send(200, body, TYPES.get(ext, "application/octet-stream"))

    def _events(self, query: str) -> None:
        """Server-sent events: every event after Last-Event-ID (or ?since=N), then live ones."""
        last = self.headers.get("Last-Event-ID") or (parse_qs(query).get("since") or [""])[0]
        try:
            start = int(last) + 1 if last != "" else 0
        except ValueError:
            start = 0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"retry: 1000\n\n")
            for batch in self.server.bus.follow(start, self.server.stopping):
                if not batch:
                    self.wfile.write(b": keep-alive\n\n")
                    continue
                self.wfile.write(
                    "".join(f"id: {i}\ndata: {text}\n\n" for i, text in batch).encode("utf-8")
                )
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            pass  # the page went away; it will reconnect (or not)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every handler thread: nothing is left running
    allow_reuse_address = False  # a busy port must fail, not be shared

    def __init__(self, addr: tuple[str, int], bus: EventBus, files: dict[str, bytes]) -> None:
        self.bus, self.files = bus, files
        self.stopping = threading.Event()
        super().__init__(addr, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser that hung up mid-request is not an error of the run


class WebServer:
    """Serve the page and ``bus`` on 127.0.0.1:``port`` (0 = a free one) in a background thread."""

    def __init__(self, bus: EventBus, port: int | None = 0) -> None:
        self.bus = bus
        self.port = check_port(port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> WebServer:
        try:
            self._httpd = _HTTPServer((HOST, self.port), self.bus, static_files())
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                why = "is in use" if exc.errno == errno.EADDRINUSE else "is not allowed"
                raise KubetmError(
                    f"cannot serve the live view on {HOST}:{self.port}: the port {why}",
                    hint="pick another --port, or leave it out for a free one",
                ) from None
            raise KubetmError(
                f"cannot serve the live view on {HOST}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="kubetm-web",
            daemon=True,
        )
        self.url = f"http://{HOST}:{self._httpd.server_address[1]}/"
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end every stream and join every thread."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()
        self.bus.wake()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
