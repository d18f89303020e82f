"""Benchmark: server-side apply throughput, `kubetm apply -f` against `kubectl apply --server-side -f`.

What is applied: every manifest of every lab folder (manifests/*/*.yaml; not steps/, not cluster/),
copied into N sets of namespaces named kubetm-bench-<tool><copy>-<short name>, rewritten so that
nothing heavy starts on the shared 2-core cluster:
  * Pods are skipped; Deployments/ReplicaSets/ReplicationControllers/StatefulSets get replicas: 0;
    DaemonSets get a nodeSelector no node has; Jobs and CronJobs are suspended;
  * Services become ClusterIP (no NodePort is taken from the labs' reserved ports);
  * PersistentVolumes are renamed kubetm-bench-...; PVs and PVCs get storageClassName
    kubetm-bench-none, so they never bind to a lab's PV/PVC;
  * the label kubetm.io/lab becomes "bench", so no lab cleanup ever selects these objects.
Each tool applies its own copy (same objects, same order, one file) into fresh namespaces ("create"),
then applies it again ("re-apply": every object unchanged). Tools alternate which goes first.
Both are timed as whole processes (start-up included), on the same kind cluster and context.
Everything is deleted afterwards (namespaces and PVs labelled kubetm.io/bench=apply).

    .venv/bin/python benchmarks/apply.py --copies 4 --repeats 2
The last line is the summary (objects/s of each tool and the kubetm/kubectl ratio).
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH_LABEL = "kubetm.io/bench"
SCALED = ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet")


def course_objects(root: Path) -> list[tuple[str, dict]]:
    """(folder, object) for every document of manifests/<folder>/*.yaml except cluster/."""
    out = []
    for folder in sorted(
        p for p in (root / "manifests").iterdir() if p.is_dir() and p.name != "cluster"
    ):
        for f in sorted(folder.glob("*.y*ml")):
            for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
                if isinstance(doc, dict) and doc.get("kind"):
                    out.append((folder.name, doc))
    return out


def short(ns: str) -> str:
    for prefix in ("kubetm-lab-", "kubetm-demo-"):
        if ns.startswith(prefix):
            return ns[len(prefix) :]
    return ns


def light(obj: dict, prefix: str, folder: str) -> dict | None:
    """The object rewritten for the benchmark (None: skipped)."""
    o = copy.deepcopy(obj)
    kind = o["kind"]
    if kind == "Pod":
        return None
    meta = o.setdefault("metadata", {})
    labels = meta.setdefault("labels", {}) or {}
    meta["labels"] = labels
    if "kubetm.io/lab" in labels:
        labels["kubetm.io/lab"] = "bench"
    spec = o.get("spec") or {}
    if kind == "Namespace":
        meta["name"] = f"{prefix}-{short(meta['name'])}"
        labels[BENCH_LABEL] = "apply"
    elif kind == "PersistentVolume":
        meta["name"] = f"{prefix}-{meta['name']}"
        labels[BENCH_LABEL] = "apply"
        spec["storageClassName"] = "kubetm-bench-none"
        spec.pop("claimRef", None)
    else:
        meta["namespace"] = f"{prefix}-{short(meta.get('namespace') or folder)}"
    if kind == "PersistentVolumeClaim":
        spec["storageClassName"] = "kubetm-bench-none"
        if spec.get("volumeName"):
            spec["volumeName"] = f"{prefix}-{spec['volumeName']}"
    if kind in SCALED:
        spec["replicas"] = 0
    if kind == "DaemonSet":
        pod = spec["template"].setdefault("spec", {})
        pod["nodeSelector"] = {"kubetm.io/bench-none": "true"}
    if kind in ("Job", "CronJob"):
        spec["suspend"] = True
    if kind == "Service":
        spec["type"] = "ClusterIP"
        for key in (
            "externalTrafficPolicy",
            "loadBalancerIP",
            "loadBalancerSourceRanges",
            "healthCheckNodePort",
        ):
            spec.pop(key, None)
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)
    return o


def bench_set(objs: list[tuple[str, dict]], tool: str, copies: int) -> list[dict]:
    """Namespaces first (kubectl applies in file order), then everything else."""
    out: list[dict] = []
    for i in range(copies):
        prefix = f"kubetm-bench-{tool}{i}"
        namespaces = {}
        rest = []
        for folder, obj in objs:
            o = light(obj, prefix, folder)
            if o is None:
                continue
            if o["kind"] == "Namespace":
                namespaces[o["metadata"]["name"]] = o
            else:
                rest.append(o)
        for o in rest:  # namespaces the manifests use without declaring them (getting-started)
            ns = o["metadata"].get("namespace")
            if ns and ns not in namespaces:
                namespaces[ns] = {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns, "labels": {BENCH_LABEL: "apply"}},
                }
        out += list(namespaces.values()) + rest
    return out


def run(cmd: list[str], expect: int) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    if p.returncode != 0 or len(lines) != expect:
        sys.exit(
            f"error: {' '.join(cmd[:3])}... exit {p.returncode}, {len(lines)}/{expect} lines\n"
            f"{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        )
    return dt


def cleanup(kubectl: str, context: str, wait: bool = True) -> None:
    sel = f"{BENCH_LABEL}=apply"
    subprocess.run(
        [
            kubectl,
            "--context",
            context,
            "delete",
            "namespace,pv",
            "-l",
            sel,
            f"--wait={'true' if wait else 'false'}",
            "--timeout=300s",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--copies", type=int, default=4, help="namespace sets per tool (61 objects each)"
    )
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--context", default=os.environ.get("KUBETM_CONTEXT", "kind-kubetm"))
    ap.add_argument("--kubetm", default=os.environ.get("KUBETM") or str(ROOT / ".venv/bin/kubetm"))
    ap.add_argument(
        "--kubectl", default=os.environ.get("KUBECTL") or shutil.which("kubectl") or "kubectl"
    )
    ap.add_argument("--keep", action="store_true", help="do not delete the namespaces afterwards")
    args = ap.parse_args()
    if not Path(args.kubetm).exists() and not shutil.which(args.kubetm):
        sys.exit(f"error: {args.kubetm} not found (make install, or pass --kubetm)")
    probe = subprocess.run(
        [args.kubectl, "--context", args.context, "get", "--raw", "/readyz"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        sys.exit(
            f"error: cluster {args.context} not reachable: {probe.stderr.strip()} (make cluster)"
        )

    objs = course_objects(ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="kubetm-bench-apply-"))
    files, counts = {}, {}
    for tool in ("k", "c"):
        docs = bench_set(objs, tool, args.copies)
        counts[tool] = len(docs)
        files[tool] = tmp / f"bench-{tool}.yaml"
        files[tool].write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    n = counts["k"]
    cmds = {
        "k": [args.kubetm, "--context", args.context, "apply", "-f", str(files["k"])],
        "c": [
            args.kubectl,
            "--context",
            args.context,
            "apply",
            "--server-side",
            "-f",
            str(files["c"]),
        ],
    }
    names = {"k": "kubetm apply -f", "c": "kubectl apply --server-side -f"}
    print(
        f"{n} objects per apply ({args.copies} copies of every lab folder, Pods skipped), "
        f"context {args.context}, {args.repeats} repeat(s), tools alternate"
    )
    times: dict[tuple[str, str], list[float]] = {
        (t, p): [] for t in "kc" for p in ("create", "re-apply")
    }
    cleanup(args.kubectl, args.context)  # leftovers of an interrupted run
    try:
        for r in range(args.repeats):
            order = ("k", "c") if r % 2 == 0 else ("c", "k")
            for phase in ("create", "re-apply"):
                for t in order:
                    load = os.getloadavg()[0]
                    dt = run(cmds[t], n)
                    times[(t, phase)].append(dt)
                    print(
                        f"repeat {r + 1} {phase:8s} {names[t]:31s} {dt:6.2f} s  {n / dt:6.1f} objects/s  "
                        f"(load {load:.1f})",
                        flush=True,
                    )
            if not args.keep:
                cleanup(args.kubectl, args.context)
    finally:
        if not args.keep:
            cleanup(args.kubectl, args.context, wait=False)
        shutil.rmtree(tmp, ignore_errors=True)
    med = {key: statistics.median(v) for key, v in times.items()}
    for phase in ("create", "re-apply"):
        print(
            f"median {phase:8s}: kubetm {n / med[('k', phase)]:.1f} objects/s, "
            f"kubectl {n / med[('c', phase)]:.1f} objects/s, "
            f"speed kubetm/kubectl {med[('c', phase)] / med[('k', phase)]:.2f}"
        )
    ratio = med[("c", "create")] / med[("k", "create")]
    ratio2 = med[("c", "re-apply")] / med[("k", "re-apply")]
    ok = ratio >= 1.0 and ratio2 >= 1.0
    print(
        f"summary: {n} objects, create kubetm {n / med[('k', 'create')]:.0f}/s vs kubectl "
        f"{n / med[('c', 'create')]:.0f}/s (x{ratio:.2f}), re-apply kubetm {n / med[('k', 're-apply')]:.0f}/s vs "
        f"kubectl {n / med[('c', 're-apply')]:.0f}/s (x{ratio2:.2f}) load {os.getloadavg()[0]:.1f} "
        f"-> {'PASS' if ok else 'FAIL'} (target: kubetm at least as fast)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
