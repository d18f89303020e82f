"""Lab `replicaset` — Replication Controller, ReplicaSet: template, replicas, selector, auto healing.

manifests/replicaset/: replication-1 (RC), pods for selector practice, replica-exp (matchExpressions),
replica-heal (tolerationSeconds 10); steps/replicaset-adopt.yaml (replica-1, same selector as the RC);
in kubetm-lab-replicaset-2 the course's pod1 and replica1 (steps/template-pod.yaml,
steps/template-replicaset.yaml) and steps/selector-mismatch.yaml (refused).
Exclusive: the auto-healing check stops a worker node.

The auto-healing check is the ONE place a lab touches Docker: on a kind cluster (node providerID
``kind://docker/<cluster>/<node>``) it stops the node's container with ``docker stop`` and always
starts it again (``docker start``) and waits until the Node is Ready before it returns. On any other
cluster it refuses with a clear message instead of touching anything.

Example:
    result = labs.run(Kube(context="kind-kubetm"), "replicaset")
"""

from __future__ import annotations

import time

from kubetm.errors import KubetmError
from kubetm.labs.base import CLUSTER, Check, Lab, LabContext

RC = "replication-1"
RS_ADOPT = "replica-1"
RS_EXP = "replica-exp"
RS_HEAL = "replica-heal"
CASCADE = {"cascade": "false"}
HEAL = {"app": "heal"}
SELECTOR_PODS = ("pod-web-v1", "pod-web-v2", "pod-db-v3", "pod-db")
NS2 = "kubetm-lab-replicaset-2"
RS_TMPL = "replica1"
POD_TMPL = "pod1"
WEB = {"type": "web"}
NODE_READY_TIMEOUT = 180.0


# ---------------------------------------------------------------------------------- helpers

from kubetm.k8s.conditions import is_ready as _ready  # noqa: E402
from kubetm.labs.observe import live as _live  # noqa: E402
from kubetm.labs.observe import name_of as _name  # noqa: E402


def _owner(pod: dict) -> str | None:
    """``Kind/name`` of the pod's controller, or None when nobody owns it."""
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def _names(pods: list[dict]) -> list[str]:
    return sorted(_name(p) for p in pods)


def _ready_count(n: int):
    """Predicate over a pod list: exactly ``n`` live pods, all Ready."""

    def pred(pods: list[dict]) -> bool:
        live = _live(pods)
        return len(live) == n and all(_ready(p) for p in live)

    return pred


def _scale(kube, kind: str, name: str, namespace: str, replicas: int) -> None:
    """Patch spec.replicas (like `kubectl scale`)."""
    body = {"spec": {"replicas": replicas}}
    if kind == "ReplicationController":
        kube.call(
            kube.core.patch_namespaced_replication_controller,
            name,
            namespace,
            body,
            what=f"scale replicationcontroller {name}",
        )
    else:
        kube.call(
            kube.apps.patch_namespaced_replica_set,
            name,
            namespace,
            body,
            what=f"scale replicaset {name}",
        )


# ------------------------------------------------------------------------------------ checks


def rc_keeps_replicas(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    pods = kube.watch_until(
        "Pod",
        None,
        _ready_count(2),
        selector=CASCADE,
        namespace=ns,
        timeout=ctx.timeout / 2,
        what=f"2 Ready pods of {RC}",
    )
    victim = _live(pods)[0]
    kube.delete(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": _name(victim), "namespace": ns}},
        wait=False,
    )
    gone_uid = victim["metadata"]["uid"]

    def replaced(ps: list[dict]) -> bool:
        live = _live(ps)
        return _ready_count(2)(ps) and all(p["metadata"]["uid"] != gone_uid for p in live)

    pods = kube.watch_until(
        "Pod",
        None,
        replaced,
        selector=CASCADE,
        namespace=ns,
        timeout=ctx.timeout / 2,
        what=f"{RC} to replace pod {_name(victim)}",
    )
    new = [_name(p) for p in _live(pods) if p["metadata"]["name"] != _name(victim)]
    return True, f"deleted pod {_name(victim)}; {RC} keeps 2 Ready pods ({', '.join(sorted(new))})"


def rc_scale_out_in(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    _scale(kube, "ReplicationController", RC, ns, 3)
    try:
        kube.watch_until(
            "Pod",
            None,
            _ready_count(3),
            selector=CASCADE,
            namespace=ns,
            timeout=ctx.timeout / 2,
            what=f"{RC} scaled out to 3 Ready pods",
        )
    finally:
        _scale(kube, "ReplicationController", RC, ns, 2)
    pods = kube.watch_until(
        "Pod",
        None,
        lambda ps: len(_live(ps)) == 2,
        selector=CASCADE,
        namespace=ns,
        timeout=ctx.timeout / 2,
        what=f"{RC} scaled in to 2 pods",
    )
    return (
        True,
        f"replicas 2 -> 3: a 3rd pod made from the template, 3 Ready; 3 -> 2: one deleted, {len(_live(pods))} left",
    )


def rs_adopts_orphans(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    pods = kube.watch_until(
        "Pod",
        None,
        _ready_count(2),
        selector=CASCADE,
        namespace=ns,
        timeout=ctx.timeout / 3,
        what=f"2 Ready pods of {RC}",
    )
    before = {p["metadata"]["uid"]: _name(p) for p in _live(pods)}
    kube.delete(
        {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": RC, "namespace": ns},
        },
        wait=True,
        timeout=ctx.timeout / 3,
        propagation="Orphan",
    )
    orphans = kube.list("Pod", namespace=ns, selector=CASCADE)
    left = {p["metadata"]["uid"] for p in _live(orphans)}
    if left != set(before):
        return (
            False,
            f"after deleting {RC} with propagation Orphan its pods changed: {_names(_live(orphans))}",
        )
    owned = [f"{_name(p)} ({_owner(p)})" for p in orphans if _owner(p)]
    if owned:
        return False, f"{RC} is gone but its pods still have an owner: {', '.join(owned)}"
    ctx.apply_step("replicaset-adopt")

    def adopted(ps: list[dict]) -> bool:
        live = _live(ps)
        return (
            bool(live)
            and all(_owner(p) == f"ReplicaSet/{RS_ADOPT}" for p in live)
            and len(live) >= 2
        )

    pods = kube.watch_until(
        "Pod",
        None,
        adopted,
        selector=CASCADE,
        namespace=ns,
        timeout=ctx.timeout / 3,
        what=f"{RS_ADOPT} to adopt the orphaned pods",
    )
    now = {p["metadata"]["uid"] for p in _live(pods)}
    created = now - set(before)
    if now != set(before):
        return False, (
            f"{RS_ADOPT} owns {_names(_live(pods))}, expected exactly the orphans "
            f"{sorted(before.values())} ({len(created)} new)"
        )
    return True, (
        f"{RC} deleted with propagation Orphan: pods {', '.join(sorted(before.values()))} stayed ownerless; "
        f"{RS_ADOPT} adopted both and created no new pod"
    )


def _image(pod: dict) -> str:
    return pod["spec"]["containers"][0]["image"].rsplit("/", 1)[-1]


def _rs_settled(replicas: int):
    """Predicate over a ReplicaSet: it has seen its latest spec and holds ``replicas`` Ready pods."""

    def pred(rs: dict | None) -> bool:
        if not rs:
            return False
        st = rs.get("status") or {}
        return (
            st.get("observedGeneration", 0) >= rs["metadata"].get("generation", 1)
            and st.get("replicas", 0) == replicas
            and st.get("readyReplicas", 0) == replicas
        )

    return pred


def rs_adopts_existing_pod(ctx: LabContext) -> tuple[bool, str]:
    """pod1 (type: web) first, then replica1 (replicas 1, selector type: web): pod1 is adopted, no pod made."""
    from kubetm.labs.observe import ready_pod

    kube = ctx.kube
    ctx.apply_step("template-pod")
    pod1 = ready_pod(ctx, POD_TMPL, namespace=NS2, timeout=ctx.timeout / 2)
    uid = pod1["metadata"]["uid"]
    ctx.apply_step("template-replicaset")
    kube.watch_until(
        "ReplicaSet",
        RS_TMPL,
        _rs_settled(1),
        namespace=NS2,
        timeout=ctx.timeout / 2,
        what=f"{RS_TMPL} with 1 Ready pod",
    )
    pods = _live(kube.list("Pod", namespace=NS2, selector=WEB))
    ctx.state["replicaset.pod1_uid"] = uid
    names = [f"{_name(p)} ({_owner(p) or 'no owner'})" for p in pods]
    ok = [p["metadata"]["uid"] for p in pods] == [uid] and _owner(
        pods[0]
    ) == f"ReplicaSet/{RS_TMPL}"
    return ok, (
        f"{POD_TMPL} (type=web) ran first; {RS_TMPL} (replicas 1, selector type=web) holds "
        f"{', '.join(names) or 'no pod'}"
        + (": it adopted pod1 and created none" if ok else " (expected only pod1, adopted)")
    )


def template_change_only_new_pods(ctx: LabContext) -> tuple[bool, str]:
    """replica1's template goes to app:v2: pod1 keeps v1; after pod1 is deleted the new pod is v2."""
    kube = ctx.kube
    uid = ctx.state.get("replicaset.pod1_uid")
    if not uid or not kube.get("ReplicaSet", RS_TMPL, namespace=NS2):
        return False, f"needs {RS_TMPL} holding pod1 (see rs-adopts-existing-pod)"
    objs = ctx.load_step("template-replicaset")
    container = objs[0]["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"].replace("app:v1", "app:v2")
    kube.apply(objs)
    kube.watch_until(
        "ReplicaSet",
        RS_TMPL,
        _rs_settled(1),
        namespace=NS2,
        timeout=ctx.timeout / 3,
        what=f"{RS_TMPL} to see its new template",
    )
    pods = _live(kube.list("Pod", namespace=NS2, selector=WEB))
    kept = [p for p in pods if p["metadata"]["uid"] == uid]
    if len(pods) != 1 or not kept or _image(kept[0]) != "app:v1":
        return False, (
            f"after the template changed to app:v2, {RS_TMPL} holds "
            f"{', '.join(f'{_name(p)} ({_image(p)})' for p in pods) or 'no pod'} (expected pod1 on app:v1)"
        )
    kube.delete(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD_TMPL, "namespace": NS2}},
        wait=False,
    )

    def replaced(ps: list[dict]) -> bool:
        live = _live(ps)
        return len(live) == 1 and live[0]["metadata"]["uid"] != uid and _ready(live[0])

    pods = kube.watch_until(
        "Pod",
        None,
        replaced,
        selector=WEB,
        namespace=NS2,
        timeout=ctx.timeout / 2,
        what=f"{RS_TMPL} to replace pod1",
    )
    new = _live(pods)[0]
    ok = _image(new) == "app:v2"
    return ok, (
        f"{RS_TMPL}'s template set to app:v2: pod1 kept running app:v1 (same uid); pod1 deleted: "
        f"the new pod {_name(new)} runs {_image(new)}"
        + ("" if ok else " (expected app:v2, the new template)")
    )


def selector_must_match_template(ctx: LabContext) -> tuple[bool, str]:
    """steps/selector-mismatch (selector ver=v1, template ver=v2) is refused by the API."""
    from kubetm.labs.observe import api_refusal, short

    refused, reason = api_refusal(ctx, "selector-mismatch")
    reason = reason.split(" is invalid: ", 1)[-1]
    ok = refused and "does not match template" in reason
    return ok, (
        f"replica-mismatch (selector type=web,ver=v1; template labels type=web,ver=v2): "
        f"{'refused' if refused else 'ACCEPTED'}: {short(reason, 200)}"
    )


def _select(kube, ns: str, selector: str) -> list[str]:
    return _names(_live(kube.list("Pod", namespace=ns, selector=selector)))


def _selector_cases(kube, ns: str, cases: list[tuple[str, str, set[str]]]) -> tuple[bool, str]:
    """(label, selector, expected pod names) -> one line: which selected what, and what went wrong."""
    # The practice pods exist (lab apply created them); wait until all four are there.
    kube.watch_until(
        "Pod",
        None,
        lambda ps: {_name(p) for p in _live(ps)} >= set(SELECTOR_PODS),
        namespace=ns,
        timeout=30,
        what="the 4 selector practice pods",
    )
    parts, ok = [], True
    for label, selector, expected in cases:
        got = _select(kube, ns, selector)
        if set(got) != expected:
            ok = False
            parts.append(f"{label} selected {got or 'nothing'}, expected {sorted(expected)}")
        else:
            parts.append(f"{label} -> {', '.join(got) or 'nothing'}")
    return ok, "; ".join(parts)


def selector_match_labels(ctx: LabContext) -> tuple[bool, str]:
    return _selector_cases(
        ctx.kube,
        ctx.namespace,
        [
            ("type=web", "type=web", {"pod-web-v1", "pod-web-v2"}),
            ("type=db", "type=db", {"pod-db-v3", "pod-db"}),
        ],
    )


# The practice pods are type=web|db; other pods of the namespace (controllers' pods) carry no `type` in
# (web, db), so "type in (web,db)" keeps the cases to the four pods. NotIn and DoesNotExist also match
# pods WITHOUT the key: pod-db (no ver label) is selected by `ver notin (v2)`.
_PRACTICE = "type in (web,db)"


def selector_match_expressions(ctx: LabContext) -> tuple[bool, str]:
    return _selector_cases(
        ctx.kube,
        ctx.namespace,
        [
            ("ver In (v1,v2)", f"{_PRACTICE},ver in (v1,v2)", {"pod-web-v1", "pod-web-v2"}),
            (
                "ver NotIn (v2)",
                f"{_PRACTICE},ver notin (v2)",
                {"pod-web-v1", "pod-db-v3", "pod-db"},
            ),
            ("ver Exists", f"{_PRACTICE},ver", {"pod-web-v1", "pod-web-v2", "pod-db-v3"}),
            ("ver DoesNotExist", f"{_PRACTICE},!ver", {"pod-db"}),
        ],
    )


def replicaset_expressions_template(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    rs = kube.watch_until(
        "ReplicaSet",
        RS_EXP,
        lambda o: bool(o) and (o.get("status") or {}).get("readyReplicas") == 1,
        namespace=ns,
        timeout=ctx.timeout,
        what=f"{RS_EXP} with 1 Ready pod",
    )
    sel = rs["spec"]["selector"]
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        op, key, values = e["operator"], e["key"], e.get("values") or []
        parts.append(
            {
                "In": f"{key} in ({','.join(values)})",
                "NotIn": f"{key} notin ({','.join(values)})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[op]
        )
    selector = ",".join(parts)
    pods = _live(kube.list("Pod", namespace=ns, selector=selector))
    mine = [p for p in pods if _owner(p) == f"ReplicaSet/{RS_EXP}"]
    if len(pods) != 1 or len(mine) != 1:
        return (
            False,
            f"selector {selector} matches {_names(pods)}; {RS_EXP} owns {_names(mine)} (expected 1 pod)",
        )
    labels = {k: v for k, v in mine[0]["metadata"]["labels"].items() if k != "pod-template-hash"}
    return (
        True,
        f"{RS_EXP}'s selector {selector} matches its 1 pod {_name(mine[0])} made from the template {labels}",
    )


# --------------------------------------------------------------------------------- node down


def kind_node_container(node: dict) -> str:
    """The Docker container behind a kind node, from providerID ``kind://docker/<cluster>/<node>``.

    Refuses (KubetmError) any node that is not a kind node running on Docker: kubetm never stops
    a real machine.
    """
    from kubetm.nodes import kind_parts

    pid = str((node.get("spec") or {}).get("providerID") or "")
    parts = kind_parts(node)
    if parts is None:
        raise KubetmError(
            f"node {_name(node)} is not a kind node (providerID {pid or 'empty'!r}): "
            "the auto-healing check only stops kind nodes",
            hint="run this lab on the kind cluster (`kubetm cluster up`), or stop a node yourself",
        )
    provider, _cluster, container = parts
    if provider != "docker":
        raise KubetmError(
            f"node {_name(node)} runs on {provider}, not docker: the auto-healing check only "
            "stops kind nodes on Docker"
        )
    return container


def _registry_config(container: str) -> str:
    """The node's containerd registry config (every certs.d/*/hosts.toml), as one text."""
    from kubetm.host import docker

    return docker.exec_in(
        container,
        [
            "sh",
            "-c",
            "for f in /etc/containerd/certs.d/*/hosts.toml; do "
            '[ -f "$f" ] && echo "# $f" && cat "$f"; done; true',
        ],
        timeout=60,
    )


def stop_kind_node(node: dict) -> str:
    """``docker stop`` the container of a kind node; returns the container name."""
    container = kind_node_container(node)
    from kubetm.host import docker

    docker.stop(container, grace=5, timeout=90)
    return container


def restore_kind_node(
    kube,
    node_name: str,
    container: str,
    registry_config: str | None,
    timeout: float = NODE_READY_TIMEOUT,
) -> str:
    """``docker start`` the node again, contain its pod and Service addresses again (a restarted
    node container starts with an empty network namespace; kind's stock node image has no boot
    unit for it: kubetm.cluster.contain_node), watch the Node until Ready, check the registry
    config survived."""
    from kubetm.cluster import contain_node
    from kubetm.k8s import conditions

    start = time.monotonic()
    from kubetm.host import docker

    docker.start(container, timeout=90)
    contain_node(container)
    kube.watch_until(
        "Node",
        node_name,
        conditions.node_ready,
        timeout=timeout,
        what=f"node {node_name} Ready again after docker start",
    )
    note = f"node {node_name} Ready again {time.monotonic() - start:.0f}s after docker start"
    if registry_config is not None:
        after = _registry_config(container)
        if after != registry_config:
            raise KubetmError(
                f"node {node_name} came back but its registry config changed "
                f"(/etc/containerd/certs.d/*/hosts.toml): pulls from the local registry may fail",
                hint="re-run `kubetm cluster up` to rewire the registry",
            )
        if registry_config.strip():
            note += ", registry hosts.toml intact"
    return note


def auto_healing_node_down(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    from kubetm import nodes as nodes_mod

    pods = kube.watch_until(
        "Pod",
        None,
        _ready_count(2),
        selector=HEAL,
        namespace=ns,
        timeout=60,
        what=f"2 Ready pods of {RS_HEAL}",
    )
    all_nodes = {_name(n): n for n in nodes_mod.list_nodes(kube)}
    workers = [_name(n) for n in nodes_mod.workers(list(all_nodes.values()))]
    if len(workers) < 2:
        return (
            False,
            f"needs 2 worker nodes (one goes down, the other takes its pods); found {workers or 'none'}",
        )
    on_node: dict[str, list[str]] = {}
    for p in _live(pods):
        on_node.setdefault(p["spec"].get("nodeName"), []).append(_name(p))
    # Stop a worker that runs a heal pod (k8s-node2's first, so the pod-pinned node1 stays up).
    candidates = [w for w in reversed(workers) if w in on_node]
    if not candidates:
        return False, f"{RS_HEAL}'s pods run on {sorted(on_node)}, none on a worker"
    target = candidates[0]
    container = kind_node_container(
        all_nodes[target]
    )  # refuses non-kind clusters before anything happens
    registry_config = _registry_config(container)
    victims = {
        p["metadata"]["uid"]: _name(p) for p in _live(pods) if p["spec"].get("nodeName") == target
    }
    ctx.log(
        f"stopping node {target} (docker stop {container}); its pods: {', '.join(victims.values())}"
    )
    t0 = time.monotonic()
    restore_note = ""
    healed: list[dict] = []
    not_ready_at = None
    try:
        stop_kind_node(all_nodes[target])
        ctx.check_cancelled()
        kube.watch_until(
            "Node",
            target,
            lambda n: bool(n) and not _node_ready(n),
            timeout=120,
            what=f"node {target} NotReady",
        )
        not_ready_at = time.monotonic() - t0

        def recreated(ps: list[dict]) -> bool:
            live = [p for p in _live(ps) if p["metadata"]["uid"] not in victims]
            return len(live) >= 2 and all(
                _ready(p) and p["spec"].get("nodeName") != target for p in live
            )

        healed = kube.watch_until(
            "Pod",
            None,
            recreated,
            selector=HEAL,
            namespace=ns,
            timeout=max(30.0, ctx.timeout - 60 - (time.monotonic() - t0)),
            what=f"{RS_HEAL} to recreate its pods off node {target}",
        )
        healed_at = time.monotonic() - t0
    finally:
        restore_note = restore_kind_node(kube, target, container, registry_config)
    new = [
        f"{_name(p)}@{p['spec'].get('nodeName')}"
        for p in _live(healed)
        if p["metadata"]["uid"] not in victims
    ]
    return True, (
        f"stopped {target}: NotReady after {not_ready_at:.0f}s, {RS_HEAL} Ready again on another node "
        f"after {healed_at:.0f}s ({', '.join(sorted(new))}); {restore_note}"
    )


def _node_ready(node: dict) -> bool:
    from kubetm.k8s import conditions

    return conditions.node_ready(node)


LAB = Lab(
    name="replicaset",
    part="초급",
    page="k8s/04-beginner-controller/replicaset",
    title="레플리카셋 — Replication Controller, ReplicaSet",
    lesson="Template, Replicas, Selector: a controller keeps N pods, recreates lost ones and adopts matching orphans",
    namespaces=("kubetm-lab-replicaset", NS2),
    shares=(CLUSTER,),
    shares_reason="the auto-healing check takes a worker node down; other labs' pods would move",
    checks=(
        Check(
            "rc-keeps-replicas",
            rc_keeps_replicas,
            "replication-1 keeps 2 pods: a deleted pod is replaced from the template",
            timeout=90,
        ),
        Check(
            "rc-scale-out-in",
            rc_scale_out_in,
            "replicas 2 -> 3 adds a pod from the template, 3 -> 2 deletes one",
            timeout=90,
        ),
        Check(
            "rs-adopts-orphans",
            rs_adopts_orphans,
            "replication-1 deleted with propagation Orphan; steps/replicaset-adopt's replica-1 adopts its 2 pods, creates none",
            timeout=90,
        ),
        Check(
            "rs-adopts-existing-pod",
            rs_adopts_existing_pod,
            "the course's pod1 (type=web) runs first; replica1 (replicas 1, selector type=web) adopts "
            "it and creates no pod",
            timeout=90,
        ),
        Check(
            "template-change-only-new-pods",
            template_change_only_new_pods,
            "replica1's template changed to app:v2 leaves pod1 on app:v1; the pod made after pod1 is "
            "deleted runs app:v2",
            timeout=90,
        ),
        Check(
            "selector-must-match-template",
            selector_must_match_template,
            "steps/selector-mismatch (selector ver=v1, template ver=v2) is refused by the API",
            timeout=30,
        ),
        Check(
            "selector-match-labels",
            selector_match_labels,
            "type=web selects pod-web-v1 and pod-web-v2 only (type=db: pod-db-v3, pod-db)",
            timeout=30,
        ),
        Check(
            "selector-match-expressions",
            selector_match_expressions,
            "ver In (v1,v2), ver NotIn (v2), ver Exists, ver DoesNotExist select the expected pods",
            timeout=30,
        ),
        Check(
            "replicaset-expressions-template",
            replicaset_expressions_template,
            "replica-exp (matchLabels + matchExpressions) runs 1 pod made from its template",
            timeout=90,
        ),
        Check(
            "auto-healing-node-down",
            auto_healing_node_down,
            "a node of replica-heal's pods goes down; after ~10 s tolerations the pods are recreated on another node",
            timeout=240,
        ),
    ),
)
