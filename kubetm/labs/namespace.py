"""Lab `namespace` — Namespace, ResourceQuota, LimitRange.

manifests/namespace/: kubetm-lab-namespace (pod-1 app, svc-1), kubetm-lab-namespace-2 (pod-1 client),
kubetm-lab-namespace-3 (lr-1, rq-1, pod-default), kubetm-lab-namespace-4 (rq-2 alone),
kubetm-lab-namespace-6 (lr-5 and lr-3, the course's LimitRange exception); the namespace exceptions
(svc-2 on NodePort 30009, pod-2 in two namespaces on one hostPath);
steps/pod-over-{quota,max,ratio}.yaml, steps/pod-no-resources.yaml (namespace-4),
steps/nodeport-other-namespace.yaml and steps/pod-two-limitranges.yaml (refused / dry-run) and
steps/namespace-delete.yaml (kubetm-lab-namespace-5, deleted by its check).
"""

from __future__ import annotations

import re
import time

from kubetm.errors import Forbidden
from kubetm.labels import SERVICE_NAME
from kubetm.labs.base import Check, Lab
from kubetm.labs.observe import (
    api_refusal,
    exec_ok,
    quantity_bytes,
    ready_pod,
    short,
    token,
    wait_endpoints,
)

NS1, NS2, NS3, NS4, NS5, NS6 = (
    f"kubetm-lab-namespace{s}" for s in ("", "-2", "-3", "-4", "-5", "-6")
)
NODEPORT = 30009  # svc-2 (the course: 30001, the service lab's port here)


def same_name_two_namespaces(ctx) -> tuple[bool, str]:
    """pod-1 exists in two namespaces: two different pods (uids, images) with the same name."""
    found = []
    for ns in (NS1, NS2):
        pod = ready_pod(ctx, "pod-1", namespace=ns)
        image = pod["spec"]["containers"][0]["image"].rsplit("/", 1)[-1]
        found.append((ns, pod["metadata"]["uid"], image))
    ok = found[0][1] != found[1][1]
    return ok, " and ".join(f"{ns}/pod-1 (uid {uid[:8]}, {image})" for ns, uid, image in found) + (
        ": two different pods with one name" if ok else ": the same pod?"
    )


def service_selects_own_namespace(ctx) -> tuple[bool, str]:
    """svc-1 (selector app=pod) holds only its own namespace's pod-1, though the other carries app=pod too."""
    own = ready_pod(ctx, "pod-1", namespace=NS1)
    other = ready_pod(ctx, "pod-1", namespace=NS2)
    wait_endpoints(ctx, "svc-1", lambda found: "pod-1" in found, namespace=NS1)
    slices = ctx.kube.list(
        "EndpointSlice",
        namespace=NS1,
        selector={SERVICE_NAME: "svc-1"},
        api_version="discovery.k8s.io/v1",
    )
    refs = [
        (
            (ep.get("targetRef") or {}).get("namespace") or NS1,
            (ep.get("targetRef") or {}).get("uid"),
            (ep.get("addresses") or ["?"])[0],
        )
        for s in slices
        for ep in s.get("endpoints") or []
    ]
    uids = {uid for _, uid, _ in refs}
    ok = uids == {own["metadata"]["uid"]}
    other_labels = other["metadata"].get("labels") or {}
    return ok, (
        f"svc-1 endpoints: {', '.join(f'{ns}/pod-1 {ip}' for ns, _, ip in refs) or 'none'}; "
        f"{NS2}/pod-1 ({other['status'].get('podIP')}, app={other_labels.get('app')}) is not selected"
    )


def cross_namespace_dns(ctx) -> tuple[bool, str]:
    """From kubetm-lab-namespace-2/pod-1, curl svc-1.kubetm-lab-namespace.svc.cluster.local:9000."""
    ready_pod(ctx, "pod-1", namespace=NS1)
    ready_pod(ctx, "pod-1", namespace=NS2)
    wait_endpoints(ctx, "svc-1", lambda found: "pod-1" in found, namespace=NS1)
    name = f"svc-1.{NS1}.svc.cluster.local"
    # The trailing dot makes the name absolute: no search-domain queries leave the cluster's DNS.
    out = exec_ok(
        ctx,
        "pod-1",
        [
            "curl",
            "-sS",
            "-m",
            "5",
            "--retry",
            "5",
            "--retry-delay",
            "1",
            "--retry-all-errors",
            f"http://{name}.:9000/",
        ],
        namespace=NS2,
        timeout=60,
    )
    ok = "hostname=pod-1" in out
    return ok, f"{NS2}/pod-1: curl http://{name}:9000/ answered {short(out, 60)!r}"


def pod_ip_across_namespaces(ctx) -> tuple[bool, str]:
    """From kubetm-lab-namespace-2/pod-1, curl kubetm-lab-namespace/pod-1 by its pod IP."""
    target = ready_pod(ctx, "pod-1", namespace=NS1)
    ready_pod(ctx, "pod-1", namespace=NS2)
    ip = target["status"].get("podIP")
    if not ip:
        return False, f"{NS1}/pod-1 has no pod IP"
    host = f"[{ip}]" if ":" in ip else ip
    out = exec_ok(
        ctx,
        "pod-1",
        ["curl", "-sS", "-m", "5", "--retry", "3", "--retry-delay", "1", "--retry-all-errors"]
        + [f"http://{host}:8080/hostname"],
        namespace=NS2,
        timeout=40,
    )
    ok = out.strip() == "pod-1"
    return ok, (
        f"{NS2}/pod-1: curl http://{host}:8080/hostname ({NS1}/pod-1's IP) answered "
        f"{short(out, 40)!r}: namespaces do not separate the pod network"
    )


def nodeport_cluster_wide(ctx) -> tuple[bool, str]:
    """svc-2 holds NodePort 30009 in kubetm-lab-namespace; the same port in namespace-2 is refused."""
    svc = ctx.kube.get("Service", "svc-2", namespace=NS1) or {}
    ports = [p.get("nodePort") for p in (svc.get("spec") or {}).get("ports") or []]
    if NODEPORT not in ports:
        return False, f"{NS1}/svc-2 should hold nodePort {NODEPORT} (found {ports or 'no service'})"
    refused, reason = api_refusal(ctx, "nodeport-other-namespace")
    m = re.search(r"is invalid: (.*)$", reason)
    reason = m.group(1) if m else reason
    ok = refused and "already allocated" in reason
    return ok, (
        f"{NS1}/svc-2 holds nodePort {NODEPORT}; svc-2 with the same nodePort in {NS2}: "
        f"{'refused' if refused else 'ACCEPTED'}: {short(reason, 160)}"
    )


def hostpath_shared_across_namespaces(ctx) -> tuple[bool, str]:
    """pod-2 in two namespaces on one node: a file one writes into the hostPath, the other reads."""
    pods = {ns: ready_pod(ctx, "pod-2", namespace=ns) for ns in (NS1, NS2)}
    nodes = {ns: p["spec"].get("nodeName") for ns, p in pods.items()}
    if nodes[NS1] != nodes[NS2]:
        return False, f"pod-2 should run on one node in both namespaces (found {nodes})"
    value = token("hostpath")
    exec_ok(ctx, "pod-2", ["sh", "-c", f"echo {value} > /mount1/hello.txt"], namespace=NS1)
    try:
        rc, out, err = ctx.kube.exec(
            "pod-2", ["cat", "/mount1/hello.txt"], namespace=NS2, timeout=30
        )
    finally:
        exec_ok(ctx, "pod-2", ["rm", "-f", "/mount1/hello.txt"], namespace=NS1)
    out = out if rc == 0 else (err or out)
    ok = rc == 0 and value in out
    return ok, (
        f"{NS1}/pod-2 wrote {value} to /mount1/hello.txt; {NS2}/pod-2 on the same node "
        f"({nodes[NS1]}) read {short(out, 60)!r}: a hostPath is the node's, not the namespace's"
    )


def limitrange_defaults(ctx) -> tuple[bool, str]:
    """pod-default named no resources: lr-1 filled in its default request/limit; rq-1 counts them."""
    pod = ready_pod(ctx, "pod-default", namespace=NS3)
    lr = ctx.kube.get("LimitRange", "lr-1", namespace=NS3)
    item: dict = next(
        (i for i in (lr or {}).get("spec", {}).get("limits") or [] if i.get("type") == "Container"),
        {},
    )
    res = pod["spec"]["containers"][0].get("resources") or {}
    req = (res.get("requests") or {}).get("memory")
    lim = (res.get("limits") or {}).get("memory")
    want_req = (item.get("defaultRequest") or {}).get("memory")
    want_lim = (item.get("default") or {}).get("memory")
    filled = (
        req
        and want_req
        and quantity_bytes(req) == quantity_bytes(want_req)
        and lim
        and want_lim
        and quantity_bytes(lim) == quantity_bytes(want_lim)
    )
    note = (pod["metadata"].get("annotations") or {}).get("kubernetes.io/limit-ranger", "")

    def counted(rq: dict | None) -> bool:
        used = ((rq or {}).get("status") or {}).get("used") or {}
        return bool(req) and quantity_bytes(used.get("requests.memory", "0")) >= quantity_bytes(req)

    rq = ctx.kube.watch_until(
        "ResourceQuota",
        "rq-1",
        counted,
        namespace=NS3,
        timeout=ctx.timeout,
        what="rq-1 counting pod-default",
    )
    used, hard = rq["status"].get("used") or {}, rq["status"].get("hard") or {}
    return bool(filled), (
        f"pod-default got requests.memory={req}, limits.memory={lim} (lr-1 defaults "
        f"{want_req}/{want_lim}){'; ' + short(note, 100) if note else ''}; rq-1 used "
        f"requests.memory {used.get('requests.memory')}/{hard.get('requests.memory')}, "
        f"limits.memory {used.get('limits.memory')}/{hard.get('limits.memory')}"
    )


def _refused(ctx, step: str, expect: str, intro: str) -> tuple[bool, str]:
    refused, reason = api_refusal(ctx, step)
    ok = refused and expect in reason
    return ok, f"{intro}: {'refused' if refused else 'ACCEPTED'}: {short(reason, 220)}"


def quota_requires_resources(ctx) -> tuple[bool, str]:
    """kubetm-lab-namespace-4 has a memory quota and no LimitRange: a pod without memory requests/limits is refused."""
    lrs = ctx.kube.list("LimitRange", namespace=NS4)
    if lrs:
        return False, f"{NS4} should have no LimitRange (found {lrs[0]['metadata']['name']})"
    return _refused(
        ctx, "pod-no-resources", "must specify", f"{NS4} (rq-2, no LimitRange) pod-no-resources"
    )


def quota_refuses_excess(ctx) -> tuple[bool, str]:
    """steps/pod-over-quota (450Mi more on top of pod-default's 100Mi of 500Mi) is refused by rq-1."""
    return _refused(
        ctx, "pod-over-quota", "exceeded quota", f"{NS3} pod-over-quota (requests 450Mi)"
    )


def limitrange_refuses_max(ctx) -> tuple[bool, str]:
    return _refused(ctx, "pod-over-max", "maximum memory", f"{NS3} pod-over-max (limit 600Mi)")


def limitrange_refuses_ratio(ctx) -> tuple[bool, str]:
    return _refused(
        ctx, "pod-over-ratio", "ratio", f"{NS3} pod-over-ratio (limit 300Mi / request 50Mi)"
    )


TWO_LR_TRIES, TWO_LR_MIN_TRIES = 100, 20


def _dry_run_create(ctx, obj: dict) -> tuple[dict | None, str]:
    """Create ``obj`` (a Pod) as a server-side dry run: (the pod as admitted, "") or (None, why not).

    Admission runs as for a real create (LimitRange defaults, then validation); nothing is stored.
    """
    kube, ns = ctx.kube, obj["metadata"]["namespace"]
    try:
        pod = kube.call(
            kube.core.create_namespaced_pod,
            ns,
            obj,
            dry_run="All",
            what=f"create pod {ns}/{obj['metadata']['name']} (dry run)",
        )
    except Forbidden as e:
        m = re.search(r"is forbidden: (.*)$", e.message)
        return None, (m.group(1) if m else e.message)
    return kube.api_client.sanitize_for_serialization(pod), ""


def _memory(pod: dict) -> tuple[float | None, float | None]:
    res = pod["spec"]["containers"][0].get("resources") or {}
    req = (res.get("requests") or {}).get("memory")
    lim = (res.get("limits") or {}).get("memory")
    return (
        quantity_bytes(req) if req is not None else None,
        quantity_bytes(lim) if lim is not None else None,
    )


def _mi(value: float | None) -> str:
    return "none" if value is None else f"{value / 2**20:g}Mi"


def two_limitranges(ctx) -> tuple[bool, str]:
    """kubetm-lab-namespace-6 holds lr-5 and lr-3; a pod naming no resources is sent as a dry run
    until both outcomes show (at most 100 times): refused when lr-5's 0.5Gi default comes first
    (above lr-3's max), admitted with lr-3's 0.3Gi when lr-3's comes first."""
    items: dict[str, dict] = {
        lr["metadata"]["name"]: next(
            (i for i in lr["spec"].get("limits") or [] if i.get("type") == "Container"), {}
        )
        for lr in ctx.kube.list("LimitRange", namespace=NS6)
    }
    if set(items) != {"lr-5", "lr-3"}:
        return (
            False,
            f"{NS6} should hold lr-5 and lr-3 (found {', '.join(sorted(items)) or 'none'})",
        )
    lr3 = quantity_bytes(items["lr-3"]["default"]["memory"])
    obj = ctx.load_step("pod-two-limitranges")[0]
    refusals: list[str] = []
    admitted: list[tuple[float | None, float | None]] = []
    tries = 0
    while tries < TWO_LR_TRIES and not (tries >= TWO_LR_MIN_TRIES and refusals and admitted):
        ctx.check_cancelled()
        pod, why = _dry_run_create(ctx, obj)
        tries += 1
        if pod is None:
            refusals.append(why)
        else:
            admitted.append(_memory(pod))
    wrong_refusals = [r for r in refusals if "maximum memory usage per Container" not in r]
    wrong_admits = [m for m in admitted if m != (lr3, lr3)]
    ok = bool(refusals) and not wrong_refusals and not wrong_admits
    said = (
        f"refused {len(refusals)} times ({short(refusals[0], 110)}: lr-5's 0.5Gi default came "
        f"first and lr-3's max refused it)"
        if refusals
        else "never refused (the course's outcome did not show)"
    )
    took = f"admitted {len(admitted)} times" + (
        f" with requests/limits {_mi(admitted[0][0])}/{_mi(admitted[0][1])} (lr-3's default came first)"
        if admitted
        else ""
    )
    odd = ""
    if wrong_refusals:
        odd += f"; refused for another reason: {short(wrong_refusals[0], 100)}"
    if wrong_admits:
        odd += f"; admitted with {_mi(wrong_admits[0][0])}/{_mi(wrong_admits[0][1])}, not lr-3's default"
    return ok, (
        f"{NS6} (lr-5, lr-3): pod-1 without resources sent {tries} times as a dry run: {said}, "
        f"{took}: which LimitRange fills in the defaults is not fixed{odd}"
    )


def _contents(ctx, kinds: tuple[str, ...]) -> dict[str, list[str]]:
    return {
        k: sorted(
            o["metadata"]["name"]
            for o in ctx.kube.list(k, namespace=NS5)
            if not (k == "ConfigMap" and o["metadata"]["name"] == "kube-root-ca.crt")
        )
        for k in kinds
    }


def namespace_delete_deletes_contents(ctx) -> tuple[bool, str]:
    """Apply steps/namespace-delete (a namespace with a pod, service, configmap), delete the namespace,
    and see its contents, then the namespace itself, gone."""
    from kubetm.errors import Timeout

    ctx.apply_step("namespace-delete")
    ready_pod(ctx, "pod-1", namespace=NS5)
    kinds = ("Pod", "Service", "ConfigMap")
    before = _contents(ctx, kinds)
    held = ", ".join(f"{k.lower()} {n}" for k in kinds for n in before[k])
    start = time.monotonic()
    ctx.kube.delete(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS5}}], wait=False
    )
    # The namespace controller deletes kind after kind, in no fixed order: watch each one empty.
    for kind in kinds:
        names = set(before[kind])
        ctx.kube.watch_until(
            kind,
            None,
            lambda objs, names=names: not names & {o["metadata"]["name"] for o in objs or []},
            namespace=NS5,
            timeout=ctx.timeout / 2,
            what=f"the {kind.lower()}s of {NS5} deleted",
        )
    emptied = time.monotonic() - start
    left = ", ".join(
        f"{k.lower()} {n}" for k, names in _contents(ctx, kinds).items() for n in names
    )
    if left:
        return (
            False,
            f"{NS5} held {held}; {emptied:.0f}s after deleting the namespace, still there: {left}",
        )
    try:
        ctx.kube.watch_until(
            "Namespace",
            NS5,
            lambda o: o is None,
            timeout=max(5.0, ctx.timeout / 2),
            what=f"namespace {NS5} deleted",
        )
    except Timeout:
        ns = ctx.kube.get("Namespace", NS5) or {}
        why = [
            c.get("message", "")
            for c in (ns.get("status") or {}).get("conditions") or []
            if c.get("status") == "True"
        ]
        return False, (
            f"{NS5} held {held}; its contents were deleted in {emptied:.0f}s but the namespace stays "
            f"Terminating: {short('; '.join(why) or 'no reason given', 200)} (a cluster problem)"
        )
    return bool(before["Pod"]), (
        f"{NS5} held {held}; deleting the namespace deleted all of them "
        f"({emptied:.0f}s) and then the namespace ({time.monotonic() - start:.0f}s)"
    )


LAB = Lab(
    name="namespace",
    part="초급",
    page="k8s/03-beginner-basic-resource/namespace",
    title="네임스페이스, 리소스쿼터, 리밋레인지 — Namespace, ResourceQuota, LimitRange",
    lesson=(
        "Namespace, ResourceQuota, LimitRange: names and selection are per namespace, the network "
        "is not (pod IPs, Services by DNS), nor NodePorts (cluster-wide) or hostPaths (the node's); "
        "quotas and limits bound resources; with two LimitRanges a pod gets the defaults of "
        "whichever the admission plugin reads first (not fixed): the course's refusal, or not"
    ),
    namespaces=(NS1, NS2, NS3, NS4, NS5, NS6),
    shares=(f"nodeport:{NODEPORT}",),
    shares_reason="svc-2 holds NodePort 30009 (a NodePort is cluster-wide: the lesson's own point)",
    checks=(
        Check(
            "same-name-two-namespaces",
            same_name_two_namespaces,
            "pod-1 exists in kubetm-lab-namespace and kubetm-lab-namespace-2 (two different pods)",
            timeout=90,
        ),
        Check(
            "service-selects-own-namespace",
            service_selects_own_namespace,
            "svc-1's endpoints hold only the pod-1 of its own namespace, though both carry app=pod",
            timeout=60,
        ),
        Check(
            "cross-namespace-dns",
            cross_namespace_dns,
            "from kubetm-lab-namespace-2/pod-1, svc-1.kubetm-lab-namespace.svc.cluster.local:9000 answers",
            timeout=90,
        ),
        Check(
            "pod-ip-across-namespaces",
            pod_ip_across_namespaces,
            "from kubetm-lab-namespace-2/pod-1, kubetm-lab-namespace/pod-1's pod IP answers on 8080",
            timeout=90,
        ),
        Check(
            "nodeport-cluster-wide",
            nodeport_cluster_wide,
            "svc-2 holds NodePort 30009 in kubetm-lab-namespace; steps/nodeport-other-namespace (the "
            "same port in kubetm-lab-namespace-2) is refused: provided port is already allocated",
            timeout=30,
        ),
        Check(
            "hostpath-shared-across-namespaces",
            hostpath_shared_across_namespaces,
            "pod-2 in two namespaces on k8s-node1: a file written into the hostPath by one is read by "
            "the other",
            timeout=90,
        ),
        Check(
            "limitrange-defaults",
            limitrange_defaults,
            "pod-default got lr-1's default request 100Mi / limit 200Mi and counts in rq-1's used",
            timeout=60,
        ),
        Check(
            "quota-requires-resources",
            quota_requires_resources,
            "steps/pod-no-resources is refused in kubetm-lab-namespace-4 (quota rq-2, no LimitRange): "
            "must specify requests.memory/limits.memory",
            timeout=30,
        ),
        Check(
            "quota-refuses-excess",
            quota_refuses_excess,
            "steps/pod-over-quota is refused: exceeded quota rq-1 (requests.memory)",
            timeout=30,
        ),
        Check(
            "limitrange-refuses-max",
            limitrange_refuses_max,
            "steps/pod-over-max is refused: limit 600Mi above lr-1's max 512Mi",
            timeout=30,
        ),
        Check(
            "limitrange-refuses-ratio",
            limitrange_refuses_ratio,
            "steps/pod-over-ratio is refused: limit/request 6 above maxLimitRequestRatio 3",
            timeout=30,
        ),
        Check(
            "two-limitranges",
            two_limitranges,
            "kubetm-lab-namespace-6 holds lr-5 and lr-3: a pod without resources is refused when "
            "lr-5's 0.5Gi default comes first, admitted with lr-3's 0.3Gi when lr-3's does; the "
            "order is not fixed (dry runs, counted)",
            timeout=60,
        ),
        Check(
            "namespace-delete-deletes-contents",
            namespace_delete_deletes_contents,
            "steps/namespace-delete: deleting kubetm-lab-namespace-5 deletes its pod, service and configmap",
            timeout=120,
        ),
    ),
)

__all__ = ["LAB"]
