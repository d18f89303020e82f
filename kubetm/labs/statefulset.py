"""Lab `statefulset` — StatefulSet (중급): ordinal names, order, stable storage and DNS per pod.

manifests/statefulset/ (the course page's YAML, object by object): replica-web (ReplicaSet) beside
stateful-db (StatefulSet, OrderedReady by default), both replicas: 1 and scaled by the checks to 2
and 3; replica-pvc1 shared by replica-pvc's pods (init image, on the node of its PV, scaled to 2);
stateful-pvc with volumeClaimTemplates (one claim per pod) and its headless Service
stateful-headless; request-pod, the client of the DNS check; steps/storageclass-fast.yaml: the
course's StorageClass "fast" (Longhorn in the course) on local-path, for a cluster without one
(`kubetm cluster up` makes "fast" with kubetm-provisioner).

"fast" is made by the first check that needs it, and only when the cluster has none (a class of
that name the lab did not make is used as it is and never deleted). ``lab delete`` (the cleanup
hook) deletes the workloads, then the claims, waits until every PV of the lab's claims is gone
(reclaim Delete), then the lab's own "fast".
"""

from __future__ import annotations

import re
from datetime import datetime

from kubetm.errors import KubetmError
from kubetm.labels import LAB as LAB_KEY
from kubetm.labs.base import Check, Lab
from kubetm.labs.observe import (
    exec_ok,
    live,
    name_of,
    observe_until,
    token,
)

FAST = "fast"
CLIENT = "request-pod"
TOKEN_FILE = "kubetm-token.txt"
MOUNT = "/applog"
OBSERVE_SECONDS = 30.0
_RS_NAME = re.compile(r"^replica-web-[a-z0-9]{5}$")


# ------------------------------------------------------------------------------ helpers


def ensure_fast(ctx) -> str:
    """StorageClass "fast": the cluster's own if it has one, else the lab's (steps/storageclass-fast)."""
    sc = ctx.kube.get("StorageClass", FAST)
    if sc is None:
        ctx.apply_step("storageclass-fast")
        sc = ctx.kube.get("StorageClass", FAST) or {}
        whose = "made by the lab"
    else:
        labels = sc["metadata"].get("labels") or {}
        whose = "made by the lab" if labels.get(LAB_KEY) == ctx.lab.name else "the cluster's own"
    return f"class fast ({whose}, {sc.get('provisioner')}, reclaim {sc.get('reclaimPolicy')})"


def _manifest(ctx, file: str, kind: str, name: str) -> dict:
    from kubetm import manifests

    for o in manifests.load(ctx.lab.folder / file, registry=ctx.registry):
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise KubetmError(f"lab {ctx.lab.name}: no {kind} {name} in {file}")


def scale(ctx, file: str, kind: str, name: str, replicas: int) -> None:
    """Apply the lab's ``kind/name`` from ``file`` with ``spec.replicas`` set (kubectl scale)."""
    obj = _manifest(ctx, file, kind, name)
    obj["spec"]["replicas"] = replicas
    ctx.check_cancelled()
    ctx.kube.apply([obj])


def _ready(pod: dict) -> bool:
    from kubetm.k8s import conditions

    return conditions.pod_ready(pod)


def wait_pods(ctx, label: str, good, what: str) -> list[dict]:
    """Watch the pods labelled ``type=<label>`` until ``good({name: pod})`` (live pods only)."""
    items = ctx.kube.watch_until(
        "Pod",
        None,
        lambda items: good({name_of(p): p for p in live(items)}),
        selector={"type": label},
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=what,
    )
    return sorted(live(items), key=name_of)


def _names_ready(names: list[str]):
    def good(pods: dict[str, dict]) -> bool:
        return sorted(pods) == sorted(names) and all(_ready(p) for p in pods.values())

    return good


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _ready_since(pod: dict) -> datetime | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return _ts(c.get("lastTransitionTime"))
    return None


def creation_order(pods: list[dict]) -> tuple[bool, list[str]]:
    """Whether each ordinal was created only once the one before it was Ready (OrderedReady);
    API times have one-second resolution, so "the same second" counts as after."""
    ok, notes = True, []
    for before, after in zip(pods, pods[1:], strict=False):
        ready = _ready_since(before)
        created = _ts(after["metadata"].get("creationTimestamp"))
        in_order = ready is not None and created is not None and created >= ready
        ok = ok and in_order
        notes.append(
            f"{name_of(after)} created {created:%H:%M:%S} "
            + ("after" if in_order else "BEFORE")
            + f" {name_of(before)} was Ready ({ready:%H:%M:%S})"
            if ready and created
            else f"{name_of(after)}: no time to compare"
        )
    return ok, notes


def _uids(pods) -> dict[str, str]:
    return {name_of(p): p["metadata"]["uid"] for p in pods}


def _write(ctx, pod: str, value: str) -> None:
    exec_ok(ctx, pod, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", value, f"{MOUNT}/{TOKEN_FILE}"])


def _read(ctx, pod: str) -> str:
    rc, out, err = ctx.kube.exec(
        pod, ["cat", f"{MOUNT}/{TOKEN_FILE}"], namespace=ctx.namespace, timeout=30
    )
    return out if rc == 0 else f"<{err.strip() or 'unreadable'}>"


def short_pv(name: str | None) -> str:
    """A provisioned PV's name (pvc-<uid>) cut to its first uid group, for one-line details."""
    return (name or "?")[:12]


def _claims(pod: dict) -> list[str]:
    return [
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["spec"].get("volumes") or []
        if v.get("persistentVolumeClaim")
    ]


def _bound(ctx, claim: str) -> dict:
    return ctx.kube.watch_until(
        "PersistentVolumeClaim",
        claim,
        lambda o: ((o or {}).get("status") or {}).get("phase") == "Bound",
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"claim {claim} Bound",
    )


# ------------------------------------------------------------------------------ checks


def ordinal_names_in_order(ctx) -> tuple[bool, str]:
    """replica-web's pods get random suffixes; stateful-db makes -0, -1, -2, each after the one
    before is Ready."""
    # Start from none, so the order seen is this run's (an earlier verify recreated -0).
    scale(ctx, "10-pods.yaml", "StatefulSet", "stateful-db", 0)
    wait_pods(ctx, "db", lambda pods: not pods, "stateful-db scaled to 0")
    scale(ctx, "10-pods.yaml", "StatefulSet", "stateful-db", 3)
    scale(ctx, "10-pods.yaml", "ReplicaSet", "replica-web", 2)
    sts = wait_pods(
        ctx,
        "db",
        _names_ready([f"stateful-db-{i}" for i in range(3)]),
        "stateful-db-0..2 Ready",
    )
    rs = wait_pods(
        ctx, "web", lambda p: len(p) == 2 and all(map(_ready, p.values())), "replica-web's 2 pods"
    )
    random_names = all(_RS_NAME.match(name_of(p)) for p in rs)
    in_order, notes = creation_order(sts)
    return random_names and in_order, (
        f"replica-web: {', '.join(map(name_of, rs))} (random suffixes); stateful-db: "
        f"{', '.join(map(name_of, sts))}; " + "; ".join(notes)
    )


def scale_in_highest_first(ctx) -> tuple[bool, str]:
    """stateful-db 3 -> 2 removes stateful-db-2; -0 and -1 stay the same pods."""
    names = [f"stateful-db-{i}" for i in range(3)]
    scale(ctx, "10-pods.yaml", "StatefulSet", "stateful-db", 3)
    before = _uids(wait_pods(ctx, "db", _names_ready(names), "stateful-db-0..2 Ready"))
    scale(ctx, "10-pods.yaml", "StatefulSet", "stateful-db", 2)
    after = _uids(wait_pods(ctx, "db", _names_ready(names[:2]), "stateful-db at 2 pods"))
    kept = all(after.get(n) == before[n] for n in names[:2])
    scale(ctx, "10-pods.yaml", "StatefulSet", "stateful-db", 3)  # back to 3
    return kept, (
        f"replicas 3 -> 2: stateful-db-2 removed, left {', '.join(sorted(after))} "
        + ("(the same pods, uids unchanged)" if kept else f"(uids changed: {before} -> {after})")
    )


def deleted_pod_same_name(ctx) -> tuple[bool, str]:
    """A deleted stateful-db-0 comes back as stateful-db-0 (new uid); a deleted replica-web pod
    is replaced by one with a new random name."""
    names = [f"stateful-db-{i}" for i in range(3)]
    scale(ctx, "10-pods.yaml", "StatefulSet", "stateful-db", 3)
    scale(ctx, "10-pods.yaml", "ReplicaSet", "replica-web", 2)
    old = {name_of(p): p for p in wait_pods(ctx, "db", _names_ready(names), "stateful-db Ready")}
    rs_old = wait_pods(ctx, "web", lambda p: len(p) == 2, "replica-web's 2 pods")
    gone_rs = name_of(rs_old[0])
    uid0 = old["stateful-db-0"]["metadata"]["uid"]
    ctx.kube.delete(
        [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "namespace": ctx.namespace}}
            for n in ("stateful-db-0", gone_rs)
        ],
        wait=False,
    )
    back = ctx.kube.watch_until(
        "Pod",
        "stateful-db-0",
        lambda p: p is not None and p["metadata"]["uid"] != uid0 and _ready(p),
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what="a new stateful-db-0 Ready",
    )
    rs_new = wait_pods(
        ctx,
        "web",
        lambda p: len(p) == 2 and gone_rs not in p and all(map(_ready, p.values())),
        "replica-web back at 2 pods",
    )
    new_rs = sorted(set(map(name_of, rs_new)) - set(map(name_of, rs_old)))
    ok = bool(new_rs) and all(_RS_NAME.match(n) for n in new_rs)
    return ok, (
        f"deleted stateful-db-0 (uid {uid0[:8]}): back as stateful-db-0 (uid "
        f"{back['metadata']['uid'][:8]}, IP {(back.get('status') or {}).get('podIP')}); "
        f"deleted {gone_rs}: replaced by {', '.join(new_rs) or 'nothing new'}"
    )


def replicaset_shares_one_claim(ctx) -> tuple[bool, str]:
    """replica-pvc's pods mount the same claim replica-pvc1: a file one writes, the other reads."""
    fast = ensure_fast(ctx)
    scale(ctx, "20-pvc.yaml", "ReplicaSet", "replica-pvc", 2)
    pods = wait_pods(
        ctx, "web2", lambda p: len(p) == 2 and all(map(_ready, p.values())), "replica-pvc's 2 pods"
    )
    claims = {name_of(p): _claims(p) for p in pods}
    pvc = _bound(ctx, "replica-pvc1")
    writer, reader = (name_of(p) for p in pods)
    value = token("shared")
    _write(ctx, writer, value)
    seen = _read(ctx, reader)
    ok = all(c == ["replica-pvc1"] for c in claims.values()) and seen == value
    nodes = sorted({p["spec"].get("nodeName") for p in pods})
    return ok, (
        f"{fast}; {writer} and {reader} (on {', '.join(nodes)}) both mount "
        f"{', '.join(sorted({c for cs in claims.values() for c in cs}))} -> PV "
        f"{short_pv(pvc['spec'].get('volumeName'))}; {reader} "
        + ("read the token " + writer + " wrote" if seen == value else f"read {seen[:60]!r}")
    )


def claim_per_pod_survives_scale_in(ctx) -> tuple[bool, str]:
    """stateful-pvc gets one claim per pod; after 2 -> 1 -> 2 the new stateful-pvc-1 mounts
    its old claim (same PV) and finds the file written before."""
    fast = ensure_fast(ctx)
    names = ["stateful-pvc-0", "stateful-pvc-1"]
    scale(ctx, "20-pvc.yaml", "StatefulSet", "stateful-pvc", 2)
    pods = wait_pods(ctx, "db2", _names_ready(names), "stateful-pvc-0, -1 Ready")
    claims = {name_of(p): _claims(p) for p in pods}
    pvs = {c: _bound(ctx, c)["spec"]["volumeName"] for cs in claims.values() for c in cs}
    one_each = sorted(claims.values()) == [["volume-" + n] for n in names] and len(
        set(pvs.values())
    ) == len(names)
    uid1 = pods[1]["metadata"]["uid"]
    value = token("sts")
    _write(ctx, "stateful-pvc-1", value)
    scale(ctx, "20-pvc.yaml", "StatefulSet", "stateful-pvc", 1)
    wait_pods(ctx, "db2", lambda p: sorted(p) == names[:1], "stateful-pvc at 1 pod")
    kept = ctx.kube.get("PersistentVolumeClaim", "volume-stateful-pvc-1", namespace=ctx.namespace)
    kept_pv = (kept or {}).get("spec", {}).get("volumeName")
    scale(ctx, "20-pvc.yaml", "StatefulSet", "stateful-pvc", 2)
    back = wait_pods(ctx, "db2", _names_ready(names), "stateful-pvc-1 back")[1]
    seen = _read(ctx, "stateful-pvc-1")
    reattached = _claims(back) == ["volume-stateful-pvc-1"] and kept_pv == pvs.get(
        "volume-stateful-pvc-1"
    )
    ok = (
        one_each
        and kept is not None
        and back["metadata"]["uid"] != uid1
        and reattached
        and seen == value
    )
    return ok, (
        f"{fast}; claims "
        + ", ".join(f"{c} -> {short_pv(pv)}" for c, pv in sorted(pvs.items()))
        + "; scaled 2 -> 1: volume-stateful-pvc-1 "
        + (f"kept (PV {short_pv(kept_pv)})" if kept else "DELETED")
        + f"; 1 -> 2: a new stateful-pvc-1 (uid {back['metadata']['uid'][:8]}, was {uid1[:8]}) "
        f"on {back['spec'].get('nodeName')} mounts {', '.join(_claims(back))} and "
        + ("read the file written before" if seen == value else f"read {seen[:60]!r}")
    )


def pod_name_resolves(ctx) -> tuple[bool, str]:
    """From request-pod, stateful-pvc-0.stateful-headless resolves to that pod's IP and answers
    with its hostname (the course's curl stateful-pvc-0.stateful-headless:8080/hostname)."""
    names = ["stateful-pvc-0", "stateful-pvc-1"]
    pods = {name_of(p): p for p in wait_pods(ctx, "db2", _names_ready(names), "stateful-pvc Ready")}
    ctx.kube.watch_until(
        "Pod",
        CLIENT,
        lambda p: p is not None and _ready(p),
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"{CLIENT} Ready",
    )
    ip = (pods["stateful-pvc-0"].get("status") or {}).get("podIP")
    host = "stateful-pvc-0.stateful-headless"

    def resolve() -> str:
        rc, out, _ = ctx.kube.exec(
            CLIENT, ["getent", "hosts", host], namespace=ctx.namespace, timeout=20
        )
        return out.split()[0] if rc == 0 and out.split() else ""

    def fetch() -> tuple[int, str]:
        cmd = ["curl", "-s", "-m", "3", "-o", "-", "-w", "\n%{http_code}"]
        rc, out, _ = ctx.kube.exec(
            CLIENT, [*cmd, f"http://{host}:8080/hostname"], namespace=ctx.namespace, timeout=20
        )
        body, _, code = out.rpartition("\n")
        return (int(code) if rc == 0 and code.strip().isdigit() else 0), body

    seen = observe_until(resolve, lambda a: a == ip, seconds=OBSERVE_SECONDS)
    status, body = observe_until(fetch, lambda a: a[0] == 200, seconds=OBSERVE_SECONDS)
    ok = seen == ip and status == 200 and body.strip() == "stateful-pvc-0"
    return ok, (
        f"from {CLIENT}: {host} -> {seen or 'no address'} (stateful-pvc-0 is {ip}); "
        f"curl http://{host}:8080/hostname -> {status} {body.strip()[:40]!r}"
    )


# ------------------------------------------------------------------------------ cleanup


def cleanup(ctx) -> None:
    """Workloads, then claims; wait until every PV of the lab's claims is gone; the lab's "fast"."""
    ns = ctx.namespace
    kube = ctx.kube
    if kube.get("Namespace", ns) is not None:
        for kind in ("StatefulSet", "ReplicaSet"):
            objs = kube.list(kind, namespace=ns)
            if objs:
                kube.delete(objs, wait=True, timeout=ctx.timeout)
        claims = kube.list("PersistentVolumeClaim", namespace=ns)
        if claims:
            kube.delete(claims, wait=True, timeout=ctx.timeout)
    for pv in kube.list("PersistentVolume"):
        ref = pv.get("spec", {}).get("claimRef") or {}
        if ref.get("namespace") != ns:
            continue
        if pv["spec"].get("persistentVolumeReclaimPolicy") != "Delete":  # a Retain "fast"
            kube.delete([pv], wait=False)
        kube.watch_until(
            "PersistentVolume",
            name_of(pv),
            lambda o: o is None,
            timeout=ctx.timeout,
            what=f"persistentvolume/{name_of(pv)} deleted",
        )
    sc = kube.get("StorageClass", FAST)
    if sc is not None and (sc["metadata"].get("labels") or {}).get(LAB_KEY) == ctx.lab.name:
        kube.delete([sc], wait=True, timeout=ctx.timeout)


LAB = Lab(
    name="statefulset",
    title="스테이트풀셋 — StatefulSet",
    lesson=(
        "StatefulSet: pods named -0, -1, ... created in order, the highest removed first, a "
        "deleted pod back under its name; one claim per pod (volumeClaimTemplates) kept across "
        "scale-in; <pod>.<headless service> names one pod. The YAML is the course page's "
        "(namespace kubetm-lab-statefulset; the course: default). Deviations: StorageClass fast "
        "is the cluster's (kubetm-provisioner's hostPath volumes; the course: Longhorn); "
        "replica-pvc is not pinned to k8s-node1 as in the course: its PV's node affinity puts "
        "both pods where the data is; the checks scale the course's replicas: 1 up (replica-web 2, "
        "stateful-db 3, replica-pvc 2, stateful-pvc 2), as the lecture does by hand"
    ),
    part="중급",
    page="k8s/08-intermediate-controller/statefulset",
    shares=("object:StorageClass/fast",),
    shares_reason="the course's StorageClass fast (made by the lab when the cluster has none)",
    cleanup=cleanup,
    checks=(
        Check(
            "ordinal-names-in-order",
            ordinal_names_in_order,
            "replica-web's pods (scaled to 2) have random suffixes; stateful-db's (scaled to 3) "
            "are -0, -1, -2, each created after the one before was Ready",
            timeout=90,
        ),
        Check(
            "scale-in-highest-first",
            scale_in_highest_first,
            "stateful-db 3 -> 2 removes stateful-db-2; -0 and -1 stay",
            timeout=60,
        ),
        Check(
            "deleted-pod-same-name",
            deleted_pod_same_name,
            "a deleted stateful-db-0 comes back as stateful-db-0; a deleted replica-web pod is "
            "replaced under a new random name",
            timeout=60,
        ),
        Check(
            "replicaset-shares-one-claim",
            replicaset_shares_one_claim,
            "replica-pvc's two pods (scaled to 2) mount the one claim replica-pvc1 (StorageClass "
            "fast): a file "
            "one writes, the other reads",
            timeout=90,
        ),
        Check(
            "claim-per-pod-survives-scale-in",
            claim_per_pod_survives_scale_in,
            "stateful-pvc gets volume-stateful-pvc-0/-1 on their own PVs; after 2 -> 1 -> 2 the "
            "new stateful-pvc-1 mounts its kept claim and reads the file written before",
            timeout=90,
        ),
        Check(
            "pod-name-resolves",
            pod_name_resolves,
            "from request-pod, stateful-pvc-0.stateful-headless resolves to stateful-pvc-0's IP "
            "and answers with its hostname",
            timeout=60,
        ),
    ),
)

__all__ = ["LAB"]
