"""Lab `daemonset-job-cronjob` — DaemonSet, Job, CronJob.

manifests/daemonset-job-cronjob/: daemonset-1 (app, hostPort 18080), daemonset-2 (nodeSelector
kubetm.io/ds=true), job-1 (completions 6, parallelism 2), job-deadline (activeDeadlineSeconds 15),
cron-job (every minute), cron-allow / cron-forbid / cron-replace (concurrencyPolicy).
Shares (``Lab.shares``) ``nodes`` and ``hostport:18080``, not the whole cluster: a check labels a
node kubetm.io/ds=true (`lab delete` removes that label from every node) and daemonset-1's count
depends on the nodes' taints; labs that leave nodes alone run beside it.

"Schedulable node" for a DaemonSet = a node whose NoSchedule/NoExecute taints the pod tolerates
(its own tolerations plus those the DaemonSet controller adds) and whose labels match its
nodeSelector. On kind the control plane carries node-role.kubernetes.io/control-plane:NoSchedule,
which daemonset-1 does not tolerate: it runs on the 2 workers only.

CronJob schedules are minute-granular. All four CronJobs are created by `lab apply` and tick at
the same minute boundaries; the checks observe those shared ticks (Job names carry their scheduled
minute), so the whole lab needs about two ticks (≈ 2-3 min) however the checks are ordered.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from kubetm.errors import KubetmError, Timeout
from kubetm.labels import LAB as LAB_KEY
from kubetm.labs.base import NODES, Check, Lab, LabContext

DS_LABEL = "kubetm.io/ds"
HOST_PORT = 18080
MANUAL_ANNOTATION = "cronjob.kubernetes.io/instantiate"
# Taint keys the DaemonSet controller tolerates on every DaemonSet pod (hostNetwork adds network-unavailable).
_DS_DEFAULT_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)


def remove_ds_labels(ctx: LabContext) -> None:
    """Cleanup: take kubetm.io/ds off every node (a strategic-merge patch with null removes a label)."""
    kube = ctx.kube
    for node in kube.list("Node", selector=DS_LABEL):
        name = node["metadata"]["name"]
        kube.call(
            kube.core.patch_node,
            name,
            {"metadata": {"labels": {DS_LABEL: None}}},
            what=f"remove label {DS_LABEL} from node {name}",
        )


# ---------------------------------------------------------------------------------- helpers

from kubetm.k8s.conditions import is_ready as _ready  # noqa: E402
from kubetm.labs.observe import live as _live  # noqa: E402
from kubetm.labs.observe import name_of as _name  # noqa: E402


def _ts(value: str | None) -> datetime | None:
    """RFC 3339 timestamp from the API -> aware datetime (None stays None)."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _hms(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%H:%M:%S") if value else "?"


def tolerates(taint: dict, tolerations: list[dict]) -> bool:
    """Kubernetes' toleration matching for one taint (PreferNoSchedule never blocks)."""
    if taint.get("effect") == "PreferNoSchedule":
        return True
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def schedulable_nodes(nodes: list[dict], pod_spec: dict) -> tuple[list[str], dict[str, str]]:
    """(nodes a DaemonSet pod may run on, {other node: why not}) from live Nodes and the pod template."""
    tolerations = list(pod_spec.get("tolerations") or []) + list(_DS_DEFAULT_TOLERATIONS)
    selector = pod_spec.get("nodeSelector") or {}
    ok, skipped = [], {}
    for n in sorted(nodes, key=_name):
        labels = n["metadata"].get("labels") or {}
        blocking = [
            t for t in (n.get("spec") or {}).get("taints") or [] if not tolerates(t, tolerations)
        ]
        if blocking:
            t = blocking[0]
            skipped[_name(n)] = f"taint {t.get('key')}:{t.get('effect')}"
        elif any(labels.get(k) != v for k, v in selector.items()):
            skipped[_name(n)] = "nodeSelector " + ",".join(f"{k}={v}" for k, v in selector.items())
        else:
            ok.append(_name(n))
    return ok, skipped


def _owned_by(obj: dict, kind: str, name: str) -> bool:
    return any(
        r.get("kind") == kind and r.get("name") == name
        for r in obj["metadata"].get("ownerReferences") or []
    )


def _job_condition(job: dict, type_: str) -> dict | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_ and c.get("status") == "True":
            return c
    return None


def _job_finished(job: dict) -> bool:
    return bool(_job_condition(job, "Complete") or _job_condition(job, "Failed"))


def scheduled_time(job: dict, cronjob: str) -> datetime | None:
    """When the CronJob scheduled this Job: the controller names it <cronjob>-<unix minutes>."""
    suffix = _name(job).removeprefix(cronjob + "-")
    if suffix.isdigit():
        return datetime.fromtimestamp(int(suffix) * 60, tz=timezone.utc)
    return None


def _cron_jobs(jobs: list[dict], cronjob: str, scheduled_only: bool = True) -> list[dict]:
    """Jobs the CronJob made (oldest first); without hand-made ones when ``scheduled_only``."""
    out = [
        j
        for j in jobs or []
        if _owned_by(j, "CronJob", cronjob)
        and not (scheduled_only and scheduled_time(j, cronjob) is None)
    ]
    return sorted(out, key=lambda j: (j["metadata"].get("creationTimestamp") or "", _name(j)))


def _interval(job: dict) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a Job from its status; end None while it is still active."""
    s = job.get("status") or {}
    start = _ts(s.get("startTime")) or _ts(job["metadata"].get("creationTimestamp"))
    end = _ts(s.get("completionTime"))
    if end is None:
        failed = _job_condition(job, "Failed")
        end = _ts(failed.get("lastTransitionTime")) if failed else None
    if end is None and job["metadata"].get("deletionTimestamp"):
        end = _ts(job["metadata"]["deletionTimestamp"])
    return start, end


def overlapping(jobs: list[dict]) -> tuple[dict, dict] | None:
    """Two Jobs that were running at the same time (by status start/end), or None."""
    spans = [(j, *_interval(j)) for j in jobs]
    far = datetime.max.replace(tzinfo=timezone.utc)
    for i, (a, a0, a1) in enumerate(spans):
        for b, b0, b1 in spans[i + 1 :]:
            if a0 and b0 and a0 < (b1 or far) and b0 < (a1 or far):
                return (a, b) if a0 <= b0 else (b, a)
    return None


def max_concurrency(intervals: list[tuple[datetime, datetime]]) -> int:
    """Most intervals open at once; an interval ending at t does not overlap one starting at t."""
    events = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1])
    )
    cur = best = 0
    for _, step in events:
        cur += step
        best = max(best, cur)
    return best


# ------------------------------------------------------------------------------- DaemonSet


def _ds_state(ctx: LabContext, name: str, timeout: float) -> tuple[dict, list[dict]]:
    from kubetm.k8s import conditions

    kube, ns = ctx.kube, ctx.namespace
    ds = kube.watch_until(
        "DaemonSet",
        name,
        conditions.daemonset_ready,
        namespace=ns,
        timeout=timeout,
        what=f"daemonset {name} ready on every node it wants",
    )
    sel = ds["spec"]["selector"]["matchLabels"]
    pods = _live(kube.list("Pod", namespace=ns, selector=sel))
    return ds, pods


def daemonset_one_per_node(ctx: LabContext) -> tuple[bool, str]:
    ds, pods = _ds_state(ctx, "daemonset-1", ctx.timeout)
    expected, skipped = schedulable_nodes(ctx.kube.list("Node"), ds["spec"]["template"]["spec"])
    per_node: dict[str, list[str]] = {}
    for p in pods:
        per_node.setdefault(p["spec"].get("nodeName") or "?", []).append(_name(p))
    problems = [
        f"{n}: {len(per_node.get(n, []))} pods" for n in expected if len(per_node.get(n, [])) != 1
    ]
    problems += [
        f"{n}: unexpected pod {', '.join(v)}" for n, v in per_node.items() if n not in expected
    ]
    why = "; ".join(f"{n} skipped ({r})" for n, r in skipped.items())
    if problems:
        return (
            False,
            f"daemonset-1: {'; '.join(problems)} (schedulable: {', '.join(expected)}{'; ' + why if why else ''})",
        )
    return True, (
        f"1 pod on each of the {len(expected)} schedulable nodes ({', '.join(expected)})"
        + (f"; {why}" if why else "")
    )


def daemonset_hostport(ctx: LabContext) -> tuple[bool, str]:
    from kubetm import nodes
    from kubetm.deploy import http_get

    _ds, pods = _ds_state(ctx, "daemonset-1", ctx.timeout / 2)
    all_nodes = nodes.list_nodes(ctx.kube)
    answers, problems = [], []
    for p in sorted(pods, key=lambda p: p["spec"].get("nodeName") or ""):
        node = p["spec"].get("nodeName")
        endpoint = nodes.host_endpoint_from(all_nodes, node, HOST_PORT)
        url = f"http://{endpoint}/hostname"
        try:
            status, body = http_get(url, timeout=3, total=min(20.0, ctx.timeout / 4))
        except KubetmError as e:
            problems.append(f"{endpoint} ({node}): {e.message}")
            continue
        if status != 200 or body.strip() != _name(p):
            problems.append(
                f"{endpoint} ({node}) answered HTTP {status} {body.strip()[:60]!r}, expected {_name(p)}"
            )
        else:
            answers.append(f"{endpoint} -> {body.strip()} ({node})")
    if problems or not answers:
        return False, "; ".join(problems) or "daemonset-1 has no pod to reach"
    return True, f"{len(answers)}/{len(pods)} nodes answered from their own pod: " + ", ".join(
        answers
    )


def daemonset_node_selector(ctx: LabContext) -> tuple[bool, str]:
    from kubetm import nodes

    kube, ns = ctx.kube, ctx.namespace
    sel = {"type": "ds"}
    target = nodes.course_nodes(kube)["k8s-node1"]
    remove_ds_labels(
        ctx
    )  # start from "no node labelled" (a previous run may have been interrupted)
    kube.watch_until(
        "Pod",
        None,
        lambda ps: not _live(ps),
        selector=sel,
        namespace=ns,
        timeout=ctx.timeout / 4,
        what="daemonset-2 without pods (no node labelled)",
    )
    t0 = time.monotonic()
    try:
        kube.call(
            kube.core.patch_node,
            target,
            {"metadata": {"labels": {DS_LABEL: "true"}}},
            what=f"label node {target} {DS_LABEL}=true",
        )

        def one_there(ps: list[dict]) -> bool:
            live = _live(ps)
            return len(live) == 1 and live[0]["spec"].get("nodeName") == target and _ready(live[0])

        pods = kube.watch_until(
            "Pod",
            None,
            one_there,
            selector=sel,
            namespace=ns,
            timeout=ctx.timeout / 3,
            what=f"one daemonset-2 pod on {target}",
        )
        added = time.monotonic() - t0
        pod = _name(_live(pods)[0])
    finally:
        kube.call(
            kube.core.patch_node,
            target,
            {"metadata": {"labels": {DS_LABEL: None}}},
            what=f"remove label {DS_LABEL} from node {target}",
        )
    t1 = time.monotonic()
    kube.watch_until(
        "Pod",
        None,
        lambda ps: not _live(ps),
        selector=sel,
        namespace=ns,
        timeout=ctx.timeout / 3,
        what=f"daemonset-2's pod removed from {target}",
    )
    return True, (
        f"no pod while no node is labelled; {DS_LABEL}=true on {target} (k8s-node1): pod {pod} Ready there "
        f"after {added:.0f}s; label removed: the DaemonSet deleted it after {time.monotonic() - t1:.0f}s"
    )


# ------------------------------------------------------------------------------------- Job


def job_completions_parallelism(ctx: LabContext) -> tuple[bool, str]:
    from kubetm.k8s import conditions

    kube, ns = ctx.kube, ctx.namespace
    job = kube.watch_until(
        "Job",
        "job-1",
        conditions.job_complete,
        namespace=ns,
        timeout=ctx.timeout,
        what="job-1 Complete",
    )
    spec = job["spec"]
    pods = kube.list("Pod", namespace=ns, selector={"job-name": "job-1"})
    spans, restarts, unfinished = [], 0, []
    for p in pods:
        for cs in (p.get("status") or {}).get("containerStatuses") or []:
            restarts += cs.get("restartCount", 0)
            term = (cs.get("state") or {}).get("terminated") or {}
            start, end = _ts(term.get("startedAt")), _ts(term.get("finishedAt"))
            if start and end and term.get("exitCode") == 0:
                spans.append((start, end))
            else:
                unfinished.append(_name(p))
    succeeded = (job.get("status") or {}).get("succeeded", 0)
    most = max_concurrency(spans)
    first, last = (
        min(s for s, _ in spans) if spans else None,
        max(e for _, e in spans) if spans else None,
    )
    detail = (
        f"job-1 Complete: {succeeded}/{spec.get('completions')} pods succeeded, at most {most} running at once "
        f"(parallelism {spec.get('parallelism')}), {_hms(first)}-{_hms(last)}, restarts {restarts}"
    )
    ok = (
        succeeded == spec.get("completions")
        and len(spans) == succeeded
        and 1 <= most <= spec.get("parallelism", 1)
        and restarts == 0
    )
    if unfinished:
        detail += f"; not Completed: {', '.join(sorted(unfinished))}"
    return ok, detail


def job_active_deadline(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace

    def failed(job: dict | None) -> bool:
        if job is None:
            raise KubetmError("job job-deadline does not exist")
        if _job_condition(job, "Complete"):
            raise KubetmError("job job-deadline completed: its deadline did not stop it")
        return _job_condition(job, "Failed") is not None

    job = kube.watch_until(
        "Job",
        "job-deadline",
        failed,
        namespace=ns,
        timeout=ctx.timeout / 2,
        what="job-deadline Failed",
    )
    cond = _job_condition(job, "Failed") or {}  # failed() held: the condition is there
    start = _ts((job.get("status") or {}).get("startTime"))
    at = _ts(cond.get("lastTransitionTime"))
    pods = kube.watch_until(
        "Pod",
        None,
        lambda ps: all(
            (p.get("status") or {}).get("phase") in ("Failed", "Succeeded")
            or p["metadata"].get("deletionTimestamp")
            for p in ps
        ),
        selector={"job-name": "job-deadline"},
        namespace=ns,
        timeout=ctx.timeout / 2,
        what="job-deadline's pods stopped",
    )
    after = f"{(at - start).total_seconds():.0f}s" if at and start else "?"
    deadline = job["spec"].get("activeDeadlineSeconds")
    ok = cond.get("reason") == "DeadlineExceeded"
    return ok, (
        f"job-deadline Failed, reason {cond.get('reason')} after {after} (activeDeadlineSeconds {deadline}); "
        + (f"{len(pods)} pod(s) stopped, none running" if pods else "its pod was deleted")
    )


# --------------------------------------------------------------------------------- CronJob


def _watch_jobs(ctx: LabContext, pred, what: str, timeout: float) -> list[dict]:
    return ctx.kube.watch_until(
        "Job", None, pred, namespace=ctx.namespace, timeout=timeout, what=what
    )


def cronjob_every_minute(ctx: LabContext) -> tuple[bool, str]:
    def done(jobs: list[dict]) -> bool:
        return any(_job_condition(j, "Complete") for j in _cron_jobs(jobs, "cron-job"))

    jobs = _cron_jobs(
        _watch_jobs(ctx, done, "a Job of cron-job to complete", ctx.timeout), "cron-job"
    )
    complete = [j for j in jobs if _job_condition(j, "Complete")]
    j = complete[0]
    when = scheduled_time(j, "cron-job")
    start, end = _interval(j)
    took = f"{(end - start).total_seconds():.0f}s" if start and end else "?"
    cj = ctx.kube.get("CronJob", "cron-job", namespace=ctx.namespace) or {}
    ok = when is not None and when.second == 0
    return ok, (
        f"cron-job ({cj.get('spec', {}).get('schedule')}) made {len(jobs)} Job(s); {_name(j)} scheduled "
        f"{_hms(when)}, Complete in {took}"
    )


def _manual_job(ctx: LabContext, cj: dict) -> dict:
    """The Job `kubectl create job --from=cronjob/<cj> <cj>-manual-<id>` makes: the CronJob's
    jobTemplate, annotated as instantiated by hand, with the CronJob as its controller owner."""
    ns, cronjob = ctx.namespace, cj["metadata"]["name"]
    template = cj["spec"]["jobTemplate"]
    meta = template.get("metadata") or {}
    name = f"{cronjob}-manual-{int(time.time()) % 100000:05d}"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {**(meta.get("labels") or {}), LAB_KEY: ctx.lab.name},
            "annotations": {**(meta.get("annotations") or {}), MANUAL_ANNOTATION: "manual"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": cronjob,
                    "uid": cj["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": template["spec"],
    }


def cronjob_manual_job(ctx: LabContext) -> tuple[bool, str]:
    """Like `kubectl create job --from=cronjob/cron-job cron-job-manual-<id>`."""
    from kubetm.k8s import conditions

    kube, ns = ctx.kube, ctx.namespace
    cj = kube.get("CronJob", "cron-job", namespace=ns)
    if cj is None:
        return False, "cronjob cron-job does not exist"
    job = _manual_job(ctx, cj)
    name = job["metadata"]["name"]
    kube.apply([job])
    done = kube.watch_until(
        "Job",
        name,
        conditions.job_complete,
        namespace=ns,
        timeout=ctx.timeout,
        what=f"job {name} Complete",
    )
    start, end = _interval(done)
    took = f"{(end - start).total_seconds():.0f}s" if start and end else "?"
    pods = kube.list("Pod", namespace=ns, selector={"job-name": name})
    logs = ""
    if pods:
        logs = " ".join(kube.pod_logs(_name(pods[0]), namespace=ns, tail_lines=1).split())[:80]
    return True, f"job {name} made by hand from cron-job's jobTemplate Complete in {took}" + (
        f" (log: {logs!r})" if logs else ""
    )


def cronjob_delete_deletes_manual_job(ctx: LabContext) -> tuple[bool, str]:
    """steps/cronjob-delete: a Job made by hand from cron-delete goes when cron-delete is deleted."""
    kube, ns = ctx.kube, ctx.namespace
    ctx.apply_step("cronjob-delete")
    cj = kube.watch_until(
        "CronJob", "cron-delete", namespace=ns, timeout=ctx.timeout / 4, what="cronjob cron-delete"
    )
    job = _manual_job(ctx, cj)
    name = job["metadata"]["name"]
    kube.apply([job])
    made = kube.watch_until(
        "Job",
        name,
        lambda j: j is not None and _owned_by(j, "CronJob", "cron-delete"),
        namespace=ns,
        timeout=ctx.timeout / 4,
        what=f"job {name} owned by cron-delete",
    )
    uid = made["metadata"]["uid"]
    start = time.monotonic()
    # `kubectl delete cronjob cron-delete`: background propagation, the garbage collector follows
    kube.delete(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "cron-delete", "namespace": ns},
        },
        wait=True,
        timeout=ctx.timeout / 4,
        propagation="Background",
    )
    kube.watch_until(
        "Job",
        name,
        lambda j: (
            j is None
            or j["metadata"].get("uid") != uid
            or bool(j["metadata"].get("deletionTimestamp"))
        ),
        namespace=ns,
        timeout=ctx.timeout / 3,
        what=f"job {name} deleted with cron-delete",
    )
    took = time.monotonic() - start
    left = kube.get("Job", name, namespace=ns)
    gone = left is None or left["metadata"].get("uid") != uid
    return True, (
        f"job {name} made by hand from cron-delete (ownerReference CronJob/cron-delete); cron-delete "
        f"deleted: the garbage collector "
        + (
            f"deleted the job {took:.0f}s later"
            if gone
            else f"is deleting the job ({took:.0f}s later)"
        )
    )


def _patch_time(cj: dict, manager: str) -> datetime | None:
    times = [
        _ts(m.get("time"))
        for m in cj["metadata"].get("managedFields") or []
        if m.get("manager") == manager
    ]
    found = [t for t in times if t]
    return max(found) if found else None


def cronjob_suspend(ctx: LabContext) -> tuple[bool, str]:
    """suspend: true on cron-job, then watch one schedule tick pass (cron-allow, never suspended, is the clock)."""
    kube, ns = ctx.kube, ctx.namespace
    manager = "kubetm-lab-suspend"
    cj = kube.call(
        kube.batch.patch_namespaced_cron_job,
        "cron-job",
        ns,
        {"spec": {"suspend": True}},
        field_manager=manager,
        what="suspend cronjob cron-job",
    )
    cj = kube.get("CronJob", "cron-job", namespace=ns) or {}
    since = _patch_time(cj, manager)
    if since is None or not cj.get("spec", {}).get("suspend"):
        return False, "cron-job did not take suspend: true"
    ctx.log(f"cron-job suspended at {_hms(since)}; waiting for the next schedule tick")

    def after(jobs: list[dict], cronjob: str) -> list[dict]:
        return [
            j for j in _cron_jobs(jobs, cronjob) if (scheduled_time(j, cronjob) or since) > since
        ]

    def tick_passed(jobs: list[dict]) -> bool:
        bad = after(jobs, "cron-job")
        if bad:
            raise KubetmError(f"cron-job created {_name(bad[0])} after it was suspended")
        return bool(after(jobs, "cron-allow"))

    jobs = _watch_jobs(
        ctx, tick_passed, "the next schedule tick (a new cron-allow Job)", ctx.timeout
    )
    witness = after(jobs, "cron-allow")[0]
    # The controller handles both CronJobs in the same tick; give cron-job a few seconds to (not) show up.
    seen: list[str] = []

    def no_new(jobs: list[dict]) -> bool:
        seen.extend(_name(j) for j in after(jobs, "cron-job"))
        return bool(seen)

    try:
        _watch_jobs(ctx, no_new, "no new cron-job Job", 5)
    except Timeout:
        if seen:
            raise
    if seen:
        return False, f"cron-job created {seen[0]} while suspended"
    return True, (
        f"cron-job suspended at {_hms(since)}: the {_hms(scheduled_time(witness, 'cron-allow'))} tick "
        f"started {_name(witness)} but no cron-job Job (it stays suspended)"
    )


def cronjob_concurrency_allow(ctx: LabContext) -> tuple[bool, str]:
    jobs = _watch_jobs(
        ctx,
        lambda js: overlapping(_cron_jobs(js, "cron-allow")) is not None,
        "two cron-allow Jobs running at once",
        ctx.timeout,
    )
    pair = overlapping(_cron_jobs(jobs, "cron-allow"))
    assert pair is not None  # what the watch above waited for
    a, b = pair
    return True, (
        f"Allow: {_name(b)} started {_hms(_interval(b)[0])} while {_name(a)} "
        f"(started {_hms(_interval(a)[0])}, runs 80 s) was still running"
    )


def _events(ctx: LabContext, involved: str, reason: str, timeout: float) -> list[dict]:
    def found(evs: list[dict]) -> bool:
        return any(_event_match(e, involved, reason) for e in evs)

    evs = ctx.kube.watch_until(
        "Event",
        None,
        found,
        namespace=ctx.namespace,
        timeout=timeout,
        what=f"event {reason} on cronjob {involved}",
    )
    return [e for e in evs if _event_match(e, involved, reason)]


def _event_match(e: dict, involved: str, reason: str) -> bool:
    obj = e.get("involvedObject") or e.get("regarding") or {}
    return (
        obj.get("name") == involved and obj.get("kind") == "CronJob" and e.get("reason") == reason
    )


def cronjob_concurrency_forbid(ctx: LabContext) -> tuple[bool, str]:
    evs = _events(ctx, "cron-forbid", "JobAlreadyActive", ctx.timeout)
    jobs = _cron_jobs(ctx.kube.list("Job", namespace=ctx.namespace), "cron-forbid")
    pair = overlapping(jobs)
    if pair:
        return False, f"Forbid: {_name(pair[0])} and {_name(pair[1])} ran at the same time"
    count = sum(int(e.get("count") or 1) for e in evs)
    return True, (
        f"Forbid: {count} run(s) skipped while a Job was still running (event JobAlreadyActive); "
        f"its {len(jobs)} Job(s) never overlapped: " + ", ".join(_name(j) for j in jobs)
    )


def cronjob_concurrency_replace(ctx: LabContext) -> tuple[bool, str]:
    evs = _events(ctx, "cron-replace", "SuccessfulDelete", ctx.timeout)
    msg = str(evs[-1].get("message") or evs[-1].get("note") or "")
    deleted = msg.split()[-1] if msg else "?"

    def replaced(jobs: list[dict]) -> bool:
        mine = _cron_jobs(jobs, "cron-replace")
        return bool(mine) and not any(_name(j) == deleted for j in _live(mine))

    jobs = _cron_jobs(
        _watch_jobs(ctx, replaced, f"{deleted} gone and a newer cron-replace Job", ctx.timeout / 2),
        "cron-replace",
    )
    old = scheduled_time({"metadata": {"name": deleted}}, "cron-replace")
    newer = [j for j in jobs if old and (scheduled_time(j, "cron-replace") or old) > old]
    if not newer:
        return (
            False,
            f"Replace: {deleted} was deleted but no newer cron-replace Job exists ({', '.join(_name(j) for j in jobs)})",
        )
    n = newer[0]
    return True, (
        f"Replace: at the {_hms(scheduled_time(n, 'cron-replace'))} tick the still-running {deleted} "
        f"was deleted ({msg!r}) and {_name(n)} started"
    )


LAB = Lab(
    name="daemonset-job-cronjob",
    part="초급",
    page="k8s/04-beginner-controller/daemonset",
    title="데몬셋, 잡, 크론잡 — DaemonSet, Job, CronJob",
    lesson="DaemonSet: one pod per node; Job: pods that finish; CronJob: Jobs on a schedule with a concurrency policy",
    shares=(NODES, f"hostport:{HOST_PORT}"),
    shares_reason=(
        "a check labels k8s-node1 kubetm.io/ds=true and counts daemonset-1's pods against the nodes' "
        "taints (a lab that taints or labels nodes would change both); daemonset-1 holds hostPort "
        "18080 on every worker"
    ),
    cleanup=remove_ds_labels,
    checks=(
        Check(
            "daemonset-one-per-node",
            daemonset_one_per_node,
            "daemonset-1 runs exactly one pod on each schedulable node (taints it tolerates; not the control plane)",
            timeout=90,
        ),
        Check(
            "daemonset-hostport",
            daemonset_hostport,
            "every node with a pod answers on hostPort 18080 (from the host: nodes.host_endpoint) from its own pod",
            timeout=90,
        ),
        Check(
            "daemonset-node-selector",
            daemonset_node_selector,
            "daemonset-2 has no pod until k8s-node1 gets kubetm.io/ds=true, then exactly one there; removing the label removes it",
            timeout=120,
        ),
        Check(
            "job-completions-parallelism",
            job_completions_parallelism,
            "job-1 completes 6 pods, never more than 2 running at once (container start/finish times); none restarted",
            timeout=120,
        ),
        Check(
            "job-active-deadline",
            job_active_deadline,
            "job-deadline fails with reason DeadlineExceeded after 15 s and its pod is stopped",
            timeout=90,
        ),
        Check(
            "cronjob-every-minute",
            cronjob_every_minute,
            "cron-job creates a Job on the minute and it completes",
            timeout=150,
        ),
        Check(
            "cronjob-manual-job",
            cronjob_manual_job,
            "a Job made by hand from cron-job (kubectl create job --from=cronjob/cron-job) runs to completion",
            timeout=60,
        ),
        Check(
            "cronjob-delete-deletes-manual-job",
            cronjob_delete_deletes_manual_job,
            "steps/cronjob-delete: a Job made by hand from cron-delete (ownerReference to it) is deleted "
            "with cron-delete",
            timeout=90,
        ),
        Check(
            "cronjob-suspend",
            cronjob_suspend,
            "with suspend: true cron-job starts no Job at the next tick (cron-allow's new Job shows the tick passed)",
            timeout=150,
        ),
        Check(
            "cronjob-concurrency-allow",
            cronjob_concurrency_allow,
            "cron-allow runs two Jobs at once when the 80 s run overlaps the next minute",
            timeout=180,
        ),
        Check(
            "cronjob-concurrency-forbid",
            cronjob_concurrency_forbid,
            "cron-forbid skips the overlapping run (event JobAlreadyActive): its Jobs never overlap",
            timeout=180,
        ),
        Check(
            "cronjob-concurrency-replace",
            cronjob_concurrency_replace,
            "cron-replace deletes the still-running Job (event SuccessfulDelete) and starts the new one",
            timeout=180,
        ),
    ),
)
