"""e2e: the course's headline lesson on the real kind cluster (context kind-kubetm), via the CLI.

Each strategy runs 3 times (recreate and rolling-update: twice alone + once in `demo compare`):
- Recreate:       downtime_ms > 0 and overlap_ms == 0
- RollingUpdate:  failures == 0 and overlap_ms > 0 (readinessProbe, maxUnavailable 0, preStop)
- Blue/Green:     failures == 0 and overlap_ms within one probe interval
plus `kubetm rollout history/undo` against kubectl (/usr/bin/kubectl) as the oracle, and the
cleanup on SIGINT / SIGTERM. Each demo has a fixed namespace and NodePort (`demo_shares`): tests of
one strategy never overlap; different strategies run side by side. Every run deletes its namespace.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CONTEXT, apply, demo_shares, image, kubectl, kubectl_json

REPO = Path(__file__).resolve().parents[2]
RATE = 20.0
INTERVAL_MS = 1000.0 / RATE
FIELDS = {
    "strategy",
    "requests",
    "failures",
    "downtime_ms",
    "overlap_ms",
    "first_new_ms",
    "last_old_ms",
    "rollout_seconds",
    "timeline",
    "probe_timeout_s",
    "max_latency_ms",
}
RUN_TIMEOUT = 300
pytestmark = pytest.mark.timeout(900)  # a demo run takes ~1 min; the default 120 s is per test


def kubetm(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_json(*args: str) -> dict:
    cp = kubetm(*args, "-o", "json")
    assert cp.returncode == 0, f"kubetm {' '.join(args)}: exit {cp.returncode}\n{cp.stderr[-3000:]}"
    return json.loads(cp.stdout)


def namespace_gone(ns: str) -> bool:
    cp = subprocess.run(
        ["kubectl", "--context", CONTEXT, "get", "namespace", ns],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return cp.returncode != 0 and "NotFound" in cp.stderr


def check_run(run: dict, strategy: str) -> str:
    """Common shape of a run; returns a one-line description for assertion messages."""
    assert FIELDS <= set(run), f"missing fields: {FIELDS - set(run)}"
    assert run["strategy"] == strategy
    assert re.fullmatch(r"http://127\.0\.0\.\d+:\d+/version", run["url"]), run[
        "url"
    ]  # loopback NodePort only
    assert run["achieved_rate"] >= 0.9 * RATE, f"prober too slow: {run['achieved_rate']} req/s"
    assert run["rollout_seconds"] and 0 < run["rollout_seconds"] < 120
    assert run["requests"] == len(run["timeline"]) > 0
    for p in run["timeline"][:3]:
        assert set(p) == {"t_ms", "ok", "version", "latency_ms"}
    versions = {p["version"] for p in run["timeline"] if p["ok"]}
    assert versions == {"v1", "v2"}, versions
    before = [p for p in run["timeline"] if p["t_ms"] < 0]
    end = run["timeline"][-1]["t_ms"]
    assert end >= run["rollout_seconds"] * 1000 + 1500  # probing went on ~2 s after the rollout
    after = [p for p in run["timeline"] if p["t_ms"] > end - 500]  # kube-proxy follows within ~1 s
    assert before and all(
        p["version"] == "v1" for p in before if p["ok"]
    )  # v1 answered before the update
    assert after and all(p["ok"] and p["version"] == "v2" for p in after)  # only v2 at the end
    assert namespace_gone(run["namespace"]), f"namespace {run['namespace']} left behind"
    failed = [(p["t_ms"], p.get("error"), p["latency_ms"]) for p in run["timeline"] if not p["ok"]]
    return (
        f"{strategy}: failures={run['failures']} downtime_ms={run['downtime_ms']} "
        f"overlap_ms={run['overlap_ms']} rollout_seconds={run['rollout_seconds']} "
        f"max_latency_ms={run['max_latency_ms']} failed (t_ms, error, latency_ms): {failed[:8]}"
    )


def assert_recreate(run: dict) -> None:
    line = check_run(run, "recreate")
    print(line)
    assert run["downtime_ms"] > 0 and run["failures"] > 0, line
    assert run["overlap_ms"] == 0, line
    assert run["first_new_ms"] > run["last_old_ms"], line


def assert_rolling(run: dict) -> None:
    line = check_run(run, "rolling-update")
    print(line)
    assert run["failures"] == 0 and run["downtime_ms"] == 0, line
    assert run["overlap_ms"] > 0, line


# ---------------------------------------------------------------------------------- lessons


RECREATE = pytest.mark.shares(*demo_shares("recreate"))
ROLLING = pytest.mark.shares(*demo_shares("rolling-update"))
BLUE_GREEN = pytest.mark.shares(*demo_shares("blue-green"))


@RECREATE
@pytest.mark.parametrize("n", [1, 2])
def test_recreate_has_downtime_and_no_overlap(cluster, n):
    assert_recreate(run_json("demo", "recreate"))


@ROLLING
@pytest.mark.parametrize("n", [1, 2])
def test_rolling_update_has_no_failures_but_overlap(cluster, n):
    assert_rolling(run_json("demo", "rolling-update"))


@RECREATE
@ROLLING
def test_compare_runs_both_side_by_side_and_plots(cluster, tmp_path):
    plot = tmp_path / "compare.png"
    result = run_json("demo", "compare", "--plot", str(plot))
    assert [r["strategy"] for r in result["runs"]] == ["recreate", "rolling-update"]
    assert_recreate(result["runs"][0])
    assert_rolling(result["runs"][1])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@BLUE_GREEN
@pytest.mark.parametrize("n", [1, 2, 3])
def test_blue_green_has_no_failures_and_no_overlap(cluster, n):
    run = run_json("demo", "blue-green")
    line = check_run(run, "blue-green")
    print(line)
    assert run["failures"] == 0 and run["downtime_ms"] == 0, line
    assert run["overlap_ms"] <= INTERVAL_MS, line
    assert 0 <= run["switch_ms"] <= run["rollout_seconds"] * 1000


@ROLLING
def test_text_output_and_knobs(cluster):
    cp = kubetm(
        "demo",
        "rolling-update",
        "--replicas",
        "3",
        "--max-surge",
        "2",
        "--min-ready-seconds",
        "2",
        "--rate",
        "25",
        "--duration",
        "1",
        "--to",
        "v3",
    )
    assert cp.returncode == 0, cp.stderr[-3000:]
    first = cp.stdout.splitlines()[0]
    assert first.startswith("rolling-update: ") and "0 failed" in first and "3 replicas" in first, (
        cp.stdout
    )
    assert "v1 -> v3" in first and "lesson:" in cp.stdout
    assert (
        "probing http://127.0.0." in cp.stderr
        and "deleting namespace kubetm-demo-rolling-update" in cp.stderr
    )
    assert namespace_gone("kubetm-demo-rolling-update")


# ------------------------------------------------------------------------- rollout history/undo


def kubectl_history(ns: str, deployment: str) -> list[tuple[int, str]]:
    out = kubectl("-n", ns, "rollout", "history", f"deployment/{deployment}")
    rows = []
    for line in out.splitlines()[2:]:  # "deployment.apps/app", "REVISION  CHANGE-CAUSE"
        if line.strip():
            rev, cause = (
                line.split(None, 1) if len(line.split(None, 1)) == 2 else (line.strip(), "<none>")
            )
            rows.append((int(rev), cause.strip()))
    return rows


def kubetm_history(ns: str, deployment: str) -> list[tuple[int, str]]:
    rows = run_json("-n", ns, "rollout", "history", deployment)
    return [(r["revision"], r["change_cause"] or "<none>") for r in rows]


def deployed_image(ns: str, deployment: str) -> str:
    return kubectl_json("-n", ns, "get", "deployment", deployment)["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]


@RECREATE  # not rolling-update: its tests are the demos' phase's longest chain
def test_rollout_undo_after_a_kept_demo(cluster):
    ns = "kubetm-demo-recreate"
    try:
        run = run_json("demo", "recreate", "--keep", "--min-ready-seconds", "1", "--duration", "0")
        assert run["requests"] > 0 and run["overlap_ms"] == 0  # Recreate: v1 gone before v2
        assert deployed_image(ns, "app").endswith("/kubetm/app:v2")
        assert (
            kubetm_history(ns, "app")
            == kubectl_history(ns, "app")
            == [
                (1, "kubetm demo recreate: image kubetm/app:v1"),
                (2, "kubetm demo recreate: image kubetm/app:v2"),
            ]
        )
        undo = run_json("-n", ns, "rollout", "undo", "app")
        assert undo["result"] == "rolled back" and undo["to_revision"] == 1
        kubectl("-n", ns, "rollout", "status", "deployment/app", "--timeout=120s", timeout=150)
        assert deployed_image(ns, "app").endswith("/kubetm/app:v1")
        # kubectl's numbering: revision 1 became revision 3, with its change-cause
        expected = [
            (2, "kubetm demo recreate: image kubetm/app:v2"),
            (3, "kubetm demo recreate: image kubetm/app:v1"),
        ]
        assert kubectl_history(ns, "app") == kubetm_history(ns, "app") == expected
        status = run_json("-n", ns, "rollout", "status", "app", "--timeout", "60")
        assert "successfully rolled out" in status["message"] and status["revision"] == 3
        again = run_json("-n", ns, "rollout", "undo", "app", "--to-revision", "3")
        assert again["result"] == "skipped rollback"
        missing = kubetm("-n", ns, "rollout", "undo", "app", "--to-revision", "1")
        assert missing.returncode == 1 and "unable to find specified revision 1" in missing.stderr
    finally:
        kubetm("demo", "delete", "recreate")
    assert namespace_gone(ns)


def test_rollout_history_honours_revision_history_limit(namespace):
    manifest = f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  revisionHistoryLimit: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: app, image: {image("app:v1")}}}]
"""
    apply(namespace, manifest)
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
    for tag in ("v2", "v3"):
        patch = {
            "metadata": {"annotations": {"kubernetes.io/change-cause": f"to {tag}"}},
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "app", "image": image("app:" + tag)}]}
                }
            },
        }
        kubectl(
            "-n", namespace, "patch", "deployment/web", "-p", json.dumps(patch)
        )  # one update, one revision
        kubectl(
            "-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150
        )
    deadline = time.monotonic() + 30
    while len(kubectl_history(namespace, "web")) > 2 and time.monotonic() < deadline:
        time.sleep(1)  # the controller removes ReplicaSets beyond the limit right after the rollout
    assert (
        kubetm_history(namespace, "web")
        == kubectl_history(namespace, "web")
        == [(2, "to v2"), (3, "to v3")]
    )
    undo = run_json("-n", namespace, "rollout", "undo", "deployment/web", "--to-revision", "2")
    assert undo["result"] == "rolled back" and undo["images"] == [image("app:v2")]
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
    assert deployed_image(namespace, "web") == image("app:v2")
    assert (
        kubetm_history(namespace, "web")
        == kubectl_history(namespace, "web")
        == [(3, "to v3"), (4, "to v2")]
    )


def test_rollout_takes_global_options_after_the_command(namespace):
    """kubectl habit: `kubetm rollout history -n NS app` and `rollout undo -n NS app` (issue 11)."""
    manifest = f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: app, image: {image("app:v1")}}}]
"""
    apply(namespace, manifest)
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
    patch = {
        "metadata": {"annotations": {"kubernetes.io/change-cause": "to v2"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image("app:v2")}]}}},
    }
    kubectl("-n", namespace, "patch", "deployment/web", "-p", json.dumps(patch))
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150)

    def after(*args: str) -> subprocess.CompletedProcess:  # every global option after the command
        return subprocess.run(
            [sys.executable, "-m", "kubetm", *args, "--context", CONTEXT],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )

    cp = after("rollout", "history", "-n", namespace, "web", "-o", "json")
    assert cp.returncode == 0, cp.stderr
    rows = [(r["revision"], r["change_cause"] or "<none>") for r in json.loads(cp.stdout)]
    assert rows == kubectl_history(namespace, "web") and [r for r, _ in rows] == [1, 2]
    cp = after("rollout", "undo", "-n", namespace, "web", "-o", "json")
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout)["result"] == "rolled back"
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
    assert deployed_image(namespace, "web") == image("app:v1")


# ---------------------------------------------------------------------------------- cleanup


@BLUE_GREEN  # not rolling-update: its tests are the demos' phase's longest chain
@pytest.mark.parametrize(
    "sig, code, when",
    [
        (signal.SIGINT, 130, "updating"),  # Ctrl-C during the rollout
        (signal.SIGTERM, 143, "waiting for deployment"),  # SIGTERM during the setup
    ],
)
def test_signal_removes_the_demo_objects(cluster, sig, code, when):
    ns = "kubetm-demo-blue-green"
    p = subprocess.Popen(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, "demo", "blue-green"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen = []
    try:
        deadline = time.monotonic() + 180
        for line in p.stderr:
            seen.append(line)
            if when in line:
                break
            assert time.monotonic() < deadline, "".join(seen)
        assert any(when in line for line in seen), "".join(seen)
        time.sleep(1.0)
        assert not namespace_gone(ns)
        p.send_signal(sig)
        _, err = p.communicate(timeout=180)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == code, "".join(seen) + err
    assert namespace_gone(ns), "".join(seen) + err
