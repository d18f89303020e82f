"""Lab `dynamic-provisioning` — Dynamic Provisioning, StorageClass, PV status, ReclaimPolicy.

Course page k8s/07-intermediate-basic-resource/volume2. The course installs Longhorn (classes
``longhorn`` (default) and ``fast``, both Immediate); nothing can come to this air-gapped cluster,
so StorageClass ``fast`` is kubetm-provisioner's (images/kubetm-provisioner, a hostPath provisioner
built from source on sig-storage-lib-external-provisioner, installed by ``kubetm cluster up``).

manifests/dynamic-provisioning/: pv-hostpath1 (cluster-scoped), pvc-hostpath1, pvc-fast1,
pvc-default1; steps/: pod-hostpath1, pod-fast1, pv-recycle1, pvc-recycle1, pod-recycle1,
pvc-fast-toobig.
"""

from __future__ import annotations

from kubetm.labs.base import PV_BINDING, Check, Lab
from kubetm.labs.observe import exec_ok, ready_pod, token

PROVISIONER = "kubetm.io/hostpath"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
NODE_ANNOTATION = "kubetm.io/hostpath-node"
BASE_DIR = "/var/lib/kubetm-provisioner"
FILE = "file.txt"
PV_HOSTPATH = "kubetm-lab-dynamic-provisioning-pv-hostpath1"  # the course: pv-hostpath1
PV_RECYCLE = "kubetm-lab-dynamic-provisioning-pv-recycle1"  # the course: pv-recycle1


def _phase(obj: dict | None) -> str:
    return ((obj or {}).get("status") or {}).get("phase") or "-"


def _pvc(ctx, name: str) -> dict:
    return ctx.kube.get("PersistentVolumeClaim", name, namespace=ctx.namespace)


def _watch_pv(ctx, name: str, phases: list[str], until) -> dict | None:
    """Watch PV ``name`` until ``until(pv)``; every phase seen (in order, no repeats) to ``phases``."""

    def seen(pv):
        ph = _phase(pv) if pv is not None else "(deleted)"
        if not phases or phases[-1] != ph:
            phases.append(ph)
        return until(pv)

    return ctx.kube.watch_until(
        "PersistentVolume", name, seen, timeout=ctx.timeout, what=f"PV {name}"
    )


def _bound_pvc(ctx, name: str) -> dict:
    return ctx.kube.watch_until(
        "PersistentVolumeClaim",
        name,
        lambda c: _phase(c) == "Bound",
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"PVC {name} to be Bound",
    )


def _delete(ctx, kind: str, name: str, namespaced: bool = True) -> None:
    ctx.kube.delete(
        f"{kind}/{name}", namespace=ctx.namespace if namespaced else None, timeout=ctx.timeout
    )


def _pv_node(pv: dict) -> str:
    terms = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
    for term in terms.get("nodeSelectorTerms") or []:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == "kubernetes.io/hostname" and expr.get("values"):
                return expr["values"][0]
    return ""


def static_pv_binds_empty_class(ctx) -> tuple[bool, str]:
    """pvc-hostpath1 (storageClassName "") binds the course's static pv-hostpath1."""
    pvc = _bound_pvc(ctx, "pvc-hostpath1")
    vol = (pvc.get("spec") or {}).get("volumeName")
    ok = vol == PV_HOSTPATH
    return ok, (
        f'pvc-hostpath1 (storageClassName "") is Bound to {vol}'
        + ("" if ok else ", not to the course's static pv-hostpath1")
    )


def fast_binds_before_any_pod(ctx) -> tuple[bool, str]:
    """pvc-fast1 (class fast, Immediate) gets a PV made for it while no pod uses it."""
    pvc = _bound_pvc(ctx, "pvc-fast1")
    users = [
        p["metadata"]["name"]
        for p in ctx.kube.list("Pod", namespace=ctx.namespace)
        if any(
            (v.get("persistentVolumeClaim") or {}).get("claimName") == "pvc-fast1"
            for v in (p.get("spec") or {}).get("volumes") or []
        )
    ]
    pv = ctx.kube.get("PersistentVolume", pvc["spec"]["volumeName"])
    by = (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY)
    node = _pv_node(pv)
    path = ((pv.get("spec") or {}).get("hostPath") or {}).get("path")
    ok = not users and by == PROVISIONER and bool(node)
    detail = (
        f"pvc-fast1 is Bound to {pv['metadata']['name']} before any pod uses it "
        f"(pods using it: {', '.join(users) or 'none'}); provisioned by {by}, "
        f"{path} on {node or '(no node affinity)'}"
    )
    return ok, detail


def no_class_gets_default(ctx) -> tuple[bool, str]:
    """pvc-default1 (no storageClassName) is given the default class; with kind's standard
    (WaitForFirstConsumer) it waits for a pod, with an Immediate default it binds."""
    defaults = [
        sc
        for sc in ctx.kube.list("StorageClass")
        if (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
    ]
    if len(defaults) != 1:
        names = ", ".join(sc["metadata"]["name"] for sc in defaults) or "none"
        return False, f"the cluster should have one default StorageClass, it has: {names}"
    default = defaults[0]
    name, mode = default["metadata"]["name"], default.get("volumeBindingMode", "Immediate")
    got = (_pvc(ctx, "pvc-default1").get("spec") or {}).get("storageClassName")
    if got != name:
        return False, f"pvc-default1 got storageClassName {got!r}, not the default {name!r}"
    if mode == "Immediate":
        _bound_pvc(ctx, "pvc-default1")
        return True, f"pvc-default1 got the default class {name} (Immediate) and is Bound"

    def waiting(events: list[dict]) -> bool:
        return any(
            e.get("reason") == "WaitForFirstConsumer"
            and (e.get("involvedObject") or {}).get("name") == "pvc-default1"
            for e in events
        )

    ctx.kube.watch_until(
        "Event",
        predicate=waiting,
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what="the WaitForFirstConsumer event of pvc-default1",
    )
    phase = _phase(_pvc(ctx, "pvc-default1"))
    return phase == "Pending", (
        f"pvc-default1 got the default class {name} ({default.get('provisioner')}, {mode}): "
        f"{phase}, event WaitForFirstConsumer (it binds when a pod uses it)"
    )


def pod_follows_fast_volume(ctx) -> tuple[bool, str]:
    """pod-fast1 (no nodeSelector) is scheduled on the node of pvc-fast1's PV and writes there."""
    ctx.apply_step("pod-fast1")
    pod = ready_pod(ctx, "pod-fast1")
    pv = ctx.kube.get("PersistentVolume", _pvc(ctx, "pvc-fast1")["spec"]["volumeName"])
    node, ran = _pv_node(pv), pod["spec"].get("nodeName")
    exec_ok(ctx, "pod-fast1", ["sh", "-c", f"echo {token('fast')} > /mount1/{FILE}"])
    return node == ran, f"pod-fast1 runs on {ran}, the node of {pv['metadata']['name']} ({node})"


def retain_keeps_released(ctx) -> tuple[bool, str]:
    """pv-hostpath1 (Retain, the default for a PV made by hand): Bound while pvc-hostpath1
    exists; Released, claimRef kept, after the claim is deleted."""
    ctx.apply_step("pod-hostpath1")
    ready_pod(ctx, "pod-hostpath1")
    exec_ok(ctx, "pod-hostpath1", ["sh", "-c", f"cd /mount1 && touch {FILE}"])
    phases: list[str] = []
    _watch_pv(ctx, PV_HOSTPATH, phases, lambda pv: _phase(pv) == "Bound")
    _delete(ctx, "pod", "pod-hostpath1")
    _delete(ctx, "persistentvolumeclaim", "pvc-hostpath1")
    pv = _watch_pv(ctx, PV_HOSTPATH, phases, lambda pv: _phase(pv) == "Released") or {}
    policy = pv["spec"].get("persistentVolumeReclaimPolicy")
    claim = (pv["spec"].get("claimRef") or {}).get("name")
    ok = policy == "Retain" and claim == "pvc-hostpath1"
    return ok, (
        f"pv-hostpath1 ({policy}): {' -> '.join(phases)} after pvc-hostpath1 was deleted; "
        f"claimRef still {claim} (no new claim binds it until an admin clears it)"
    )


def _inspect_dir(ctx, node: str, name: str) -> str:
    """ls of BASE_DIR on ``node``, through a short pod with the directory mounted."""
    pod_name = "inspect-" + token("d")[-6:].lower()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name, "namespace": ctx.namespace},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "ls",
                    "image": "localhost:5001/kubetm/init:1.0",
                    "volumeMounts": [{"name": "base", "mountPath": "/base"}],
                }
            ],
            "volumes": [
                {"name": "base", "hostPath": {"path": BASE_DIR, "type": "DirectoryOrCreate"}}
            ],
        },
    }
    ctx.kube.apply([pod])
    try:
        ready_pod(ctx, pod_name)
        return exec_ok(ctx, pod_name, ["ls", "-A", "/base"])
    finally:
        _delete(ctx, "pod", pod_name)


def delete_removes_pv_and_data(ctx) -> tuple[bool, str]:
    """Reclaim Delete (class fast): deleting pvc-fast1 removes its PV and its directory."""
    pv = ctx.kube.get("PersistentVolume", _pvc(ctx, "pvc-fast1")["spec"]["volumeName"])
    name, node = pv["metadata"]["name"], _pv_node(pv)
    before = _inspect_dir(ctx, node, name).split()
    _delete(ctx, "pod", "pod-fast1")
    _delete(ctx, "persistentvolumeclaim", "pvc-fast1")
    phases: list[str] = []
    _watch_pv(ctx, name, phases, lambda p: p is None)
    after = _inspect_dir(ctx, node, name).split()
    ok = name in before and name not in after
    return ok, (
        f"{name} ({pv['spec'].get('persistentVolumeReclaimPolicy')}): {' -> '.join(phases)}; "
        f"{BASE_DIR}/{name} on {node}: {'there' if name in before else 'missing'} before, "
        f"{'still there' if name in after else 'gone'} after"
    )


def recycle_returns_available(ctx) -> tuple[bool, str]:
    """pv-recycle1 (Recycle, hostPath /tmp/recycle): Available -> Bound -> Released ->
    Available, and a new claim finds the directory empty."""
    phases: list[str] = []
    ctx.apply_step("pv-recycle1")
    _watch_pv(ctx, PV_RECYCLE, phases, lambda pv: _phase(pv) == "Available")
    ctx.apply_step("pvc-recycle1")
    ctx.apply_step("pod-recycle1")
    ready_pod(ctx, "pod-recycle1")
    _watch_pv(ctx, PV_RECYCLE, phases, lambda pv: _phase(pv) == "Bound")
    exec_ok(ctx, "pod-recycle1", ["sh", "-c", f"cd /mount1 && touch {FILE}"])
    _delete(ctx, "pod", "pod-recycle1")
    _delete(ctx, "persistentvolumeclaim", "pvc-recycle1")
    _watch_pv(
        ctx,
        PV_RECYCLE,
        phases,
        lambda pv: _phase(pv) in ("Available", "Failed") and "Released" in phases,
    )
    if phases[-1] == "Failed":
        msg = (ctx.kube.get("PersistentVolume", PV_RECYCLE).get("status") or {}).get("message")
        return False, f"pv-recycle1: {' -> '.join(phases)}: {msg}"
    ctx.apply_step("pvc-recycle1")
    ctx.apply_step("pod-recycle1")
    ready_pod(ctx, "pod-recycle1")
    left = exec_ok(ctx, "pod-recycle1", ["ls", "-A", "/mount1"]).split()
    ok = phases[-4:] == ["Available", "Bound", "Released", "Available"] and FILE not in left
    return ok, (
        f"pv-recycle1 (Recycle): {' -> '.join(phases)}; bound again, /mount1 holds "
        f"{', '.join(left) or 'nothing'} ({FILE} was scrubbed by the recycler pod)"
    )


def too_big_claim_fails(ctx) -> tuple[bool, str]:
    """pvc-fast-toobig asks 20Gi of class fast (10Gi per node): Pending, ProvisioningFailed."""
    ctx.apply_step("pvc-fast-toobig")

    def failed(events: list[dict]) -> bool:
        return any(
            e.get("reason") == "ProvisioningFailed"
            and (e.get("involvedObject") or {}).get("name") == "pvc-fast-toobig"
            for e in events
        )

    events = ctx.kube.watch_until(
        "Event",
        predicate=failed,
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what="a ProvisioningFailed event of pvc-fast-toobig",
    )
    msg = next(
        e.get("message", "")
        for e in events
        if e.get("reason") == "ProvisioningFailed"
        and (e.get("involvedObject") or {}).get("name") == "pvc-fast-toobig"
    )
    phase = _phase(_pvc(ctx, "pvc-fast-toobig"))
    _delete(ctx, "persistentvolumeclaim", "pvc-fast-toobig")
    return phase == "Pending" and "not enough room" in msg, (
        f"pvc-fast-toobig (20Gi, class fast): {phase}, ProvisioningFailed: {msg}"
    )


LAB = Lab(
    name="dynamic-provisioning",
    title="동적 프로비저닝 — Dynamic Provisioning, StorageClass, Status, ReclaimPolicy",
    lesson=(
        "a StorageClass makes a PV for a claim (fast: at once, Immediate); a claim with no class "
        "gets the default one; PVs go Available -> Bound -> Released, and their reclaim policy "
        "decides what follows (Delete, Retain, Recycle). The course's Longhorn is replaced by "
        "kubetm-provisioner (hostPath directories under /var/lib/kubetm-provisioner on a worker, "
        "10Gi per node); the default class stays kind's standard (local-path, "
        "WaitForFirstConsumer) rather than an Immediate one as in the course: every other lab and "
        "StatefulSet claim keeps the topology-aware default, and the contrast with fast is the "
        "point of the page. kube-controller-manager's hostPath recycler pod runs kubetm's image on "
        "k8s-node1 (kubetm cluster up sets --pv-recycler-pod-template-filepath-hostpath). The "
        "page's tip 'Recycle only works under /tmp/' does not hold on Kubernetes 1.34: the "
        "hostPath recycler scrubs any path but '/'; what is limited to /tmp/.+ is the hostPath "
        "*deleter* (reclaim Delete on a hand-made hostPath PV: event VolumeFailedDelete 'host_path "
        "deleter only supports /tmp/.+ but received provided /mnt/...', the PV goes Failed; both "
        "seen on this cluster 2026-12-01). The course's pv-hostpath1 and "
        "pv-recycle1 are named kubetm-lab-dynamic-provisioning-pv-* (PVs are cluster-wide) and have "
        "node affinity to k8s-node1, where the course pins their pods"
    ),
    part="중급",
    page="k8s/07-intermediate-basic-resource/volume2",
    shares=(
        "setting:kube-controller-manager",
        PV_BINDING,
    ),
    shares_reason=(
        'claims with storageClassName "" bind any fitting class-less PV (the volume lab\'s too); '
        "Recycle relies on "
        "kube-controller-manager's recycler pod template"
    ),
    checks=(
        Check(
            "static-pv-binds-empty-class",
            static_pv_binds_empty_class,
            'pvc-hostpath1 (storageClassName "") binds the static pv-hostpath1',
        ),
        Check(
            "fast-binds-before-any-pod",
            fast_binds_before_any_pod,
            "pvc-fast1 (class fast, Immediate) is Bound to a PV kubetm-provisioner made, with no pod",
        ),
        Check(
            "no-class-gets-default",
            no_class_gets_default,
            "pvc-default1 gets the default class (standard: Pending, WaitForFirstConsumer)",
        ),
        Check(
            "pod-follows-fast-volume",
            pod_follows_fast_volume,
            "pod-fast1 (no nodeSelector) runs on the node of pvc-fast1's PV (its node affinity)",
            timeout=120,
        ),
        Check(
            "retain-keeps-released",
            retain_keeps_released,
            "pv-hostpath1 (Retain): Bound -> Released after pvc-hostpath1 is deleted, claimRef kept",
            timeout=120,
        ),
        Check(
            "delete-removes-pv-and-data",
            delete_removes_pv_and_data,
            "reclaim Delete: deleting pvc-fast1 removes its PV and its directory on the node",
            timeout=180,
        ),
        Check(
            "recycle-returns-available",
            recycle_returns_available,
            "pv-recycle1 (Recycle, /tmp/recycle): Available -> Bound -> Released -> Available, "
            "file.txt scrubbed",
            timeout=240,
        ),
        Check(
            "too-big-claim-fails",
            too_big_claim_fails,
            "a 20Gi claim of class fast (10Gi per node) stays Pending with ProvisioningFailed",
        ),
    ),
)

__all__ = ["LAB"]
