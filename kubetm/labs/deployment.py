"""Lab `deployment` — Controller: Deployment (초급편): Recreate, RollingUpdate, revisions, rollback.

manifests/deployment/: deployment-1 (Recreate, revisionHistoryLimit 1) + svc-1, deployment-2
(RollingUpdate, minReadySeconds 10) + svc-2, the course's YAML (k8s/04-beginner-controller/deployment).

The student's edit of the template (image app:v1 -> v2 -> v3) is the lab's own YAML applied again with
the new image (server-side apply, as `kubectl apply` after editing the file); `kubectl rollout undo
--to-revision=2` is kubetm's own (kubetm/demos/rollout.py, as `kubetm rollout undo`). The checks
watch pods and ReplicaSets while it happens.
"""

from __future__ import annotations

import time

from kubetm.errors import KubetmError
from kubetm.k8s.conditions import is_ready
from kubetm.labs.base import Check, Lab, LabContext
from kubetm.labs.observe import (
    fetch_in_pod,
    live,
    name_of,
    observe_until,
    short,
    wait_endpoints,
)

DEP1, DEP2 = "deployment-1", "deployment-2"
FILES = {DEP1: "10-recreate.yaml", DEP2: "20-rolling-update.yaml"}
SELECTORS = {DEP1: {"type": "app"}, DEP2: {"type": "app2"}}
HASH = "pod-template-hash"


# ------------------------------------------------------------------------------ pure logic


def version_of(pod: dict) -> str:
    """The app's tag from the pod's image (``localhost:5001/kubetm/app:v2`` -> ``v2``)."""
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("image", "")).rsplit(":", 1)[-1]


def ready_by_version(pods: list[dict]) -> dict[str, int]:
    """{version: Ready pods not being deleted}."""
    out: dict[str, int] = {}
    for p in live(pods):
        if is_ready(p):
            out[version_of(p)] = out.get(version_of(p), 0) + 1
    return out


def _rollout_done(dep: dict | None, replicas: int | None = None) -> bool:
    from kubetm.demos.rollout import rollout_state

    if dep is None:
        return False
    want = replicas if replicas is not None else (dep.get("spec") or {}).get("replicas", 1)
    status = dep.get("status") or {}
    return rollout_state(dep)[1] and status.get("availableReplicas", 0) == want


# ----------------------------------------------------------------------------- cluster steps


def _apply_image(ctx: LabContext, name: str, tag: str) -> None:
    """The student's edit: the lab's Deployment with image ``app:<tag>``, applied again."""
    from kubetm import manifests

    objs = manifests.load(ctx.lab.folder / FILES[name], registry=ctx.registry)
    dep = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == name)
    for c in dep["spec"]["template"]["spec"]["containers"]:
        c["image"] = c["image"].rsplit(":", 1)[0] + f":{tag}"
    ctx.check_cancelled()
    ctx.kube.apply([dep])


def _wait_rollout(ctx: LabContext, name: str, timeout: float, replicas: int | None = None) -> dict:
    return ctx.kube.watch_until(
        "Deployment",
        name,
        lambda d: _rollout_done(d, replicas),
        namespace=ctx.namespace,
        timeout=timeout,
        what=f"deployment {name} rolled out",
    )


def _replicasets(ctx: LabContext, name: str) -> list[dict]:
    from kubetm.demos.rollout import owned_replicasets

    dep = ctx.kube.get("Deployment", name, namespace=ctx.namespace)
    if dep is None:
        raise KubetmError(f"deployment {name} not found in {ctx.namespace}")
    return owned_replicasets(dep, ctx.kube.list("ReplicaSet", namespace=ctx.namespace))


def _rs_line(rs_list: list[dict]) -> str:
    from kubetm.demos.rollout import revision_of

    rows = sorted(rs_list, key=lambda r: revision_of(r) or 0)
    return ", ".join(
        f"rev {revision_of(r)} {name_of(r)} ({(r.get('spec') or {}).get('replicas', 0)} pods)"
        for r in rows
    )


def _watch_pods(ctx: LabContext, name: str, pred, what: str, timeout: float) -> list[dict]:
    return ctx.kube.watch_until(
        "Pod",
        None,
        pred,
        selector=SELECTORS[name],
        namespace=ctx.namespace,
        timeout=timeout,
        what=what,
    )


# ------------------------------------------------------------------------------------ checks


def recreate_stops_old_first(ctx: LabContext) -> tuple[bool, str]:
    from kubetm.demos.rollout import revision_of

    dep = _wait_rollout(ctx, DEP1, ctx.timeout / 3)
    if revision_of(dep) != 1 or any(version_of(p) != "v1" for p in _pods(ctx, DEP1)):
        return False, f"{DEP1} is at revision {revision_of(dep)}, expected a fresh v1 (revision 1)"
    old_rs = _replicasets(ctx, DEP1)
    ctx.state["deployment.rev1"] = [name_of(r) for r in old_rs]
    marks: dict[str, float] = {}
    v1_at_first_v2: list[str] = []
    t0 = time.monotonic()

    def pred(pods: list[dict]) -> bool:
        now = time.monotonic() - t0
        v1 = [name_of(p) for p in pods if version_of(p) == "v1"]  # terminating ones too
        v2 = [p for p in pods if version_of(p) == "v2"]
        if not v1 and "v1-gone" not in marks:
            marks["v1-gone"] = now
        if v2 and "v2-first" not in marks:
            marks["v2-first"] = now
            v1_at_first_v2.extend(v1)
        return not v1 and len(live(v2)) == 2 and all(is_ready(p) for p in live(v2))

    _apply_image(ctx, DEP1, "v2")
    _watch_pods(ctx, DEP1, pred, f"{DEP1}: 2 Ready v2 pods, no v1 pod", ctx.timeout * 2 / 3)
    dep = _wait_rollout(ctx, DEP1, ctx.timeout / 6)
    new_rs = [r for r in _replicasets(ctx, DEP1) if name_of(r) not in ctx.state["deployment.rev1"]]
    ok = not v1_at_first_v2 and revision_of(dep) == 2 and len(new_rs) == 1
    overlap = f", but {', '.join(v1_at_first_v2)} still existed" if v1_at_first_v2 else ""
    return ok, (
        f"image v1 -> v2 (Recreate): every v1 pod gone at +{marks.get('v1-gone', 0):.1f}s, first v2 "
        f"pod created at +{marks.get('v2-first', 0):.1f}s{overlap}; new ReplicaSet "
        f"{', '.join(name_of(r) for r in new_rs) or 'none'} (revision {revision_of(dep)}) beside "
        f"{', '.join(ctx.state['deployment.rev1'])}"
    )


def _pods(ctx: LabContext, name: str) -> list[dict]:
    return live(ctx.kube.list("Pod", namespace=ctx.namespace, selector=SELECTORS[name]))


def revision_history_limit(ctx: LabContext) -> tuple[bool, str]:
    from kubetm.demos.rollout import revision_of

    dep = ctx.kube.get("Deployment", DEP1, namespace=ctx.namespace) or {}
    limit = (dep.get("spec") or {}).get("revisionHistoryLimit")
    if revision_of(dep) != 2:
        return False, f"{DEP1} is at revision {revision_of(dep)}, expected 2 (v2) before v3"
    _apply_image(ctx, DEP1, "v3")
    dep = _wait_rollout(ctx, DEP1, ctx.timeout / 2)
    keep = 1 + (limit if isinstance(limit, int) else 10)

    def settled(rs_list: list[dict]) -> bool:
        from kubetm.demos.rollout import owned_replicasets

        return len(owned_replicasets(dep, rs_list)) <= keep

    try:
        ctx.kube.watch_until(
            "ReplicaSet",
            None,
            settled,
            namespace=ctx.namespace,
            timeout=ctx.timeout / 4,
            what=f"{DEP1}'s old ReplicaSets cut to revisionHistoryLimit {limit}",
        )
    except KubetmError:
        pass  # judged below, naming what is left
    rs_list = _replicasets(ctx, DEP1)
    old = [r for r in rs_list if revision_of(r) != revision_of(dep)]
    gone = [
        n for n in ctx.state.get("deployment.rev1", []) if n not in {name_of(r) for r in rs_list}
    ]
    ok = revision_of(dep) == 3 and len(old) == 1 and revision_of(old[0]) == 2 and bool(gone)
    verdict = (
        f"revision 1 ({', '.join(gone)}) deleted"
        if gone
        else f"revision 1 still kept ({len(old)} old ReplicaSets; the lesson keeps 1)"
    )
    return ok, (
        f"image v2 -> v3: revision {revision_of(dep)}; revisionHistoryLimit {limit} keeps "
        f"{len(old)} old ReplicaSet: {_rs_line(rs_list)}; {verdict}"
    )


def rollout_undo_to_revision(ctx: LabContext) -> tuple[bool, str]:
    from kubetm.demos import rollout

    before = {rollout.revision_of(r): name_of(r) for r in _replicasets(ctx, DEP1)}
    result = rollout.undo(ctx.kube, DEP1, to_revision=2, namespace=ctx.namespace)
    ctx.check_cancelled()

    def back_on_v2(pods: list[dict]) -> bool:
        ps = live(pods)
        return len(ps) == 2 and all(version_of(p) == "v2" and is_ready(p) for p in ps)

    pods = _watch_pods(ctx, DEP1, back_on_v2, f"{DEP1} back on v2", ctx.timeout * 2 / 3)
    dep = _wait_rollout(ctx, DEP1, ctx.timeout / 6)
    rs_list = _replicasets(ctx, DEP1)
    current = [r for r in rs_list if rollout.revision_of(r) == rollout.revision_of(dep)]
    reused = bool(current) and name_of(current[0]) == before.get(2)
    # Recreate: for a moment svc-1 has no endpoint at all. Its EndpointSlice must list the v2 pods,
    # then kube-proxy programs the asking pod's node a moment later (bounded, like the service lab).
    names = {name_of(p) for p in live(pods)}
    wait_endpoints(ctx, "svc-1", lambda found: names <= set(found), timeout=ctx.timeout / 6)
    status, body = observe_until(
        lambda: fetch_in_pod(ctx, name_of(live(pods)[0]), "http://svc-1:8080/version"),
        lambda answer: answer[0] == 200,
        seconds=30,
        pause=0.5,
    )
    ok = rollout.revision_of(dep) == 4 and reused and status == 200 and body.strip() == "v2"
    return ok, (
        f"kubetm rollout undo {DEP1} --to-revision=2: {result['result']}; revision "
        f"{rollout.revision_of(dep)} runs ReplicaSet {name_of(current[0]) if current else '?'} "
        f"({'the one of revision 2, reused' if reused else 'not the one of revision 2: ' + str(before.get(2))}); "
        f"svc-1/version answers {status} {short(body, 20)!r}; kept: {_rs_line(rs_list)}"
    )


def rolling_update_overlap(ctx: LabContext) -> tuple[bool, str]:
    _wait_rollout(ctx, DEP2, ctx.timeout / 4)
    seen = {"min_ready": 99, "both": 0.0}
    first_both: list[float] = []
    t0 = time.monotonic()

    def pred(pods: list[dict]) -> bool:
        now = time.monotonic() - t0
        ready = ready_by_version(pods)
        seen["min_ready"] = min(seen["min_ready"], sum(ready.values()))
        if ready.get("v1") and ready.get("v2"):
            if not first_both:
                first_both.append(now)
            seen["both"] = now
        ps = live(pods)
        return (
            len(ps) == 2
            and all(version_of(p) == "v2" and is_ready(p) for p in ps)
            and not [p for p in pods if version_of(p) == "v1"]
        )

    _apply_image(ctx, DEP2, "v2")
    _watch_pods(ctx, DEP2, pred, f"{DEP2}: 2 Ready v2 pods, no v1 pod", ctx.timeout * 2 / 3)
    took = time.monotonic() - t0
    ok = bool(first_both) and seen["min_ready"] >= 2
    both = (
        f"v1 and v2 Ready side by side from +{first_both[0]:.0f}s to +{seen['both']:.0f}s"
        if first_both
        else "v1 and v2 never Ready at the same time"
    )
    return ok, (
        f"image v1 -> v2 (RollingUpdate, minReadySeconds 10): {both}; never fewer than "
        f"{seen['min_ready']} Ready pods; done after {took:.0f}s"
    )


def _scale(ctx: LabContext, name: str, replicas: int) -> None:
    kube = ctx.kube
    kube.call(
        kube.apps.patch_namespaced_deployment_scale,
        name,
        ctx.namespace,
        {"spec": {"replicas": replicas}},
        what=f"scale deployment {name} to {replicas}",
    )


def scale_keeps_replicaset(ctx: LabContext) -> tuple[bool, str]:
    from kubetm.demos.rollout import revision_of

    dep = _wait_rollout(ctx, DEP2, ctx.timeout / 4)
    before = sorted(name_of(r) for r in _replicasets(ctx, DEP2))
    rev = revision_of(dep)
    try:
        _scale(ctx, DEP2, 3)
        dep = _wait_rollout(ctx, DEP2, ctx.timeout / 2, replicas=3)
        rs_list = _replicasets(ctx, DEP2)
        after = sorted(name_of(r) for r in rs_list)
        pods = _pods(ctx, DEP2)
        hashes = sorted({(p["metadata"].get("labels") or {}).get(HASH, "?") for p in pods})
    finally:
        _scale(ctx, DEP2, 2)
    ok = after == before and revision_of(dep) == rev and len(pods) == 3 and len(hashes) == 1
    return ok, (
        f"scale {DEP2} 2 -> 3: {len(pods)} pods, all {HASH}={', '.join(hashes)}; ReplicaSets "
        f"{'unchanged' if after == before else 'changed'} ({_rs_line(rs_list)}), revision "
        f"{rev} -> {revision_of(dep)} (only a template change makes a new ReplicaSet)"
    )


LAB = Lab(
    name="deployment",
    title="디플로이먼트 — Deployment",
    lesson="a Deployment updates its pods through ReplicaSets: Recreate stops the old first, RollingUpdate overlaps them; old ReplicaSets are revisions to roll back to",
    part="초급",
    page="k8s/04-beginner-controller/deployment",
    checks=(
        Check(
            "recreate-stops-old-first",
            recreate_stops_old_first,
            "deployment-1 (Recreate) v1 -> v2: a new ReplicaSet (revision 2); no v2 pod exists before every v1 pod is gone",
            timeout=90,
        ),
        Check(
            "revision-history-limit",
            revision_history_limit,
            "v2 -> v3 with revisionHistoryLimit 1: exactly one old ReplicaSet kept (revision 2); revision 1's is deleted",
            timeout=90,
        ),
        Check(
            "rollout-undo-to-revision",
            rollout_undo_to_revision,
            "kubetm rollout undo deployment-1 --to-revision=2: revision 4 reuses revision 2's ReplicaSet; svc-1 answers v2",
            timeout=90,
        ),
        Check(
            "rolling-update-overlap",
            rolling_update_overlap,
            "deployment-2 (RollingUpdate, minReadySeconds 10) v1 -> v2: v1 and v2 pods Ready side by side, never fewer than 2 Ready",
            timeout=90,
        ),
        Check(
            "scale-keeps-replicaset",
            scale_keeps_replicaset,
            "scaling deployment-2 to 3 adds a pod to the same ReplicaSet (same pod-template-hash, same revision)",
            timeout=60,
        ),
    ),
)

__all__ = ["LAB", "ready_by_version", "version_of"]
