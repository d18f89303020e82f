"""Lab `helm-hooks` — Helm 주제별 정리 (helm/04-topic): hooks, hook weights, `helm test`, crds/.

charts/hookchart (pushed to ``oci://<registry>/charts``, installed from there). Each hook is a Job
whose container writes the time it ran (``date +%s.%N``) as its termination message, so the order
of hooks is read from the pods themselves, to the nanosecond (all nodes share one clock on kind).

* pre-install hooks run lowest ``helm.sh/hook-weight`` first; the page's ``helm.sh/weight`` is not
  read by Helm: those hooks keep weight 0 and run in name order;
* pre-upgrade finishes before the release's objects change, post-upgrade starts after (the
  ConfigMap's managedFields time, written by helm, lies between them);
* ``helm test`` runs the chart's test pod against the app and passes;
* ``crds/`` is applied by ``helm install`` only: an upgrade to a chart version whose crds/ holds a
  new CRD does not create it (and ``helm uninstall`` never deletes CRDs; the lab's cleanup does).

Not covered — helm/03-chart-analysis (tomcat, prometheus, grafana): those pages walk through
third-party charts and run their images. Neither the charts nor their images come from a
registry this machine can reach, and the page itself was not reachable, so a Tomcat image built
from Debian's tomcat10 package (10.1 in bookworm) could not be fitted to the page's chart;
Debian packages prometheus (2.42) but not grafana. `lab show helm-hooks` says so.

Reconstructed from the issue (the course page was not reachable).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kubetm.errors import KubetmError
from kubetm.labs.base import Check, Lab
from kubetm.labs.helmkit import chart_sets, cleanup_releases, helm, helm_json, push_chart
from kubetm.labs.observe import wait_endpoints

LAB_NAME = "helm-hooks"
RELEASE = "hooks"
VERSION = "0.1.0"
NEXT_VERSION = "0.2.0"
CRD = "crontabs.helm.kubetm.io"
NEW_CRD = "widgets.helm.kubetm.io"
HOOK_LABEL = "hookchart.kubetm.io/hook"


def _install(ctx) -> None:
    if any(r.get("name") == RELEASE for r in helm_json(ctx, ["list", "--all"]) or []):
        return
    ref = push_chart(ctx, "hookchart")
    helm(
        ctx,
        [
            "install",
            RELEASE,
            ref,
            "--version",
            VERSION,
            "--plain-http",
            *chart_sets(ctx, "hookchart"),
        ],
        timeout=ctx.timeout,
    )


def _stamps(ctx) -> dict[str, float]:
    """{hook job name: the time its container ran (from its termination message)}."""
    out: dict[str, float] = {}
    for pod in ctx.kube.list("Pod", namespace=ctx.namespace):
        job = ((pod.get("metadata") or {}).get("labels") or {}).get(HOOK_LABEL)
        if not job:
            continue
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            msg = ((cs.get("state") or {}).get("terminated") or {}).get("message", "").strip()
            try:
                out[job] = float(msg)
            except ValueError:
                continue
    return out


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]


def crds_on_install(ctx) -> tuple[bool, str]:
    """helm install applies crds/ first: the CRD exists and is Established."""
    from kubetm.k8s import conditions

    _install(ctx)
    crd = ctx.kube.watch_until(
        "CustomResourceDefinition",
        CRD,
        conditions.crd_established,
        api_version="apiextensions.k8s.io/v1",
        timeout=ctx.timeout,
        what=f"crd {CRD} Established",
    )
    managed = ((crd.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/managed-by")
    return (
        True,
        f"crd {CRD} Established after helm install (crds/ is not templated; labels as written: managed-by={managed})",
    )


def hook_weight_order(ctx) -> tuple[bool, str]:
    """pre-install Jobs ran by helm.sh/hook-weight; helm.sh/weight is ignored (name order at weight 0)."""
    import yaml

    _install(ctx)
    from kubetm.labs.helmkit import chart_dir

    values = yaml.safe_load((chart_dir("hookchart") / "values.yaml").read_text(encoding="utf-8"))
    hooks = [(int(h["weight"]), h["name"]) for h in values["weighted"]] + [
        (0, h["name"]) for h in values["misspelled"]
    ]
    expected = [name for _, name in sorted(hooks)]
    stamps = _stamps(ctx)
    missing = [n for n in expected if n not in stamps]
    if missing:
        return False, f"no run time from hook job(s) {', '.join(missing)}"
    ran = sorted(expected, key=lambda n: stamps[n])
    if_honoured = [h["name"] for h in sorted(values["misspelled"], key=lambda h: int(h["weight"]))]
    typo_ran = [n for n in ran if n in if_honoured]
    ok = ran == expected and typo_ran != if_honoured
    weights = {h["name"]: f"hook-weight {h['weight']}" for h in values["weighted"]}
    weights.update({h["name"]: f"weight {h['weight']}, ignored" for h in values["misspelled"]})
    return ok, (
        f"ran {' -> '.join(f'{n} ({weights[n]})' for n in ran)}; "
        f"typo-* carry helm.sh/weight, which Helm ignores: they ran at weight 0 in name order "
        f"{' -> '.join(typo_ran)}, not {' -> '.join(if_honoured)}"
    )


def helm_test(ctx) -> tuple[bool, str]:
    """helm test runs the chart's test pod against the app's Service; it passes."""
    from kubetm.k8s import conditions

    _install(ctx)
    ctx.kube.watch_until(
        "Deployment",
        f"{RELEASE}-app",
        conditions.deployment_available,
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"deployment {RELEASE}-app available",
    )
    wait_endpoints(
        ctx, f"{RELEASE}-app", lambda pods: len(pods) >= 1
    )  # the Service routes to the app
    out = helm(ctx, ["test", RELEASE, "--timeout", f"{int(ctx.timeout)}s"])
    phase = ""
    for line in out.splitlines():
        if line.strip().startswith("Phase:"):
            phase = line.split(":", 1)[1].strip()
    pod = ctx.kube.get("Pod", f"{RELEASE}-test", namespace=ctx.namespace) or {}
    pod_phase = (pod.get("status") or {}).get("phase")
    ok = phase == "Succeeded" and pod_phase == "Succeeded"
    return (
        ok,
        f"helm test {RELEASE}: test suite {RELEASE}-test phase {phase or '?'}; the pod is {pod_phase}",
    )


def _helm_updated(cm: dict) -> datetime | None:
    """When helm last wrote the object (its managedFields entry, second resolution)."""
    times = [
        f.get("time")
        for f in (cm.get("metadata") or {}).get("managedFields") or []
        if str(f.get("manager", "")).startswith("helm") and f.get("time")
    ]
    if not times:
        return None
    return max(datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times)


def pre_post_upgrade(ctx) -> tuple[bool, str]:
    """pre-upgrade ran before the ConfigMap changed, post-upgrade after."""
    _install(ctx)
    ref = push_chart(ctx, "hookchart")
    message = f"upgraded-{int(datetime.now().timestamp())}"
    helm(
        ctx,
        [
            "upgrade",
            RELEASE,
            ref,
            "--version",
            VERSION,
            "--plain-http",
            "--reuse-values",
            "--set",
            f"message={message}",
            *chart_sets(ctx, "hookchart"),
        ],
        timeout=ctx.timeout,
    )
    cm = ctx.kube.get("ConfigMap", f"{RELEASE}-config", namespace=ctx.namespace) or {}
    stamps = _stamps(ctx)
    pre, post = stamps.get("pre-upgrade"), stamps.get("post-upgrade")
    changed = _helm_updated(cm)
    if pre is None or post is None or changed is None:
        return (
            False,
            f"missing evidence: pre-upgrade {pre}, post-upgrade {post}, configmap written by helm at {changed}",
        )
    t = changed.timestamp()  # truncated to the second: the write happened in [t, t+1)
    ok = (
        (cm.get("data") or {}).get("message") == message
        and pre < post
        and pre < t + 1
        and post >= t
    )
    return ok, (
        f"pre-upgrade ran {_clock(pre)}, configmap {RELEASE}-config updated by helm at {_clock(t)} "
        f"(second resolution), post-upgrade ran {_clock(post)}"
    )


def crds_not_on_upgrade(ctx) -> tuple[bool, str]:
    """Upgrading to a chart version whose crds/ holds a new CRD does not create it."""
    _install(ctx)

    def add_crd(d: Path) -> None:
        text = (d / "crds" / "crontabs.yaml").read_text(encoding="utf-8")
        new = (
            text.replace("crontabs.helm.kubetm.io", NEW_CRD)
            .replace("CronTab", "Widget")
            .replace("crontabs", "widgets")
            .replace("crontab", "widget")
        )
        (d / "crds" / "widgets.yaml").write_text(new, encoding="utf-8")

    ref = push_chart(ctx, "hookchart", version=NEXT_VERSION, edit=add_crd)
    helm(
        ctx,
        [
            "upgrade",
            RELEASE,
            ref,
            "--version",
            NEXT_VERSION,
            "--plain-http",
            "--reuse-values",
            *chart_sets(ctx, "hookchart"),
        ],
        timeout=ctx.timeout,
    )
    listed = {r.get("name"): r for r in helm_json(ctx, ["list", "--all"]) or []}
    chart = str((listed.get(RELEASE) or {}).get("chart", "")).removeprefix(
        "hookchart-"
    )  # "hookchart-0.2.0"
    new = ctx.kube.get("CustomResourceDefinition", NEW_CRD, api_version="apiextensions.k8s.io/v1")
    old = ctx.kube.get("CustomResourceDefinition", CRD, api_version="apiextensions.k8s.io/v1")
    ok = chart == NEXT_VERSION and new is None and old is not None
    return ok, (
        f"upgraded to hookchart {chart} whose crds/ adds {NEW_CRD}: "
        f"{'not created (crds/ is applied on install only)' if new is None else 'CREATED'}; "
        f"{CRD} {'still there' if old else 'GONE'}"
    )


def cleanup(ctx) -> None:
    try:
        cleanup_releases(ctx, crds=(CRD, NEW_CRD))
    except KubetmError:
        # the CRDs must go even when an uninstall failed
        ctx.kube.delete(
            [
                {
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": n},
                }
                for n in (CRD, NEW_CRD)
            ],
            wait=True,
            timeout=ctx.timeout,
        )
        raise


LAB = Lab(
    name=LAB_NAME,
    part="Helm",
    page="helm/04-topic/topic1",
    title="Helm 주제별 정리 — hooks, hook weights, helm test, crds/",
    lesson=(
        "helm/04-topic: hooks around install/upgrade and their weights, helm test, crds/ on install only. "
        "Not covered: helm/03-chart-analysis (tomcat, prometheus, grafana) reads third-party charts and images "
        "that no reachable registry serves, and its page could not be read to fit a Debian-built Tomcat image "
        "to its chart (reconstructed: the course pages were not reachable)"
    ),
    cleanup=cleanup,
    shares=(f"object:CustomResourceDefinition/{CRD}", f"object:CustomResourceDefinition/{NEW_CRD}"),
    shares_reason="crds/ installs cluster-scoped CustomResourceDefinitions (and the upgrade check a second one)",
    checks=(
        Check(
            "crds-on-install",
            crds_on_install,
            "helm install applies the chart's crds/ first",
            timeout=180,
        ),
        Check(
            "hook-weight-order",
            hook_weight_order,
            "pre-install hooks run by helm.sh/hook-weight; helm.sh/weight is ignored",
            timeout=60,
        ),
        Check(
            "helm-test",
            helm_test,
            "helm test runs the test pod against the app and passes",
            timeout=120,
        ),
        Check(
            "pre-post-upgrade",
            pre_post_upgrade,
            "pre-upgrade runs before the objects change, post-upgrade after",
            timeout=120,
        ),
        Check(
            "crds-not-on-upgrade",
            crds_not_on_upgrade,
            "an upgrade does not apply a new CRD from crds/",
            timeout=120,
        ),
    ),
)

__all__ = ["LAB"]
