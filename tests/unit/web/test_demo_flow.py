"""The whole live path without a cluster: the real `run_demo` (steps, tick loop, prober) against an
in-memory stand-in for the API and a local HTTP server that plays a Recreate rollout (v1, a gap of
HTTP 503s, then v2), observed by the web page in a real headless browser.

It checks what the e2e test checks on the real cluster, in seconds: events arrive while the
rollout runs, the final numbers equal the run's result, the recreate page shows failed requests.
"""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from browser_support import mark_counts, page_numbers, screenshot

from kubetm.demos import runner, strategies
from kubetm.demos.options import validate_options
from kubetm.web import LivePage

HOST = "127.0.0.77"  # a loopback address the kind cluster never publishes on
GAP_SECONDS = 1.5
ROLLOUT_SECONDS = 3.0


class App:
    """The Service as the prober sees it: v1, then (after the v2 apply) 503s for a while, then v2."""

    def __init__(self) -> None:
        self.switched_at: float | None = None

    def answer(self) -> tuple[int, str]:
        if self.switched_at is None:
            return 200, "v1"
        if time.monotonic() - self.switched_at < GAP_SECONDS:
            return 503, ""
        return 200, "v2"

    def version_of_pods(self) -> str | None:
        code, body = self.answer()
        return body if code == 200 else None


def serve(app: App, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, body = app.answer()
            data = (body + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer((HOST, port), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class FakeKube:
    """Just enough of kubetm.k8s.Kube for run_demo: nodes, apply, watches that take a while."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.lists = 0

    def resource(self, kind: str) -> None:
        return None

    def get(self, kind: str, name: str, namespace: str | None = None):
        return None  # no namespace left over

    def apply(self, objs):
        for o in objs:
            if o["kind"] == "Deployment" and o["spec"]["template"]["spec"]["containers"][0][
                "image"
            ].endswith(":v2"):
                self.app.switched_at = time.monotonic()
        return []

    def watch_until(self, kind, name, pred, **kw):
        if kind == "Deployment" and "rollout" in (kw.get("what") or ""):
            time.sleep(ROLLOUT_SECONDS)
            return {
                "metadata": {"annotations": {}},
                "spec": {"selector": {"matchLabels": {"app": "app"}}},
            }
        return [] if name is None else {}

    def list(self, kind: str, namespace: str | None = None, selector=None):
        self.lists += 1
        if kind == "Node":
            return [
                {
                    "metadata": {"name": n, "labels": labels},
                    "status": {"addresses": [{"type": "InternalIP", "address": HOST}]},
                }
                for n, labels in (
                    ("cp", {"node-role.kubernetes.io/control-plane": ""}),
                    ("w1", {"kubetm.io/course-node": "k8s-node1"}),
                    ("w2", {"kubetm.io/course-node": "k8s-node2"}),
                )
            ]
        version = self.app.version_of_pods()
        if kind == "Pod":
            if version is None:
                return []
            return [
                {
                    "metadata": {
                        "name": f"app-{version}-{i}",
                        "ownerReferences": [{"name": f"app-{version}"}],
                    },
                    "spec": {
                        "nodeName": f"w{i}",
                        "containers": [{"image": f"localhost:5001/kubetm/app:{version}"}],
                    },
                    "status": {
                        "phase": "Running",
                        "conditions": [{"type": "Ready", "status": "True"}],
                    },
                }
                for i in (1, 2)
            ]
        if kind == "ReplicaSet":
            return [
                {
                    "metadata": {"name": f"app-{v}", "creationTimestamp": v},
                    "spec": {
                        "replicas": 2 if v == version else 0,
                        "template": {
                            "spec": {"containers": [{"image": f"localhost:5001/kubetm/app:{v}"}]}
                        },
                    },
                    "status": {
                        "replicas": 2 if v == version else 0,
                        "readyReplicas": 2 if v == version else 0,
                    },
                }
                for v in ("v1", "v2")
            ]
        return []


@pytest.mark.timeout(120)
def test_recreate_seen_live_by_the_page(browser, artifacts, monkeypatch):
    app = App()
    port = strategies.STRATEGIES["recreate"].node_port
    try:
        srv = serve(app, port)
    except OSError as exc:
        pytest.fail(f"cannot listen on {HOST}:{port}: {exc}")
    kube = FakeKube(app)
    opts = validate_options("recreate", duration=1.0)
    seen_live = {}
    try:
        with LivePage(port=0, browser=False) as live:
            page = browser.new_page(viewport={"width": 1400, "height": 950}, bypass_csp=True)
            page.goto(live.url)
            result_box: dict = {}  # the demo runs in a thread; the browser checks meanwhile

            def run():
                result_box["result"] = runner.run_demo(
                    kube,
                    "recreate",
                    opts,
                    registry="localhost:5001",
                    observer=live.demo_observer(),
                    note=lambda m: None,
                )

            t = threading.Thread(target=run)
            t.start()
            page.wait_for_function(
                "() => { const r = window.kubetm.runs[0]; return r && r.updateMs !== null "
                "&& r.points.some(p => !p.ok); }",
                timeout=60_000,
            )
            seen_live = page.evaluate(
                "() => ({done: window.kubetm.done, nodes: document.querySelectorAll('.node').length,"
                " failures: document.querySelector('dd[data-key=failures]').textContent})"
            )
            t.join(60)
            result = result_box["result"]
            live.finish(result, wait=10)
            page.wait_for_selector("body[data-done=true]", timeout=10_000)
            screenshot(page, artifacts, "demo-flow-recreate.png")
            shown, marks = page_numbers(page), mark_counts(page)
            page.close()
    finally:
        srv.shutdown()
        srv.server_close()
    assert (
        seen_live["done"] is False and seen_live["nodes"] == 3 and int(seen_live["failures"]) > 0
    ), seen_live
    for key in (
        "requests",
        "failures",
        "downtime_ms",
        "overlap_ms",
        "first_new_ms",
        "last_old_ms",
        "rollout_seconds",
    ):
        value = None if shown[key][1] == "null" else float(shown[key][1])
        assert value == result[key], (key, shown[key], result[key])
    assert result["failures"] > 0 and marks["failed"] == result["failures"]
    assert (
        marks["v1"] + marks["v2"] + marks["failed"] == result["requests"] == len(result["timeline"])
    )
