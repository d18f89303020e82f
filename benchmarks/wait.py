"""Benchmark: how long after a pod turns Ready do `Kube.wait_ready` and `kubectl wait` return?

Method (per run, namespace kubetm-bench-wait, deleted afterwards):
  1. Create a pod that runs the node's own pause image (imagePullPolicy Never: nothing is pulled,
     no CPU used) with a readiness gate (condition kubetm.io/bench-go): its containers start, but
     the pod stays not Ready until the benchmark sets that condition.
  2. Once the containers run, start both waiters side by side, as separate processes:
       * a tiny driver: `Kube(context)` + `kube.wait_ready("Pod", name)`, which prints
         time.time() the moment wait_ready returns;
       * `kubectl wait --for=condition=Ready pod/<name>`.
     Both get 2 s to start and open their watch (the driver says when it is about to call
     wait_ready), so neither is measured on its start-up.
  3. Set the readiness gate's condition (kubectl patch --subresource=status); the kubelet then
     turns the pod Ready.
  4. The reference time is when the Ready transition was *visible* through the API: an independent
     watcher (a thread of this script with its own watch on the pod, kubernetes client, started
     before the pod exists) stamps time.time() when the first event with Ready=True arrives. The
     condition's lastTransitionTime has one-second resolution, so it is only used as a sanity check
     (the watcher's stamp must lie within [lastTransitionTime, lastTransitionTime + 1 s + slack)).
  5. Latency of a waiter = its return time - the watcher's stamp: for kubetm, both when wait_ready
     returned (in-process) and when the process exited; for kubectl, when its process exited.
     The watcher is itself a client on a busy machine, so a waiter can be a few ms *earlier* than
     it (negative latency). A second, never-negative figure is given too: latency after the first
     of the three (watcher, kubetm, kubectl) to see the transition.
A waiter that polled (kubectl <1.x style, or a sleep loop) would show latencies spread over its
poll period (~1 s); a watch shows a few ms. Target: kubetm's median <= 100 ms.

    .venv/bin/python benchmarks/wait.py --runs 7
The last line is the summary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NS = "kubetm-bench-wait"
GATE = "kubetm.io/bench-go"
IMAGE = os.environ.get("KUBETM_BENCH_IMAGE", "kubetm.local/pause:3.10.1")

DRIVER = r"""
import sys, time
from kubetm.k8s import Kube
ctx, ns, name = sys.argv[1:4]
kube = Kube(context=ctx, namespace=ns)
kube.resource("Pod")                       # load the client and discovery before the clock matters
print("armed", flush=True)
kube.wait_ready("Pod", name, namespace=ns, timeout=120)
print(f"returned {time.time():.6f}", flush=True)
"""


def pod_manifest(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"kubetm.io/bench": "wait"}},
        "spec": {
            "readinessGates": [{"conditionType": GATE}],
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "pause",
                    "image": IMAGE,
                    "imagePullPolicy": "Never",
                    "resources": {
                        "requests": {"cpu": "1m", "memory": "4Mi"},
                        "limits": {"memory": "16Mi"},
                    },
                }
            ],
        },
    }


class Watcher(threading.Thread):
    """Independent watch on the benchmark namespace's pods: first time each pod was seen Ready."""

    def __init__(self, core) -> None:
        super().__init__(daemon=True)
        self.core = core
        self.ready_at: dict[str, float] = {}
        self.running: set[str] = set()
        self.cond = threading.Condition()
        self.stop = False

    def run(self) -> None:
        from kubernetes import watch

        rv = self.core.list_namespaced_pod(NS).metadata.resource_version
        while not self.stop:
            w = watch.Watch()
            try:
                for ev in w.stream(
                    self.core.list_namespaced_pod,
                    NS,
                    resource_version=rv,
                    timeout_seconds=60,
                    _request_timeout=70,
                ):
                    now = time.time()
                    pod = ev["object"]
                    rv = pod.metadata.resource_version
                    conds = {c.type: c.status for c in (pod.status.conditions or [])}
                    with self.cond:
                        if conds.get("ContainersReady") == "True":
                            self.running.add(pod.metadata.name)
                        if conds.get("Ready") == "True" and pod.metadata.name not in self.ready_at:
                            self.ready_at[pod.metadata.name] = now
                        self.cond.notify_all()
            except Exception:
                if self.stop:
                    return
                rv = self.core.list_namespaced_pod(NS).metadata.resource_version

    def wait_for(self, what: str, name: str, timeout: float) -> None:
        with self.cond:
            ok = self.cond.wait_for(
                lambda: name in (self.running if what == "running" else self.ready_at), timeout
            )
        if not ok:
            raise RuntimeError(f"pod {name} not {what} after {timeout:g}s")


def exit_time(proc: subprocess.Popen, out: dict, key: str) -> threading.Thread:
    def run() -> None:
        proc.wait()
        out[key] = time.time()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def one_run(i: int, args, core, watcher: Watcher) -> dict:
    name = f"bench-wait-{i}"
    core.create_namespaced_pod(NS, pod_manifest(name))
    watcher.wait_for("running", name, 120)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    drv = subprocess.Popen(
        [args.python, "-c", DRIVER, args.context, NS, name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    kc = subprocess.Popen(
        [
            args.kubectl,
            "--context",
            args.context,
            "-n",
            NS,
            "wait",
            "--for=condition=Ready",
            f"pod/{name}",
            "--timeout=120s",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert drv.stdout is not None
    line = drv.stdout.readline()
    if not line.startswith("armed"):
        raise RuntimeError(f"driver failed: {line}{drv.stderr.read() if drv.stderr else ''}")
    time.sleep(2.0)
    if kc.poll() is not None or drv.poll() is not None:
        raise RuntimeError("a waiter returned before the pod was Ready")
    times: dict[str, float] = {}
    threads = [exit_time(drv, times, "kubetm_exit"), exit_time(kc, times, "kubectl_exit")]
    subprocess.run(
        [
            args.kubectl,
            "--context",
            args.context,
            "-n",
            NS,
            "patch",
            "pod",
            name,
            "--subresource=status",
            "-p",
            f'{{"status":{{"conditions":[{{"type":"{GATE}","status":"True"}}]}}}}',
        ],
        check=True,
        capture_output=True,
    )
    watcher.wait_for("ready", name, 60)
    returned = drv.stdout.readline()
    for t in threads:
        t.join(130)
    if drv.returncode != 0 or kc.returncode != 0:
        raise RuntimeError(f"waiter failed: kubetm {drv.returncode} kubectl {kc.returncode}")
    t_api = watcher.ready_at[name]
    pod = core.read_namespaced_pod(name, NS)
    ltt = next(c.last_transition_time for c in pod.status.conditions if c.type == "Ready")
    ltt_s = ltt.timestamp() if isinstance(ltt, datetime) else float("nan")
    core.delete_namespaced_pod(name, NS, grace_period_seconds=0)
    t_kubetm = float(returned.split()[1])
    first = min(t_api, t_kubetm, times["kubectl_exit"])  # the first client on this host to see it
    r = {
        "kubetm": (t_kubetm - t_api) * 1000,
        "kubetm_first": (t_kubetm - first) * 1000,
        "kubectl_first": (times["kubectl_exit"] - first) * 1000,
        "kubetm_exit": (times["kubetm_exit"] - t_api) * 1000,
        "kubectl_exit": (times["kubectl_exit"] - t_api) * 1000,
        "watcher_minus_ltt": (t_api - ltt_s) * 1000,
        "load": os.getloadavg()[0],
    }
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--context", default=os.environ.get("KUBETM_CONTEXT", "kind-kubetm"))
    ap.add_argument(
        "--kubectl", default=os.environ.get("KUBECTL") or shutil.which("kubectl") or "kubectl"
    )
    ap.add_argument(
        "--python", default=sys.executable, help="Python that has kubetm's dependencies"
    )
    args = ap.parse_args()

    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    cfg = client.Configuration()
    config.load_kube_config(context=args.context, client_configuration=cfg)
    core = client.CoreV1Api(client.ApiClient(cfg))
    try:
        core.create_namespace({"metadata": {"name": NS, "labels": {"kubetm.io/bench": "wait"}}})
    except ApiException as e:
        if e.status != 409:
            raise
    watcher = Watcher(core)
    watcher.start()
    time.sleep(0.5)
    rows = []
    try:
        for i in range(args.runs):
            r = one_run(i, args, core, watcher)
            rows.append(r)
            print(
                f"run {i + 1}: after Ready was visible: kubetm wait_ready returned {r['kubetm']:7.1f} ms "
                f"(process exit {r['kubetm_exit']:7.1f} ms), kubectl wait exited {r['kubectl_exit']:7.1f} ms; "
                f"after the first observer: kubetm {r['kubetm_first']:5.1f} ms, kubectl {r['kubectl_first']:5.1f} ms; "
                f"watcher - lastTransitionTime {r['watcher_minus_ltt']:6.0f} ms; load {r['load']:.1f}",
                flush=True,
            )
    finally:
        watcher.stop = True
        subprocess.run(
            [args.kubectl, "--context", args.context, "delete", "namespace", NS, "--wait=false"],
            capture_output=True,
            check=False,
        )
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    worst = max(r["kubetm"] for r in rows)
    sane = all(-50 <= r["watcher_minus_ltt"] <= 1000 + 500 for r in rows)
    ok = med["kubetm"] <= 100
    print(
        f"summary: {len(rows)} runs, median latency after the Ready transition: kubetm wait_ready "
        f"{med['kubetm']:.1f} ms (max {worst:.1f}; process exit {med['kubetm_exit']:.1f}), kubectl wait "
        f"{med['kubectl_exit']:.1f} ms (process exit); after the first observer: kubetm "
        f"{med['kubetm_first']:.1f} ms, kubectl {med['kubectl_first']:.1f} ms; lastTransitionTime check "
        f"{'ok' if sane else 'OUT OF RANGE'}; load {os.getloadavg()[0]:.1f} -> {'PASS' if ok else 'FAIL'} "
        f"(target <= 100 ms)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
