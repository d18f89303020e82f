"""Shared pytest fixtures (unit and e2e). Unit tests never need a cluster.

Fixtures:
  write_file(name, text|bytes)  -> Path in a temp folder
  kubeconfig(contexts=..., current=...) -> Path of a kubeconfig pointing at 127.0.0.1:1 (nothing listens)
  api_error(status, message, headers=None) -> a kubernetes ApiException like the API server sends
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# A run started in the background by a non-interactive shell (`make test &`, nohup, some CI
# runners) inherits SIGINT *ignored*, and so does every kubetm process the tests start: Python then
# never raises KeyboardInterrupt, and the Ctrl-C tests would test nothing. Take SIGINT back here;
# children exec'd from now on start with the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, Any], Path]:
    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Callable[..., Path]:
    def make(
        contexts: tuple[str, ...] = ("kind-kubetm", "other"),
        current: str | None = "kind-kubetm",
        server: str = "https://127.0.0.1:1",
    ) -> Path:
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": c, "cluster": {"server": server, "insecure-skip-tls-verify": True}}
                for c in contexts
            ],
            "users": [{"name": c, "user": {"token": "not-a-secret"}} for c in contexts],
            "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in contexts],
        }
        if current:
            cfg["current-context"] = current
        path = tmp_path / "kubeconfig"
        path.write_text(json.dumps(cfg), encoding="utf-8")  # JSON is YAML
        return path

    return make


@pytest.fixture
def api_error() -> Callable[..., Exception]:
    from kubernetes.client.exceptions import ApiException

    def make(status: int, message: str = "boom", headers: dict | None = None) -> Exception:
        exc = ApiException(status=status, reason="Reason")
        exc.body = json.dumps(
            {"kind": "Status", "status": "Failure", "message": message, "code": status}
        )
        exc.headers = headers or {}
        return exc

    return make
