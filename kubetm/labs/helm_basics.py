"""Lab `helm-basics` — Helm 초급 (helm/01-beginner): install, upgrade, rollback, uninstall.

The course chart charts/mychart is packaged and pushed to the local registry as an OCI artifact
(``oci://localhost:5001/charts/mychart``, version 0.1.0) and every install comes from there.
Checks read what Helm did on the live cluster: the ConfigMap ``<release>-mychart-release`` renders
``.Release.Revision`` / ``.Release.IsInstall`` / ``.Release.IsUpgrade``; the release's revisions are
Secrets ``sh.helm.release.v1.<name>.vN`` (type helm.sh/release.v1, labels owner=helm).

Deviations: the page's namespace ``nm-1`` is ``kubetm-lab-helm-basics-nm-1`` (labs live in
kubetm-lab-* namespaces); the chart is reconstructed (the page was not reachable from here).
"""

from __future__ import annotations

from kubetm.errors import CommandFailed, KubetmError
from kubetm.labs.base import NAMESPACE_PREFIX, Check, Lab
from kubetm.labs.helmkit import (
    chart_sets,
    cleanup_releases,
    fresh,
    helm,
    helm_json,
    push_chart,
    release_secrets,
    stored_releases,
)

LAB_NAME = "helm-basics"
NS = NAMESPACE_PREFIX + LAB_NAME
NM1 = NS + "-nm-1"
RELEASE = "basics"
VERSION = "0.1.0"
HISTORY_MAX = "2"


def _ref(ctx) -> str:
    return push_chart(ctx, "mychart")


def _release_info(ctx, release: str = RELEASE, namespace: str | None = None) -> dict[str, str]:
    cm = ctx.kube.get(
        "ConfigMap", f"{release}-mychart-release", namespace=namespace or ctx.namespace
    )
    if cm is None:
        raise KubetmError(
            f"configmap {release}-mychart-release not found in {namespace or ctx.namespace}"
        )
    return dict(cm.get("data") or {})


def _shown(info: dict[str, str]) -> str:
    return (
        f"Revision={info.get('releaseRevision')} IsInstall={info.get('releaseIsInstall')} "
        f"IsUpgrade={info.get('releaseIsUpgrade')}"
    )


def _status(ctx, release: str = RELEASE, namespace: str | None = None) -> dict:
    st = helm_json(ctx, ["status", release], namespace=namespace) or {}
    return {"revision": st.get("version"), "status": (st.get("info") or {}).get("status")}


def install_from_oci(ctx) -> tuple[bool, str]:
    """helm install from oci://.../charts/mychart --version 0.1.0: revision 1, IsInstall true."""
    ref = _ref(ctx)
    fresh(ctx, RELEASE)
    helm(
        ctx,
        [
            "install",
            RELEASE,
            ref,
            "--version",
            VERSION,
            "--plain-http",
            *chart_sets(ctx, "mychart"),
        ],
    )
    st = _status(ctx)
    info = _release_info(ctx)
    secrets = release_secrets(ctx, RELEASE)
    ok = (
        st == {"revision": 1, "status": "deployed"}
        and info.get("releaseRevision") == "1"
        and info.get("releaseIsInstall") == "true"
        and info.get("releaseIsUpgrade") == "false"
        and secrets == [f"sh.helm.release.v1.{RELEASE}.v1"]
    )
    return ok, (
        f"installed {ref}:{VERSION} as {RELEASE}: helm status revision {st['revision']} {st['status']}; "
        f"configmap shows {_shown(info)}; release stored as secret {', '.join(secrets) or '<none>'}"
    )


def upgrade_revisions(ctx) -> tuple[bool, str]:
    """Two upgrades (--history-max 2): revision 3, IsUpgrade true; only the last two Secrets stay."""
    ref = _ref(ctx)
    seen = []
    for n, message in ((2, "upgrade-1"), (3, "upgrade-2")):
        helm(
            ctx,
            [
                "upgrade",
                RELEASE,
                ref,
                "--version",
                VERSION,
                "--plain-http",
                "--history-max",
                HISTORY_MAX,
                "--set",
                f"configmap.data.MESSAGE={message}",
                *chart_sets(ctx, "mychart"),
            ],
        )
        info = _release_info(ctx)
        seen.append((n, info))
    secrets = release_secrets(ctx, RELEASE)
    want_secrets = [f"sh.helm.release.v1.{RELEASE}.v2", f"sh.helm.release.v1.{RELEASE}.v3"]
    ok = (
        all(
            info.get("releaseRevision") == str(n)
            and info.get("releaseIsUpgrade") == "true"
            and info.get("releaseIsInstall") == "false"
            for n, info in seen
        )
        and secrets == want_secrets
    )
    shown = "; ".join(f"after upgrade {i + 1}: {_shown(info)}" for i, (_, info) in enumerate(seen))
    return ok, (
        f"{shown}; --history-max {HISTORY_MAX} kept secrets {', '.join(secrets) or '<none>'}"
        + ("" if secrets == want_secrets else f" (expected {', '.join(want_secrets)})")
    )


def rollback(ctx) -> tuple[bool, str]:
    """helm rollback basics 2: a new revision 4 whose objects are revision 2's (the configmap says 2)."""
    helm(ctx, ["rollback", RELEASE, "2", "--history-max", HISTORY_MAX])
    st = _status(ctx)
    info = _release_info(ctx)
    cm = ctx.kube.get("ConfigMap", f"{RELEASE}-mychart", namespace=ctx.namespace) or {}
    message = (cm.get("data") or {}).get("MESSAGE")
    history = helm_json(ctx, ["history", RELEASE]) or []
    last = history[-1] if history else {}
    secrets = release_secrets(ctx, RELEASE)
    ok = (
        st["revision"] == 4
        and st["status"] == "deployed"
        and info.get("releaseRevision") == "2"
        and message == "upgrade-1"
        and "Rollback to 2" in str(last.get("description"))
        and secrets == [f"sh.helm.release.v1.{RELEASE}.v3", f"sh.helm.release.v1.{RELEASE}.v4"]
    )
    return ok, (
        f"helm status revision {st['revision']} {st['status']} ({last.get('description')!r}); the objects "
        f"are revision 2's: configmap {_shown(info)}, MESSAGE={message!r}; secrets {', '.join(secrets)}"
    )


def _remove_nm1(ctx) -> None:
    """A namespace nm-1 from an earlier verify goes first (the check needs it absent); one that is
    not the lab's is never touched."""
    ns = ctx.kube.get("Namespace", NM1)
    if ns is None:
        return
    if ((ns.get("metadata") or {}).get("labels") or {}).get("kubetm.io/lab") != LAB_NAME:
        raise KubetmError(
            f"namespace {NM1} exists and is not the lab's",
            hint="delete it yourself if it is a leftover",
        )
    for rel in stored_releases(ctx, NM1):
        helm(ctx, ["uninstall", rel], namespace=NM1)
    ctx.kube.delete(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NM1}}],
        wait=True,
        timeout=ctx.timeout,
    )


def namespace_required(ctx) -> tuple[bool, str]:
    """install -n nm-1 fails while the namespace is missing; --create-namespace creates it."""
    ref = _ref(ctx)
    _remove_nm1(ctx)
    args = [
        "install",
        "nm1",
        ref,
        "--version",
        VERSION,
        "--plain-http",
        *chart_sets(ctx, "mychart"),
    ]
    try:
        helm(ctx, args, namespace=NM1)
        return False, f"helm install -n {NM1} succeeded although the namespace did not exist"
    except CommandFailed as e:
        refused = str(e)
    left = ctx.kube.get("Namespace", NM1)
    helm(ctx, [*args, "--create-namespace"], namespace=NM1)
    ns = ctx.kube.get("Namespace", NM1)
    if ns is not None:  # the lab's from now on: `lab delete` removes it even if cleanup cannot run
        ctx.kube.apply(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": NM1, "labels": {"kubetm.io/lab": LAB_NAME}},
                }
            ]
        )
    st = _status(ctx, "nm1", namespace=NM1)
    ok = "not found" in refused and left is None and ns is not None and st["status"] == "deployed"
    return ok, (
        f"without the namespace: {refused}; with --create-namespace: namespace {NM1} "
        f"{'created' if ns else 'MISSING'}, release nm1 revision {st['revision']} {st['status']}"
    )


def uninstall_keeps_namespace(ctx) -> tuple[bool, str]:
    """helm uninstall removes the release's objects and Secrets; the namespace stays."""
    if not any(
        r.get("name") == "nm1" for r in helm_json(ctx, ["list", "--all"], namespace=NM1) or []
    ):
        return False, f"release nm1 is not installed in {NM1} (the previous check failed)"
    out = helm(ctx, ["uninstall", "nm1"], namespace=NM1).strip()
    secrets = release_secrets(ctx, "nm1", namespace=NM1)
    leftovers = [
        o["metadata"]["name"]
        for kind in ("Deployment", "ConfigMap", "Service")
        for o in ctx.kube.list(kind, namespace=NM1, selector={"app.kubernetes.io/instance": "nm1"})
    ]
    ns = ctx.kube.get("Namespace", NM1)
    phase = ((ns or {}).get("status") or {}).get("phase")
    ok = not secrets and not leftovers and phase == "Active"
    return ok, (
        f"{out}; release secrets left: {len(secrets)}; objects left: {', '.join(leftovers) or 'none'}; "
        f"namespace {NM1} {phase or 'GONE'} (helm never deletes a namespace)"
    )


def missing_version(ctx) -> tuple[bool, str]:
    """Bad input: a chart version the registry does not have is one line of error, nothing installed."""
    ref = _ref(ctx)
    try:
        helm(
            ctx,
            [
                "install",
                "missing",
                ref,
                "--version",
                "9.9.9",
                "--plain-http",
                *chart_sets(ctx, "mychart"),
            ],
        )
        return False, "helm install --version 9.9.9 succeeded"
    except CommandFailed as e:
        error = str(e)
    secrets = release_secrets(ctx, "missing")
    ok = "\n" not in error and "9.9.9" in error and not secrets
    return ok, f"{error} (one line); release secrets for 'missing': {len(secrets)}"


def cleanup(ctx) -> None:
    cleanup_releases(ctx)


LAB = Lab(
    name=LAB_NAME,
    part="Helm",
    page="helm/04-topic/tip",
    title="Helm 초급 — install, upgrade, rollback, uninstall",
    lesson=(
        "helm/01-beginner: a chart from an OCI registry, releases and revisions (.Release.Revision, IsUpgrade), "
        "release Secrets and --history-max, namespaces (reconstructed: the course page was not reachable)"
    ),
    namespaces=(NS, NM1),
    cleanup=cleanup,
    checks=(
        Check(
            "install-from-oci",
            install_from_oci,
            "mychart pushed to oci://<registry>/charts and installed from there: revision 1, IsInstall",
            timeout=120,
        ),
        Check(
            "upgrade-revisions",
            upgrade_revisions,
            "two upgrades: .Release.Revision 2 then 3 and IsUpgrade; --history-max 2 keeps two release Secrets",
            timeout=120,
        ),
        Check(
            "rollback",
            rollback,
            "rollback to 2 makes revision 4 holding revision 2's objects",
            timeout=90,
        ),
        Check(
            "namespace-required",
            namespace_required,
            "install -n nm-1 fails without the namespace; --create-namespace creates it",
            timeout=120,
        ),
        Check(
            "uninstall-keeps-namespace",
            uninstall_keeps_namespace,
            "uninstall removes the release's objects and Secrets but not the namespace",
            timeout=90,
        ),
        Check(
            "missing-chart-version",
            missing_version,
            "a chart version the registry does not have: one line of error, nothing installed",
            timeout=60,
        ),
    ),
)

__all__ = ["LAB"]
