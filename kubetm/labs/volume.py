"""Lab `volume` — 볼륨 (Volume): emptyDir, hostPath, PersistentVolume / PersistentVolumeClaim.

manifests/volume/: pod-volume-1 (emptyDir, 2 containers), pod-volume-3 (hostPath on k8s-node1),
PVs kubetm-lab-volume-pv-01..04 (cluster-scoped, labelled kubetm.io/lab=volume), pvc-01..03,
pod-volume-pvc; steps/hostpath-recreate.yaml (pod-volume-4), steps/hostpath-type-missing.yaml
(hostPath type Directory / File on missing paths), steps/hostpath-fileorcreate.yaml.

Checks write a token unique to the run (never trust files an earlier run left on the node) and
remove their token files from the node's directories afterwards.
"""

from __future__ import annotations

from kubetm.labels import COURSE_NODE
from kubetm.labels import LAB as LAB_KEY
from kubetm.labs.base import PV_BINDING, Check, Lab
from kubetm.labs.observe import (
    container_status,
    exec_ok,
    quantity_bytes,
    ready_pod,
    recreate_pod,
    short,
    token,
)

TOKEN_FILE = "kubetm-token.txt"
PV_PREFIX = "kubetm-lab-volume-"
MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _write(ctx, pod: str, path: str, value: str, container: str | None = None) -> None:
    exec_ok(ctx, pod, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", value, path], container=container)


def _read(ctx, pod: str, path: str, container: str | None = None) -> tuple[int, str]:
    rc, out, err = ctx.kube.exec(
        pod, ["cat", path], container=container, namespace=ctx.namespace, timeout=30
    )
    return rc, out if rc == 0 else err.strip()


def emptydir_shared(ctx) -> tuple[bool, str]:
    """container1 writes into the emptyDir, container2 reads it; a recreated pod starts empty."""
    ready_pod(ctx, "pod-volume-1")
    value = token("emptydir")
    _write(ctx, "pod-volume-1", f"/mount1/{TOKEN_FILE}", value, container="container1")
    rc, seen = _read(ctx, "pod-volume-1", f"/mount2/{TOKEN_FILE}", container="container2")
    shared = rc == 0 and seen == value
    recreate_pod(ctx, "10-emptydir.yaml", "pod-volume-1")
    listing = exec_ok(ctx, "pod-volume-1", ["ls", "-A", "/mount1"], container="container1").split()
    gone = TOKEN_FILE not in listing
    first = (
        "container1 wrote /mount1/" + TOKEN_FILE + ", container2 read the same token in /mount2"
        if shared
        else f"container2 did not read container1's token in /mount2 ({seen[:60]!r})"
    )
    second = (
        "after pod-volume-1 was deleted and created again, /mount1 is empty (the emptyDir went with the pod)"
        if gone
        else f"the recreated pod-volume-1 still has {TOKEN_FILE}: {' '.join(listing)[:60]}"
    )
    return shared and gone, f"{first}; {second}"


def hostpath_outlives_pod(ctx) -> tuple[bool, str]:
    """pod-volume-3 writes into its hostPath, is deleted; pod-volume-4 on the same node reads the file."""
    ctx.delete_step("hostpath-recreate")  # a previous verify left pod-volume-4
    if ctx.kube.get("Pod", "pod-volume-3", namespace=ctx.namespace) is None:
        ctx.kube.apply(
            _lab_pod(ctx, "20-hostpath.yaml", "pod-volume-3")
        )  # deleted by a previous verify
    first = ready_pod(ctx, "pod-volume-3")
    node = first["spec"].get("nodeName")
    host_dir = next(
        (v["hostPath"]["path"] for v in first["spec"].get("volumes") or [] if v.get("hostPath")),
        "?",
    )
    value = token("hostpath")
    _write(ctx, "pod-volume-3", f"/mount1/{TOKEN_FILE}", value)
    ctx.kube.delete(
        [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "pod-volume-3", "namespace": ctx.namespace},
            }
        ],
        wait=True,
        timeout=ctx.timeout,
    )
    ctx.apply_step("hostpath-recreate")
    second = ready_pod(ctx, "pod-volume-4")
    node2 = second["spec"].get("nodeName")
    rc, seen = _read(ctx, "pod-volume-4", f"/mount1/{TOKEN_FILE}")
    ctx.kube.exec(
        "pod-volume-4", ["rm", "-f", f"/mount1/{TOKEN_FILE}"], namespace=ctx.namespace, timeout=30
    )
    ok = node == node2 and rc == 0 and seen == value
    if ok:
        return True, (
            f"pod-volume-3 wrote a token into hostPath {host_dir} on {node} and was deleted; "
            f"pod-volume-4 on the same node read it back"
        )
    if node != node2:
        return False, f"pod-volume-4 landed on {node2}, not on {node} where pod-volume-3 wrote"
    return (
        False,
        f"pod-volume-4 on {node2} did not find pod-volume-3's token in {host_dir}: {seen[:80]!r}",
    )


MISSING_STEP = "hostpath-type-missing"
MISSING_PODS = {"pod-hostpath-directory": "Directory", "pod-hostpath-file": "File"}


def _failed_mounts(events: list[dict] | None) -> dict[str, str]:
    """{pod: message} of the FailedMount events about the step's pods."""
    out: dict[str, str] = {}
    for e in events or []:
        name = (e.get("involvedObject") or {}).get("name")
        if e.get("reason") == "FailedMount" and name in MISSING_PODS:
            out[name] = " ".join(str(e.get("message") or "").split())
    return out


def _host_path(pod: dict, volume: str = "host-path") -> str:
    for v in pod["spec"].get("volumes") or []:
        if v.get("name") == volume and v.get("hostPath"):
            return v["hostPath"]["path"]
    return "?"


def hostpath_type_missing(ctx) -> tuple[bool, str]:
    """hostPath type Directory / File on paths missing on the node: FailedMount, ContainerCreating."""
    ctx.apply_step(MISSING_STEP)
    try:
        events = ctx.kube.watch_until(
            "Event",
            None,
            lambda evs: set(_failed_mounts(evs)) == set(MISSING_PODS),
            namespace=ctx.namespace,
            timeout=ctx.timeout * 2 / 3,
            what="FailedMount events of pod-hostpath-directory and pod-hostpath-file",
        )
        msgs = _failed_mounts(events)
        parts, ok = [], True
        for name, kind in MISSING_PODS.items():
            pod = ctx.kube.get("Pod", name, namespace=ctx.namespace) or {}
            phase = (pod.get("status") or {}).get("phase")
            waiting = (container_status(pod, "container").get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            held = phase == "Pending" and reason == "ContainerCreating"
            ok = ok and held and "type check failed" in msgs[name]
            parts.append(
                f"{name} (type {kind}, {_host_path(pod) if pod else '?'}): {phase}/{reason}, "
                f"FailedMount {short(msgs[name], 150)!r}"
            )
    finally:
        ctx.delete_step(MISSING_STEP, wait=False)
    return ok, "; ".join(parts) + ": Directory and File create nothing, the pod never starts"


FILEORCREATE_STEP = "hostpath-fileorcreate"


def hostpath_fileorcreate(ctx) -> tuple[bool, str]:
    """hostPath type FileOrCreate on a missing path: the kubelet creates the file, the pod runs."""
    objs = ctx.load_step(FILEORCREATE_STEP)
    name = f"{token('created')}.txt"
    pod_obj = objs[0]
    vol = next(v for v in pod_obj["spec"]["volumes"] if v["name"] == "file")
    vol["hostPath"]["path"] = vol["hostPath"]["path"].rsplit("/", 1)[0] + "/" + name
    host_file = vol["hostPath"]["path"]
    pod_name = pod_obj["metadata"]["name"]
    ctx.check_cancelled()
    ctx.kube.apply(objs)
    try:
        pod = ready_pod(ctx, pod_name)
        rc, out, err = ctx.kube.exec(
            pod_name,
            ["sh", "-c", 'test -f /mount1/file.txt && ls /node-v | grep -Fx "$1"', "sh", name],
            namespace=ctx.namespace,
            timeout=30,
        )
        listed = rc == 0 and out.strip() == name
        ctx.kube.exec(pod_name, ["rm", "-f", f"/node-v/{name}"], namespace=ctx.namespace)
    finally:
        ctx.kube.delete(objs, wait=False)
    node = pod["spec"].get("nodeName")
    if not listed:
        return False, (
            f"{pod_name} runs on {node} but {name} is not a file in /node-v: {short(err or out, 100)!r}"
        )
    return True, (
        f"{host_file} did not exist; with type FileOrCreate the kubelet created it on {node}: "
        f"{pod_name} is Running, /mount1/file.txt is a file and /node-v lists {name}"
    )


def _lab_pod(ctx, file: str, name: str) -> list[dict]:
    from kubetm import manifests

    return [
        o
        for o in manifests.load(ctx.lab.folder / file, registry=ctx.registry)
        if o["kind"] == "Pod" and o["metadata"]["name"] == name
    ]


def _bound_claims(ctx, names: tuple[str, ...]) -> list[dict]:
    def all_bound(items: list[dict]) -> bool:
        phases = {i["metadata"]["name"]: (i.get("status") or {}).get("phase") for i in items}
        return all(phases.get(n) == "Bound" for n in names)

    items = ctx.kube.watch_until(
        "PersistentVolumeClaim",
        None,
        all_bound,
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"{', '.join(names)} Bound",
    )
    by_name = {i["metadata"]["name"]: i for i in items}
    return [by_name[n] for n in names]


def _lab_pvs(ctx) -> dict[str, dict]:
    return {
        pv["metadata"]["name"]: pv
        for pv in ctx.kube.list("PersistentVolume", selector={LAB_KEY: ctx.lab.name})
    }


def _modes(modes) -> set[str]:
    return set(modes or [])


def _fmt_modes(modes) -> str:
    return ",".join(MODES.get(m, m) for m in sorted(modes or []))


def _fits(pv: dict, pvc: dict) -> bool:
    """Size, access modes and class only (label selectors are left to the other check)."""
    want = quantity_bytes(pvc["spec"]["resources"]["requests"]["storage"])
    return (
        quantity_bytes(pv["spec"]["capacity"]["storage"]) >= want
        and _modes(pvc["spec"].get("accessModes")) <= _modes(pv["spec"].get("accessModes"))
        and (pv["spec"].get("storageClassName") or "")
        == (pvc["spec"].get("storageClassName") or "")
    )


def _claim_line(pvc: dict, pv: dict | None) -> str:
    s = pvc["spec"]
    cls = s.get("storageClassName")
    head = (
        f"{pvc['metadata']['name']} ({s['resources']['requests']['storage']} {_fmt_modes(s.get('accessModes'))}, "
        f"storageClassName {cls!r})"
    )
    if pv is None:
        return f"{head} -> {pvc['spec'].get('volumeName') or '?'} (not a lab PV)"
    return (
        f"{head} -> {pv['metadata']['name'].removeprefix(PV_PREFIX)} "
        f"({pv['spec']['capacity']['storage']} {_fmt_modes(pv['spec'].get('accessModes'))})"
    )


def pvc_binds_by_size_and_mode(ctx) -> tuple[bool, str]:
    """pvc-01 and pvc-02 (storageClassName "") bind the smallest lab PV whose size and modes fit."""
    claims = _bound_claims(ctx, ("pvc-01", "pvc-02"))
    pvs = _lab_pvs(ctx)
    ok, lines = True, []
    for pvc in claims:
        pv = pvs.get(pvc["spec"].get("volumeName") or "")
        lines.append(_claim_line(pvc, pv))
        if pv is None or pvc["spec"].get("storageClassName") != "" or not _fits(pv, pvc):
            ok = False
            continue
        size = quantity_bytes(pv["spec"]["capacity"]["storage"])
        smaller_free = [
            p
            for p in pvs.values()
            if p is not pv
            and (p.get("status") or {}).get("phase") == "Available"
            and _fits(p, pvc)
            and quantity_bytes(p["spec"]["capacity"]["storage"]) < size
        ]
        if smaller_free:  # a smaller fitting PV stayed free: not the binder's choice
            ok = False
            lines.append(f"smaller fitting {smaller_free[0]['metadata']['name']} stayed Available")
    left = [
        p
        for p in pvs.values()
        if (p.get("status") or {}).get("phase") == "Available" and any(_fits(p, c) for c in claims)
    ]
    for p in left:
        lines.append(
            f"{p['metadata']['name'].removeprefix(PV_PREFIX)} ({p['spec']['capacity']['storage']} "
            f"{_fmt_modes(p['spec'].get('accessModes'))}) also fits but stays Available"
        )
    return ok, "; ".join(lines)


def pvc_binds_by_label(ctx) -> tuple[bool, str]:
    """pvc-03 binds the PV carrying the labels of its selector."""
    (pvc,) = _bound_claims(ctx, ("pvc-03",))
    pvs = _lab_pvs(ctx)
    pv = pvs.get(pvc["spec"].get("volumeName") or "")
    wanted = (pvc["spec"].get("selector") or {}).get("matchLabels") or {}
    labels = (pv or {}).get("metadata", {}).get("labels") or {}
    ok = pv is not None and bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())
    sel = ",".join(f"{k}={v}" for k, v in wanted.items())
    others = [
        n.removeprefix(PV_PREFIX)
        for n, p in pvs.items()
        if p is not pv
        and _fits(p, pvc)
        and not all((p["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
    ]
    tail = f"; {', '.join(others)} fit(s) by size/mode but lack the label" if others else ""
    return ok, f"{_claim_line(pvc, pv)}, selector {sel}, PV labels match: {ok}{tail}"


def pod_writes_through_pvc(ctx) -> tuple[bool, str]:
    """pod-volume-pvc runs where its PV lives; a file written through pvc-01 survives pod recreation."""
    pod = ready_pod(ctx, "pod-volume-pvc")
    claim = next(
        (
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["spec"].get("volumes") or []
            if v.get("persistentVolumeClaim")
        ),
        None,
    )
    pvc = ctx.kube.get("PersistentVolumeClaim", claim, namespace=ctx.namespace) if claim else None
    pv = (
        ctx.kube.get("PersistentVolume", pvc["spec"]["volumeName"])
        if pvc and pvc["spec"].get("volumeName")
        else None
    )
    if pv is None:
        return False, f"pod-volume-pvc's claim {claim} is not bound to a PV"
    terms = ((pv["spec"].get("nodeAffinity") or {}).get("required") or {}).get(
        "nodeSelectorTerms"
    ) or []
    wanted = [
        v
        for t in terms
        for e in t.get("matchExpressions") or []
        if e.get("key") == COURSE_NODE
        for v in e.get("values") or []
    ]
    node = pod["spec"].get("nodeName")
    node_obj = ctx.kube.get("Node", node) or {}
    label = (node_obj.get("metadata", {}).get("labels") or {}).get(COURSE_NODE)
    placed = not wanted or label in wanted
    own = exec_ok(ctx, "pod-volume-pvc", ["ls", "/mount3"]).split()
    value = token("pvc")
    _write(ctx, "pod-volume-pvc", f"/mount3/{TOKEN_FILE}", value)
    pod = recreate_pod(ctx, "50-pod-pvc.yaml", "pod-volume-pvc")
    rc, seen = _read(ctx, "pod-volume-pvc", f"/mount3/{TOKEN_FILE}")
    ctx.kube.exec(
        "pod-volume-pvc", ["rm", "-f", f"/mount3/{TOKEN_FILE}"], namespace=ctx.namespace, timeout=30
    )
    kept = rc == 0 and seen == value
    short_pv = pv["metadata"]["name"].removeprefix(PV_PREFIX)
    detail = (
        f"pod-volume-pvc runs on {node} ({COURSE_NODE}={label}; {short_pv}'s nodeAffinity: {','.join(wanted) or '-'}); "
        f"/mount3 holds {', '.join(own) or 'nothing'}; "
    )
    detail += (
        "a token written through "
        + str(claim)
        + " was read back after the pod was deleted and created again"
        if kept
        else f"after recreation the token was not found: {seen[:60]!r}"
    )
    return placed and kept, detail


LAB = Lab(
    name="volume",
    part="초급",
    page="k8s/03-beginner-basic-resource/volume",
    title="볼륨 — Volume",
    lesson="emptyDir, hostPath, PV/PVC: storage shared inside a pod, kept on a node, or claimed from an admin's volumes",
    shares=(PV_BINDING,),
    shares_reason=(
        'its claims (storageClassName "") must bind pv-01/pv-02/pv-04 by size, mode and label; '
        "another lab's Available PV of that class (helm-templates' 1Gi ReadWriteOnce) could be "
        "bound instead"
    ),
    checks=(
        Check(
            "emptydir-shared",
            emptydir_shared,
            "a file written in container1:/mount1 of pod-volume-1 is read in container2:/mount2; "
            "a recreated pod-volume-1 starts empty",
            timeout=120,
        ),
        Check(
            "hostpath-outlives-pod",
            hostpath_outlives_pod,
            "a file written through pod-volume-3 is read by steps/hostpath-recreate's pod-volume-4 on k8s-node1",
            timeout=120,
        ),
        Check(
            "hostpath-type-missing",
            hostpath_type_missing,
            "steps/hostpath-type-missing: hostPath type Directory and File on paths missing on the "
            "node leave the pods in ContainerCreating with a FailedMount event",
            timeout=60,
        ),
        Check(
            "hostpath-fileorcreate",
            hostpath_fileorcreate,
            "steps/hostpath-fileorcreate: type FileOrCreate on a missing path creates the file on the "
            "node and the pod runs",
            timeout=60,
        ),
        Check(
            "pvc-binds-by-size-and-mode",
            pvc_binds_by_size_and_mode,
            "pvc-01 binds pv-01 (smallest fitting RWO), pvc-02 binds pv-02 (ROX); pv-03 stays Available",
            timeout=60,
        ),
        Check(
            "pvc-binds-by-label",
            pvc_binds_by_label,
            "pvc-03 binds pv-04 through its label selector pv=selected",
            timeout=60,
        ),
        Check(
            "pod-writes-through-pvc",
            pod_writes_through_pvc,
            "pod-volume-pvc runs on k8s-node1 (the PV's nodeAffinity); a file written through pvc-01 survives "
            "the pod's recreation",
            timeout=120,
        ),
    ),
)

__all__ = ["LAB"]
