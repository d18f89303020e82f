"""kubetm/labs/observe.py: quantities and the host's HTTP probe (no cluster)."""

from __future__ import annotations

import http.server
import threading

import pytest

from kubetm.labs import observe


@pytest.mark.parametrize(
    "value,expected",
    [
        ("100Mi", 100 * 2**20),
        ("1Gi", 2**30),
        ("500M", 5e8),
        (104857600, 104857600),
        ("0", 0),
        ("1.5Gi", 1.5 * 2**30),
        ("24684092Ki", 24684092 * 2**10),  # a node's status.capacity.memory
        ("1k", 1000),
    ],
)
def test_quantity_bytes(value, expected):
    assert observe.quantity_bytes(value) == expected


def test_quantity_bytes_refuses_garbage():
    with pytest.raises(ValueError):
        observe.quantity_bytes("lots")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"pod-1"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_host_http_answer_loopback():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hostname"
        assert observe.host_http_answer(url, lambda s, b: b == "pod-1", attempts=1) == (
            True,
            "pod-1",
        )
        ok, last = observe.host_http_answer(url, lambda s, b: b == "pod-2", attempts=2, pause=0.01)
        assert not ok and "pod-1" in last
    finally:
        server.shutdown()
        server.server_close()
    ok, last = observe.host_http_answer(url, lambda s, b: True, attempts=1, timeout=0.5)
    assert not ok and last


class _PodOnNode:
    """A kube whose watch shows one not-Ready pod on ``node`` once (the predicate decides)."""

    def __init__(self, node_ready: str):
        self.node_ready = node_ready

    def get(self, kind, name, namespace=None, **_):
        assert kind == "Node" and name == "kubetm-worker2"
        return {
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": self.node_ready}]},
        }

    def watch_until(self, kind, name, predicate, **_):
        pod = {
            "metadata": {"name": name},
            "spec": {"nodeName": "kubetm-worker2"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]},
        }
        if predicate(pod):
            return pod
        raise TimeoutError("would wait out its timeout")


def test_ready_pod_fails_at_once_on_a_node_that_is_not_ready():
    from types import SimpleNamespace

    from kubetm.errors import KubetmError
    from kubetm.labs.observe import ready_pod

    ctx = SimpleNamespace(kube=_PodOnNode("Unknown"), namespace="kubetm-lab-service", timeout=90)
    with pytest.raises(
        KubetmError, match="pod pod-1 is on node kubetm-worker2, which is not Ready"
    ):
        ready_pod(ctx, "pod-1")
    ctx = SimpleNamespace(kube=_PodOnNode("True"), namespace="kubetm-lab-service", timeout=90)
    with pytest.raises(TimeoutError):  # a Ready node: the pod is waited for, as before
        ready_pod(ctx, "pod-1")
