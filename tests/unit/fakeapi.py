"""A REAL local HTTP server playing the Kubernetes API, for unit tests of the client stack.

kubetm's whole client stack (kubernetes client, urllib3, tenacity in Kube.call) talks to it through a
kubeconfig; nothing in the client is mocked. It answers the discovery requests the dynamic client
makes (/version, /api, /api/v1, /apis, /apis/batch/v1) and plays a *script* for everything else:
per (METHOD, path regex) a queue of answers, each one of
    (status, body_dict_or_None, headers)      an HTTP answer
    ("sleep", seconds, answer)                 the same, after a delay
    "reset"                                    close the connection with a TCP RST, no answer
When a route's queue is down to one answer, that answer repeats. Every request is recorded in
``api.seen`` as (monotonic time, method, path?query, body) so tests count what the client sent.

Used through the ``api`` and ``kube`` fixtures of tests/unit/conftest.py.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CORE_RESOURCES = [
    {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "shortNames": ["po"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "name": "secrets",
        "singularName": "secret",
        "namespaced": True,
        "kind": "Secret",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "name": "configmaps",
        "singularName": "configmap",
        "namespaced": True,
        "kind": "ConfigMap",
        "shortNames": ["cm"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "name": "namespaces",
        "singularName": "namespace",
        "namespaced": False,
        "kind": "Namespace",
        "shortNames": ["ns"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
]


# batch serves v1 only: batch/v1beta1 CronJob was removed (Kubernetes 1.25)
BATCH_GROUP = {
    "name": "batch",
    "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
    "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"},
}
BATCH_RESOURCES = [
    {
        "name": "jobs",
        "singularName": "job",
        "namespaced": True,
        "kind": "Job",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "name": "cronjobs",
        "singularName": "cronjob",
        "namespaced": True,
        "kind": "CronJob",
        "shortNames": ["cj"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
]


def status_body(code: int, message: str, reason: str = "") -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _answer(self) -> None:
        srv: FakeAPI = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        srv.seen.append((time.monotonic(), self.command, self.path, body))
        if srv.hook is not None:
            srv.hook(self.command, self.path)
        answer = srv.answer_for(self.command, path)
        if isinstance(answer, tuple) and answer and answer[0] == "sleep":
            time.sleep(answer[1])
            answer = answer[2]
        if answer == "reset":
            # SO_LINGER(on, 0): close() sends a TCP RST, the client sees "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        status, payload, headers = answer
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class FakeAPI:
    def __init__(self) -> None:
        self.seen: list[tuple[float, str, str, bytes]] = []
        self.hook = None  # optional callable(method, path?query), called on every request
        self._routes: list[tuple[str, re.Pattern, list]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FakeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def kubeconfig(self, folder: Path, namespace: str = "default") -> str:
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "fake", "namespace": namespace},
                }
            ],
        }
        path = Path(folder) / f"kubeconfig-fake-{self.port}"
        path.write_text(json.dumps(cfg), encoding="utf-8")
        return str(path)

    # ------------------------------------------------------------------ script
    def script(self, method: str, path_regex: str, answers: list) -> None:
        with self._lock:
            self._routes.insert(0, (method.upper(), re.compile(path_regex), list(answers)))

    def answer_for(self, method: str, path: str):
        with self._lock:
            for m, rx, answers in self._routes:
                if m == method and rx.search(path):
                    return answers.pop(0) if len(answers) > 1 else answers[0]
        return self._discovery(method, path)

    def _discovery(self, method: str, path: str):
        if method == "GET":
            if path in ("/version", "/version/"):
                return (
                    200,
                    {
                        "major": "1",
                        "minor": "34",
                        "gitVersion": "v1.34.0-fake",
                        "platform": "linux/amd64",
                    },
                    {},
                )
            if path == "/api":
                return 200, {"kind": "APIVersions", "versions": ["v1"]}, {}
            if path == "/apis":
                return (
                    200,
                    {"kind": "APIGroupList", "apiVersion": "v1", "groups": [BATCH_GROUP]},
                    {},
                )
            if path == "/apis/batch/v1":
                return (
                    200,
                    {
                        "kind": "APIResourceList",
                        "groupVersion": "batch/v1",
                        "resources": BATCH_RESOURCES,
                    },
                    {},
                )
            if path == "/api/v1":
                return (
                    200,
                    {"kind": "APIResourceList", "groupVersion": "v1", "resources": CORE_RESOURCES},
                    {},
                )
        return (
            404,
            status_body(
                404,
                f"the server could not find the requested resource ({method} {path})",
                "NotFound",
            ),
            {},
        )

    # ------------------------------------------------------------------ what the client sent
    def requests(
        self, method: str | None = None, contains: str = ""
    ) -> list[tuple[float, str, str, bytes]]:
        return [r for r in self.seen if (method is None or r[1] == method) and contains in r[2]]

    def count(self, method: str | None = None, contains: str = "") -> int:
        return len(self.requests(method, contains))
