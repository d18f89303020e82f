"""Lab `node-scheduling` — Pod Node Scheduling (중급편): nodeName, nodeSelector, node affinity,
pod affinity / anti-affinity, taints and tolerations.

manifests/node-scheduling/: only the namespace; every pod is a step (steps/*.yaml, the course's YAML
of k8s/06-intermediate-pod/nodescheduling) applied by the checks after they label or taint the nodes
the way the course does with `kubectl label` / `kubetm taint` (k8s-node1, k8s-node2 = the workers
labelled kubetm.io/course-node).

Node changes are recorded before they are made: one patch sets the label or taint AND the node
annotation ``kubetm.io/lab-node-changes`` (what was added, and the label's previous value), guarded by
the node's resourceVersion. Each check undoes its own changes in ``finally``; ``lab delete`` (the
lab's ``cleanup``) undoes whatever an interrupted or crashed run left, found by that annotation.

The NoExecute taint evicts every pod without a matching toleration from its worker: the check picks
a worker where nothing outside this lab would be evicted (the course's k8s-node2 when it can; system
pods such as metrics-server stay untouched) and refuses, naming the pods, when there is none. The lab
runs alone (``shares=("cluster",)``): another lab's pods on that worker would be evicted too.
"""

from __future__ import annotations

import json
import time

from kubetm.errors import Conflict, KubetmError
from kubetm.labels import NODE_CHANGES
from kubetm.labs.base import CLUSTER, NODES, Check, Lab, LabContext
from kubetm.labs.observe import live, name_of, short, wait_pod

LAB_NAME = "node-scheduling"
NOSCHEDULE = {"key": "hw", "value": "gpu", "effect": "NoSchedule"}
NOEXECUTE = {"key": "out-of-disk", "value": "True", "effect": "NoExecute"}


# ------------------------------------------------------------------------------ pure logic


def _record(node: dict) -> dict:
    ann = (node.get("metadata") or {}).get("annotations") or {}
    try:
        rec = json.loads(ann.get(NODE_CHANGES) or "{}")
    except ValueError:
        rec = {}
    return {
        "lab": LAB_NAME,
        "labels": dict(rec.get("labels") or {}),
        "taints": list(rec.get("taints") or []),
    }


def _same_taint(a: dict, b: dict) -> bool:
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")


def node_patch(
    node: dict,
    set_labels: dict[str, str] | None = None,
    restore_labels: tuple[str, ...] = (),
    add_taints: tuple[dict, ...] = (),
    remove_taints: tuple[dict, ...] = (),
) -> dict:
    """The one patch that changes a node's labels/taints and records it in the annotation.

    ``restore_labels`` puts back the value a label had before kubetm set it (or removes it);
    ``remove_taints`` removes taints kubetm added. The patch carries the node's resourceVersion, so
    a concurrent change makes it fail (409) instead of being overwritten.
    """
    meta = node.get("metadata") or {}
    current = dict(meta.get("labels") or {})
    rec = _record(node)
    labels: dict[str, str | None] = {}
    for key, value in (set_labels or {}).items():
        if key not in rec["labels"]:
            rec["labels"][key] = current.get(key)
        labels[key] = value
    for key in restore_labels:
        if key in rec["labels"]:
            labels[key] = rec["labels"].pop(key)
    taints = list((node.get("spec") or {}).get("taints") or [])
    for t in add_taints:
        if not any(_same_taint(t, x) for x in taints):
            taints.append(dict(t))
            rec["taints"].append(dict(t))
    for t in remove_taints:
        if any(_same_taint(t, x) for x in rec["taints"]):
            taints = [x for x in taints if not _same_taint(t, x)]
            rec["taints"] = [x for x in rec["taints"] if not _same_taint(t, x)]
    empty = not rec["labels"] and not rec["taints"]
    return {
        "metadata": {
            "resourceVersion": meta.get("resourceVersion"),
            "labels": labels,
            "annotations": {NODE_CHANGES: None if empty else json.dumps(rec, sort_keys=True)},
        },
        "spec": {"taints": taints or None},
    }


def evicted_by(taint: dict, pods: list[dict], own_namespace: str) -> list[str]:
    """``namespace/name`` of the running pods a NoExecute ``taint`` would evict (not the lab's own).

    A toleration with tolerationSeconds only delays the eviction, so it does not protect.
    """
    from kubetm.labs.daemonset_job_cronjob import tolerates

    out = []
    for p in live(pods):
        meta = p.get("metadata") or {}
        if meta.get("namespace") == own_namespace:
            continue
        if ((p.get("status") or {}).get("phase")) in ("Succeeded", "Failed"):
            continue
        tolerations = [
            t
            for t in (p.get("spec") or {}).get("tolerations") or []
            if t.get("tolerationSeconds") is None
        ]
        if not tolerates(taint, tolerations):
            out.append(f"{meta.get('namespace')}/{meta.get('name')}")
    return sorted(out)


# ----------------------------------------------------------------------------- node changes


def change_node(ctx: LabContext, name: str, **changes) -> None:
    """Apply ``node_patch`` to node ``name``; re-read and retry when the node changed meanwhile."""
    kube = ctx.kube
    for attempt in range(5):
        node = kube.get("Node", name)
        if node is None:
            raise KubetmError(f"node {name} not found")
        try:
            kube.call(
                kube.core.patch_node, name, node_patch(node, **changes), what=f"patch node {name}"
            )
            return
        except Conflict:
            if attempt == 4:
                raise


def restore_nodes(ctx: LabContext) -> None:
    """Cleanup: undo every label and taint this lab recorded on any node (``lab delete``)."""
    for node in ctx.kube.list("Node"):
        ann = (node.get("metadata") or {}).get("annotations") or {}
        if NODE_CHANGES not in ann:
            continue
        rec = _record(node)
        change_node(
            ctx,
            name_of(node),
            restore_labels=tuple(rec["labels"]),
            remove_taints=tuple(rec["taints"]),
        )


def _course(ctx: LabContext) -> tuple[str, str]:
    from kubetm import nodes

    mapping = nodes.course_nodes(ctx.kube)
    if mapping["k8s-node1"] == mapping["k8s-node2"]:
        raise KubetmError("node-scheduling needs two worker nodes (k8s-node1, k8s-node2)")
    return mapping["k8s-node1"], mapping["k8s-node2"]


def _delete_pods(ctx: LabContext, *names: str) -> None:
    ctx.kube.delete(
        [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "namespace": ctx.namespace}}
            for n in names
        ],
        wait=False,
    )


def _node_of(pod: dict | None) -> str:
    return str(((pod or {}).get("spec") or {}).get("nodeName") or "")


def _running(pod: dict | None) -> bool:
    return ((pod or {}).get("status") or {}).get("phase") == "Running"


def _rejected_by_a_stale_kubelet(pod: dict | None) -> bool:
    """The kubelet refused the pod because its copy of the Node lacked a label the scheduler had
    already seen (the lab labels a node, then at once creates a pod that selects it): phase
    Failed, reason NodeAffinity. Kubernetes' own race, not the lesson."""
    status = (pod or {}).get("status") or {}
    return status.get("phase") == "Failed" and status.get("reason") in (
        "NodeAffinity",
        "MatchNodeSelector",  # the same refusal's older name
    )


def _run(ctx: LabContext, name: str, timeout: float | None = None) -> dict:
    """Wait for pod ``name`` (a step of the lab) to be Running. A pod the kubelet rejected because
    it had not yet seen the node's new label is created once more (what its controller would do
    for a Deployment's pod), and the log says so."""

    def running_or_rejected(p: dict | None) -> bool:
        return _running(p) or _rejected_by_a_stale_kubelet(p)

    for attempt in (1, 2):
        pod = wait_pod(
            ctx,
            name,
            running_or_rejected if attempt == 1 else _running,
            f"pod {name} Running",
            timeout=timeout,
        )
        assert pod is not None  # the predicate of None is False
        if _running(pod):
            return pod
        ctx.log(
            f"pod {name} was rejected by the kubelet on {_node_of(pod)} (NodeAffinity: its copy of "
            "the node lacked the new label): creating it again"
        )
        ctx.kube.delete(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": ctx.namespace},
            },
            wait=True,
        )
        ctx.apply_step(name)
    raise AssertionError("unreachable")  # pragma: no cover


def _failed_scheduling(ctx: LabContext, name: str, timeout: float) -> str:
    """Wait for the scheduler's FailedScheduling event on pod ``name``; its message, shortened."""

    def mine(events):
        return [
            e
            for e in events or []
            if e.get("reason") == "FailedScheduling"
            and (e.get("involvedObject") or {}).get("name") == name
        ]

    events = ctx.kube.watch_until(
        "Event",
        None,
        lambda evs: bool(mine(evs)),
        namespace=ctx.namespace,
        timeout=timeout,
        what=f"a FailedScheduling event for {name}",
    )
    pod = ctx.kube.get("Pod", name, namespace=ctx.namespace)
    if _node_of(pod):
        raise KubetmError(f"{name} was scheduled to {_node_of(pod)}, expected it to stay Pending")
    return short(str(mine(events)[-1].get("message") or ""), 110)


def _scheduled(pod: dict | None) -> bool:
    return bool(_node_of(pod))


# ------------------------------------------------------------------------------------ checks


def node_name_binds(ctx: LabContext) -> tuple[bool, str]:
    node1, _ = _course(ctx)
    objs = ctx.load_step("node-name")
    for o in objs:
        o["spec"]["nodeName"] = node1  # the course writes the node's name: k8s-node1
    try:
        ctx.check_cancelled()
        ctx.kube.apply(objs)
        pod = _run(ctx, "node-name")
        scheduled = [
            e
            for e in ctx.kube.events(namespace=ctx.namespace, involved_name="node-name")
            if e.get("reason") == "Scheduled"
        ]
    finally:
        _delete_pods(ctx, "node-name")
    ok = _node_of(pod) == node1 and not scheduled
    return ok, (
        f"node-name (nodeName {node1} = k8s-node1) runs on {_node_of(pod)}; "
        + (
            "no Scheduled event: the scheduler was not asked"
            if not scheduled
            else "yet the scheduler placed it"
        )
    )


def node_selector(ctx: LabContext) -> tuple[bool, str]:
    node1, _ = _course(ctx)
    try:
        change_node(ctx, node1, set_labels={"key1": "value1"})
        ctx.apply_step("node-selector")
        pod = _run(ctx, "node-selector")
    finally:
        _delete_pods(ctx, "node-selector")
        change_node(ctx, node1, restore_labels=("key1",))
    return _node_of(pod) == node1, (
        f"k8s-node1 ({node1}) labelled key1=value1: node-selector runs on {_node_of(pod)}"
    )


def match_expressions(ctx: LabContext) -> tuple[bool, str]:
    node1, node2 = _course(ctx)
    try:
        change_node(ctx, node1, set_labels={"kr": "az-1"})
        change_node(ctx, node2, set_labels={"us": "az-1"})
        ctx.apply_step("pod-match-expressions1")
        pod = _run(ctx, "pod-match-expressions1")
    finally:
        _delete_pods(ctx, "pod-match-expressions1")
        change_node(ctx, node1, restore_labels=("kr",))
        change_node(ctx, node2, restore_labels=("us",))
    return _node_of(pod) == node1, (
        f"kr=az-1 on k8s-node1 ({node1}), us=az-1 on k8s-node2 ({node2}): pod-match-expressions1 "
        f"(kr Exists) runs on {_node_of(pod)}"
    )


def preferred_vs_required(ctx: LabContext) -> tuple[bool, str]:
    ctx.apply_step("pod-required")
    ctx.apply_step("pod-preferred")
    preferred = _run(ctx, "pod-preferred", timeout=ctx.timeout / 2)
    message = _failed_scheduling(ctx, "pod-required", ctx.timeout / 2)
    pod = ctx.kube.get("Pod", "pod-required", namespace=ctx.namespace)
    phase = ((pod or {}).get("status") or {}).get("phase")
    ok = phase == "Pending" and _scheduled(preferred)
    return ok, (
        f"no node has the key ch: pod-preferred runs anyway (on {_node_of(preferred)}); "
        f"pod-required is {phase}, FailedScheduling: {message}"
    )


def required_after_label(ctx: LabContext) -> tuple[bool, str]:
    _, node2 = _course(ctx)
    if ctx.kube.get("Pod", "pod-required", namespace=ctx.namespace) is None:
        ctx.apply_step("pod-required")
    _failed_scheduling(
        ctx, "pod-required", ctx.timeout / 3
    )  # Pending, unscheduled, before the label
    try:
        change_node(ctx, node2, set_labels={"ch": "az-1"})
        t0 = time.monotonic()
        pod = wait_pod(ctx, "pod-required", _scheduled, "pod-required scheduled")
        took = time.monotonic() - t0
    finally:
        _delete_pods(ctx, "pod-required", "pod-preferred")
        change_node(ctx, node2, restore_labels=("ch",))
    return _node_of(pod) == node2, (
        f"ch=az-1 put on k8s-node2 ({node2}): pod-required scheduled to {_node_of(pod)} "
        f"{took:.1f}s later"
    )


def _a_team(ctx: LabContext) -> tuple[str, str]:
    node1, node2 = _course(ctx)
    change_node(ctx, node1, set_labels={"a-team": "1"})
    change_node(ctx, node2, set_labels={"a-team": "2"})
    return node1, node2


def _drop_a_team(ctx: LabContext) -> None:
    node1, node2 = _course(ctx)
    change_node(ctx, node1, restore_labels=("a-team",))
    change_node(ctx, node2, restore_labels=("a-team",))


def pod_affinity(ctx: LabContext) -> tuple[bool, str]:
    pods = ("web1", "server1", "server2", "web2")
    try:
        node1, node2 = _a_team(ctx)
        ctx.apply_step("web1")
        web1 = _run(ctx, "web1", timeout=ctx.timeout / 4)
        ctx.apply_step("server1")
        server1 = _run(ctx, "server1", timeout=ctx.timeout / 4)
        ctx.apply_step("server2")
        message = _failed_scheduling(ctx, "server2", ctx.timeout / 4)
        ctx.apply_step("web2")
        t0 = time.monotonic()
        server2 = wait_pod(ctx, "server2", _scheduled, "server2 scheduled", timeout=ctx.timeout / 4)
        took = time.monotonic() - t0
        web2 = ctx.kube.get("Pod", "web2", namespace=ctx.namespace)
    finally:
        _delete_pods(ctx, *pods)
        _drop_a_team(ctx)
    ok = (
        _node_of(web1) == _node_of(server1) == node1
        and _node_of(server2) == _node_of(web2) == node2
    )
    return ok, (
        f"a-team=1 {node1}, a-team=2 {node2}: server1 joins web1 on {_node_of(server1)}; server2 "
        f"Pending without web2 ({message}); scheduled to {_node_of(server2)} {took:.1f}s after "
        f"web2 was created (web2 on {_node_of(web2)})"
    )


def pod_anti_affinity(ctx: LabContext) -> tuple[bool, str]:
    try:
        node1, node2 = _a_team(ctx)
        ctx.apply_step("master")
        master = _run(ctx, "master", timeout=ctx.timeout / 3)
        ctx.apply_step("slave")
        slave = _run(ctx, "slave", timeout=ctx.timeout / 3)
    finally:
        _delete_pods(ctx, "master", "slave")
        _drop_a_team(ctx)
    ok = _node_of(master) == node1 and _node_of(slave) not in ("", node1)
    return ok, (
        f"master on {_node_of(master)} (a-team=1); slave (anti-affinity to type=master, topologyKey "
        f"a-team) on {_node_of(slave)}, another a-team domain"
    )


def _roles(ctx: LabContext) -> tuple[str, str]:
    """(NoSchedule node, NoExecute node): NoExecute on a worker where it evicts only this lab's pods."""
    if "ns.roles" in ctx.state:
        return ctx.state["ns.roles"]
    node1, node2 = _course(ctx)
    everyone = ctx.kube.list("Pod", all_namespaces=True)
    blocked: dict[str, list[str]] = {}
    for noexec, nosched in ((node2, node1), (node1, node2)):  # the course taints k8s-node2
        on_node = [p for p in everyone if _node_of(p) == noexec]
        victims = evicted_by(NOEXECUTE, on_node, ctx.namespace)
        if not victims:
            ctx.state["ns.roles"] = (nosched, noexec)
            return nosched, noexec
        blocked[noexec] = victims
    raise KubetmError(
        "no worker can take the NoExecute taint without evicting pods outside this lab: "
        + "; ".join(f"{n}: {', '.join(v[:4])}" for n, v in blocked.items()),
        hint="move those pods or run the lab on an idle cluster",
    )


def taint_no_schedule(ctx: LabContext) -> tuple[bool, str]:
    nosched, _ = _roles(ctx)
    try:
        change_node(ctx, nosched, set_labels={"gpu": "no1"}, add_taints=(NOSCHEDULE,))
        ctx.apply_step("pod-with-toleration")
        ctx.apply_step("pod-without-toleration")
        with_t = _run(ctx, "pod-with-toleration", timeout=ctx.timeout / 3)
        message = _failed_scheduling(ctx, "pod-without-toleration", ctx.timeout / 3)
        change_node(ctx, nosched, remove_taints=(NOSCHEDULE,))  # 3-7: kubectl taint ... NoSchedule-
        t0 = time.monotonic()
        without = wait_pod(
            ctx,
            "pod-without-toleration",
            _scheduled,
            "pod-without-toleration scheduled",
            timeout=ctx.timeout / 3,
        )
        took = time.monotonic() - t0
    finally:
        _delete_pods(ctx, "pod-with-toleration", "pod-without-toleration")
        change_node(ctx, nosched, restore_labels=("gpu",), remove_taints=(NOSCHEDULE,))
    ok = _node_of(with_t) == nosched and _node_of(without) == nosched
    return ok, (
        f"{nosched} labelled gpu=no1 and tainted hw=gpu:NoSchedule: pod-with-toleration runs there; "
        f"pod-without-toleration Pending ({message}); taint removed: scheduled to "
        f"{_node_of(without)} {took:.1f}s later"
    )


def taint_no_execute(ctx: LabContext) -> tuple[bool, str]:
    nosched, noexec = _roles(ctx)
    names = ("pod1-with-no-execute", "pod2-without-no-execute")
    gone: dict[str, float] = {}
    try:
        # As in the course: while the other worker is tainted NoSchedule, both pods land on noexec.
        change_node(ctx, nosched, add_taints=(NOSCHEDULE,))
        for n in names:
            ctx.apply_step(n)
        pods = {n: _run(ctx, n, timeout=ctx.timeout / 6) for n in names}
        change_node(ctx, nosched, remove_taints=(NOSCHEDULE,))
        elsewhere = [f"{n} on {_node_of(p)}" for n, p in pods.items() if _node_of(p) != noexec]
        if elsewhere:
            return False, f"expected both pods on {noexec}: {', '.join(elsewhere)}"
        victims = evicted_by(
            NOEXECUTE,
            [p for p in ctx.kube.list("Pod", all_namespaces=True) if _node_of(p) == noexec],
            ctx.namespace,
        )
        if victims:
            return False, f"not tainting {noexec}: it would evict {', '.join(victims[:5])}"
        change_node(ctx, noexec, add_taints=(NOEXECUTE,))
        t0 = time.monotonic()

        def evicted(ps: list[dict]) -> bool:
            alive = {name_of(p) for p in live(ps)}
            for n in names:
                if n not in alive and n not in gone:
                    gone[n] = time.monotonic() - t0
            return len(gone) == len(names)

        ctx.kube.watch_until(
            "Pod",
            None,
            evicted,
            namespace=ctx.namespace,
            timeout=ctx.timeout * 2 / 3,
            what="both pods evicted by the NoExecute taint",
        )
    finally:
        _delete_pods(ctx, *names)
        change_node(ctx, nosched, remove_taints=(NOSCHEDULE,))
        change_node(ctx, noexec, remove_taints=(NOEXECUTE,))
    t1, t2 = gone["pod1-with-no-execute"], gone["pod2-without-no-execute"]
    ok = t2 < 10 and 25 <= t1 <= 50
    return ok, (
        f"{noexec} tainted out-of-disk=True:NoExecute: pod2-without-no-execute evicted after "
        f"{t2:.1f}s, pod1-with-no-execute (tolerationSeconds 30) after {t1:.1f}s; "
        f"{nosched} kept the system pods"
    )


LAB = Lab(
    name="node-scheduling",
    title="노드 스케줄링 — Node Affinity, Pod Affinity, Taint/Toleration",
    lesson="nodeName, nodeSelector and node affinity pick nodes by name and label; pod (anti-)affinity follows other pods' domains; taints keep pods off a node unless they tolerate it",
    part="중급",
    page="k8s/06-intermediate-pod/nodescheduling",
    shares=(CLUSTER, NODES),
    shares_reason="it labels and taints the workers; its NoExecute taint evicts every pod without a toleration from one worker, another lab's pods included",
    cleanup=restore_nodes,
    checks=(
        Check(
            "node-name",
            node_name_binds,
            "node-name (nodeName = k8s-node1's name) runs there without the scheduler (no Scheduled event)",
        ),
        Check(
            "node-selector",
            node_selector,
            "after labelling k8s-node1 key1=value1, node-selector runs on it",
        ),
        Check(
            "node-affinity-match-expressions",
            match_expressions,
            "kr=az-1 on k8s-node1, us=az-1 on k8s-node2: pod-match-expressions1 (kr Exists) runs on k8s-node1",
        ),
        Check(
            "node-affinity-preferred-vs-required",
            preferred_vs_required,
            "no node has ch: pod-preferred runs anyway, pod-required stays Pending (FailedScheduling)",
        ),
        Check(
            "node-affinity-required-after-label",
            required_after_label,
            "once k8s-node2 gets ch=az-1, pod-required is scheduled there",
        ),
        Check(
            "pod-affinity",
            pod_affinity,
            "server1 joins web1's a-team domain; server2 is Pending until web2 exists, then follows it",
            timeout=90,
        ),
        Check(
            "pod-anti-affinity",
            pod_anti_affinity,
            "slave never lands in master's a-team domain",
        ),
        Check(
            "taint-no-schedule",
            taint_no_schedule,
            "hw=gpu:NoSchedule on the gpu=no1 node: pod-with-toleration runs there, pod-without-toleration "
            "is Pending until the taint is removed",
            timeout=90,
        ),
        Check(
            "taint-no-execute",
            taint_no_execute,
            "out-of-disk=True:NoExecute (on a worker where only this lab's pods run): pod2-without-no-execute "
            "is evicted at once, pod1-with-no-execute (tolerationSeconds 30) about 30 s later",
            timeout=90,
        ),
    ),
)

__all__ = ["LAB", "evicted_by", "node_patch", "restore_nodes"]
