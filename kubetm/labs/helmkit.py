"""What the helm-* labs share: the course charts (charts/), pushing them to the local registry as
OCI artifacts, calling helm against the lab's cluster, reading releases, and the cleanup hook.

Helm runs as its CLI through kubetm/host/helm.py; everything else (objects, Secrets, waits) goes
through ``ctx.kube``. Charts are installed from ``oci://<registry>/charts/<chart>`` with
``--version``, as a student installs from a repository; helm talks plain HTTP to the local registry
(``--plain-http``).

Example:
    ref = push_chart(ctx, "mychart")                 # oci://localhost:5001/charts/mychart
    helm(ctx, ["install", "web", ref, "--version", "0.1.0", *chart_sets(ctx, "mychart")])
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from kubetm.errors import KubetmError

__all__ = [
    "chart_dir",
    "chart_root",
    "chart_sets",
    "cleanup_releases",
    "fresh",
    "helm",
    "helm_json",
    "oci_repo",
    "push_chart",
    "release_secrets",
    "releases",
    "stored_releases",
]

RELEASE_SECRET_TYPE = "helm.sh/release.v1"
_push_lock = threading.Lock()


def chart_root() -> Path:
    """kubetm's charts/ folder (the checkout's, the wheel's copy, or $KUBETM_CHARTS_DIR)."""
    from kubetm.resources import data_dir

    return data_dir("charts")


def chart_dir(name: str) -> Path:
    """``charts/<name>``; a chart that is not there is one line."""
    root = chart_root()
    path = root / name
    if not (path / "Chart.yaml").is_file():
        raise KubetmError(
            f"chart {name} not found in {root}",
            hint="reinstall kubetm, or set KUBETM_CHARTS_DIR to a kubetm checkout's charts/ folder",
        )
    return path


def registry_host(ctx) -> str:
    from kubetm.manifests import DEFAULT_REGISTRY

    return ctx.registry or DEFAULT_REGISTRY


def oci_repo(ctx) -> str:
    """Where the course charts are pushed: ``oci://<registry>/charts``."""
    return f"oci://{registry_host(ctx)}/charts"


def helm(
    ctx, args: Sequence[str], namespace: str | None = None, timeout: float | None = None
) -> str:
    """``helm <args>`` against the lab's cluster (the Kube's kubeconfig and context), in ``namespace``
    (default: the lab's). Raises CommandFailed with Helm's error as one line."""
    from kubetm.host.helm import helm as run_helm

    ctx.check_cancelled()
    context, kubeconfig = _target(ctx.kube)
    return run_helm(
        list(args),
        kube_context=context,
        kubeconfig=kubeconfig,
        namespace=namespace or ctx.namespace,
        timeout=timeout or max(ctx.timeout, 60),
    )


def _target(kube) -> tuple[str, str | None]:
    """The kubeconfig context (and file) the Kube handle talks to, so helm acts on the same cluster.

    Loading the Kube's configuration settles its context; a handle without one (an in-memory fake)
    gets a refusal, never helm's own default context."""
    if hasattr(type(kube), "api_client"):
        kube.api_client  # noqa: B018 - loads the kubeconfig, which sets kube.context
    context = getattr(kube, "context", None)
    if not context:
        raise KubetmError(
            "helm needs the kubeconfig context of the cluster the lab runs on, and there is none",
            hint="pass --context",
        )
    return context, getattr(kube, "kubeconfig", None)


def helm_json(ctx, args: Sequence[str], namespace: str | None = None):
    import json

    out = helm(ctx, [*args, "-o", "json"], namespace=namespace)
    try:
        return json.loads(out or "null")
    except ValueError as e:
        raise KubetmError(f"helm {args[0]}: output is not JSON: {out[:80]!r}") from e


def chart_sets(ctx, chart: str) -> list[str]:
    """``--set`` flags every install/upgrade of a course chart gets: the lab label on every object
    (so `lab delete` finds cluster-scoped ones) and the cluster's registry for the images."""
    sets = ["--set", f"commonLabels.kubetm\\.io/lab={ctx.lab.name}"]
    host = registry_host(ctx)
    from kubetm.manifests import DEFAULT_REGISTRY

    if host != DEFAULT_REGISTRY:
        if chart == "mychart":
            sets += ["--set", f"image.repository={host}/kubetm/app"]
        else:
            sets += ["--set", f"image.registry={host}"]
    return sets


def package(ctx, src: Path, dest: str, version: str | None = None) -> Path:
    """``helm package`` into ``dest``; returns the .tgz."""
    args = ["package", str(src), "--destination", dest]
    if version:
        args += ["--version", version]
    out = helm(ctx, args, namespace=None)
    # "Successfully packaged chart and saved it to: /tmp/x/mychart-0.1.0.tgz"
    path = Path(out.strip().rsplit(": ", 1)[-1])
    if not path.is_file():
        raise KubetmError(f"helm package did not leave a chart archive ({out.strip()[:80]!r})")
    return path


def push_chart(
    ctx, name: str, version: str | None = None, edit: Callable[[Path], None] | None = None
) -> str:
    """Package ``charts/<name>`` (optionally a copy changed by ``edit(dir)`` and/or a new version),
    push it to ``oci://<registry>/charts``; returns the chart reference ``oci://.../<name>``.

    Pushed once per lab run and version (the result is kept in ``ctx.state``)."""
    key = f"pushed:{name}:{version or ''}:{bool(edit)}"
    if key in ctx.state:
        return ctx.state[key]
    with tempfile.TemporaryDirectory(prefix="kubetm-helm-") as tmp:
        src = chart_dir(name)
        if edit is not None:
            copy = Path(tmp) / "src" / name
            shutil.copytree(src, copy)
            edit(copy)
            src = copy
        archive = package(ctx, src, tmp, version)
        with _push_lock:
            helm(ctx, ["push", str(archive), oci_repo(ctx), "--plain-http"], namespace=None)
    ref = f"{oci_repo(ctx)}/{name}"
    ctx.state[key] = ref
    return ref


def releases(ctx, namespace: str | None = None) -> list[dict]:
    """``helm list --all`` in a namespace: [{name, revision, status, chart, ...}]."""
    return helm_json(ctx, ["list", "--all"], namespace=namespace) or []


def release_secrets(ctx, release: str, namespace: str | None = None) -> list[str]:
    """Names of the Secrets Helm stores ``release``'s revisions in (``sh.helm.release.v1.<name>.vN``),
    oldest revision first."""
    items = ctx.kube.list(
        "Secret", namespace=namespace or ctx.namespace, selector={"owner": "helm", "name": release}
    )
    found = [s for s in items if s.get("type") == RELEASE_SECRET_TYPE]
    return [
        s["metadata"]["name"]
        for s in sorted(
            found, key=lambda s: int((s["metadata"].get("labels") or {}).get("version", "0"))
        )
    ]


def stored_releases(ctx, namespace: str) -> list[str]:
    """Release names that have revision Secrets in ``namespace`` (any status, pending ones too),
    read through the Kubernetes API: no helm call when there is nothing to uninstall."""
    names = {
        (s["metadata"].get("labels") or {}).get("name")
        for s in ctx.kube.list("Secret", namespace=namespace, selector={"owner": "helm"})
        if s.get("type") == RELEASE_SECRET_TYPE
    }
    return sorted(n for n in names if n)


def fresh(ctx, release: str, namespace: str | None = None) -> None:
    """Uninstall ``release`` when an earlier verify left it, so a check starts from revision 1."""
    if release in stored_releases(ctx, namespace or ctx.namespace):
        helm(ctx, ["uninstall", release, "--wait"], namespace=namespace)


def cleanup_releases(ctx, namespaces: Sequence[str] = (), crds: Sequence[str] = ()) -> None:
    """The labs' cleanup hook: uninstall every release in the lab's namespaces (so cluster-scoped
    objects such as PVs go), mark namespaces Helm created (``--create-namespace``) as the lab's so
    `lab delete` removes them, and delete the CRDs a chart's crds/ installed (Helm never does)."""
    problems: list[str] = []
    for ns in (*ctx.lab.namespaces, *namespaces):
        obj = ctx.kube.get("Namespace", ns)
        if obj is None:
            continue
        for rel in stored_releases(ctx, ns):
            try:
                helm(ctx, ["uninstall", rel], namespace=ns)
            except KubetmError as e:
                problems.append(str(e))
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get("kubetm.io/lab") != ctx.lab.name:
            ctx.kube.apply(
                [
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {
                            "name": ns,
                            "labels": {
                                "kubetm.io/lab": ctx.lab.name,
                                "app.kubernetes.io/managed-by": "kubetm",
                            },
                        },
                    }
                ]
            )
    if crds:
        ctx.kube.delete(
            [
                {
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": n},
                }
                for n in crds
            ],
            wait=True,
            timeout=ctx.timeout,
        )
    if problems:
        raise KubetmError("; ".join(problems))
