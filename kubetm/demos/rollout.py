"""`kubetm rollout status|history|undo`: kubectl's rollout semantics, through the API (kubetm.k8s).

- Revisions are the ReplicaSets a Deployment controls (ownerReference controller + uid), numbered
  by their ``deployment.kubernetes.io/revision`` annotation (missing -> 0, unparsable -> skipped,
  as kubectl does); CHANGE-CAUSE is the ReplicaSet's ``kubernetes.io/change-cause`` annotation.
  The Deployment controller deletes ReplicaSets beyond ``spec.revisionHistoryLimit``, so the
  history shows exactly what the controller kept.
- undo picks the ReplicaSet of the revision before the newest one (or ``--to-revision N``) and,
  like ``kubectl rollout undo``, sends one JSON patch: ``spec.template`` := the ReplicaSet's pod
  template without its ``pod-template-hash`` label, ``metadata.annotations`` := the Deployment's
  bookkeeping annotations + the ReplicaSet's other annotations (so the change-cause comes back).
  When the template already matches, nothing is sent ("skipped rollback").

The pure functions (`history_from`, `find_revision`, `undo_patch`, `rollout_state`) take plain
dicts and are unit tested; `status`, `history`, `undo` are the CLI's entry points.

    rows = history(kube, "app")            # [{"revision": 1, "change_cause": ..., ...}, ...]
    undo(kube, "app", to_revision=1)       # {"result": "rolled back", "to_revision": 1, ...}
"""

from __future__ import annotations

import copy
import time

from kubetm.errors import KubetmError

__all__ = [
    "REVISION",
    "CHANGE_CAUSE",
    "HASH_LABEL",
    "deployment_name",
    "revision_of",
    "owned_replicasets",
    "history_from",
    "find_revision",
    "templates_equal",
    "undo_patch",
    "rollout_state",
    "status",
    "history",
    "undo",
    "render_history",
    "render_undo",
    "render_status",
]

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
# Annotations kubectl keeps from the Deployment (and never copies from the ReplicaSet) on undo.
ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


# ------------------------------------------------------------------------------- pure logic


def deployment_name(target: str) -> str:
    """``app``, ``deployment/app``, ``deploy/app``, ``deployments.apps/app`` -> ``app``."""
    name = target.strip()
    if "/" in name:
        kind, name = name.split("/", 1)
        if kind.lower() not in (
            "deployment",
            "deployments",
            "deploy",
            "deployment.apps",
            "deployments.apps",
        ):
            raise KubetmError(
                f"rollout works on Deployments, not {kind!r}",
                hint="e.g. `kubetm rollout history app`",
                exit_code=2,
            )
    if not name or "/" in name:
        raise KubetmError(
            f"expected a Deployment name, got {target!r}",
            hint="e.g. `kubetm rollout history app`",
            exit_code=2,
        )
    return name


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def revision_of(rs: dict) -> int | None:
    """The revision annotation as an int: missing -> 0, not an integer -> None (kubectl skips it)."""
    value = (_meta(rs).get("annotations") or {}).get(REVISION)
    if value is None:
        return 0
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def owned_replicasets(deployment: dict, replicasets: list[dict]) -> list[dict]:
    """ReplicaSets whose controller ownerReference points at this Deployment (by uid)."""
    uid = _meta(deployment).get("uid")
    out = []
    for rs in replicasets:
        for ref in _meta(rs).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == "Deployment" and ref.get("uid") == uid:
                out.append(rs)
                break
    return out


def _images(template: dict) -> list[str]:
    spec = template.get("spec") or {}
    return [c.get("image", "") for c in spec.get("containers") or []]


def history_from(deployment: dict, replicasets: list[dict]) -> list[dict]:
    """kubectl's history: one row per revision (ascending), from the Deployment's ReplicaSets.

    Row: revision, change_cause (None = "<none>"), replicaset, images, replicas (pods now),
    current (revision == the Deployment's revision annotation).
    """
    current = (
        revision_of(deployment)
        if REVISION in (_meta(deployment).get("annotations") or {})
        else None
    )
    rows: dict[int, dict] = {}
    for rs in owned_replicasets(deployment, replicasets):
        rev = revision_of(rs)
        if rev is None:
            continue
        meta = _meta(rs)
        rows[rev] = {
            "revision": rev,
            "change_cause": (meta.get("annotations") or {}).get(CHANGE_CAUSE) or None,
            "replicaset": meta.get("name"),
            "images": _images((rs.get("spec") or {}).get("template") or {}),
            "replicas": (rs.get("status") or {}).get("replicas", 0),
            "current": rev == current,
        }
    return [rows[r] for r in sorted(rows)]


def find_revision(deployment: dict, replicasets: list[dict], to_revision: int = 0) -> dict:
    """The ReplicaSet to roll back to: revision ``to_revision``, or (0) the second newest revision."""
    name = _meta(deployment).get("name")
    latest: tuple[int, dict | None] = (-1, None)
    previous: tuple[int, dict | None] = (-1, None)
    for rs in owned_replicasets(deployment, replicasets):
        rev = revision_of(rs)
        if rev is None:
            continue
        if to_revision == 0:
            if latest[0] < rev:
                previous, latest = latest, (rev, rs)
            elif previous[0] < rev:
                previous = (rev, rs)
        elif rev == to_revision:
            return rs
    if to_revision > 0:
        raise KubetmError(
            f"unable to find specified revision {to_revision} in history",
            hint=f"see `kubetm rollout history {name}`",
        )
    if previous[1] is None:
        raise KubetmError(
            f"no rollout history found for deployment {name!r}",
            hint="undo needs an earlier revision: update the Deployment first",
        )
    return previous[1]


def _without_hash(template: dict) -> dict:
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
        if not labels:
            t["metadata"].pop("labels")
    if "metadata" in t and not t["metadata"]:
        t.pop("metadata")
    return t


def templates_equal(a: dict, b: dict) -> bool:
    """Pod templates equal once the pod-template-hash label is ignored (kubectl's equalIgnoreHash)."""
    return _without_hash(a) == _without_hash(b)


def undo_patch(deployment: dict, rs: dict) -> list[dict]:
    """The JSON patch kubectl sends: replace spec.template and metadata.annotations."""
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    dep_ann = _meta(deployment).get("annotations") or {}
    annotations = {k: v for k, v in dep_ann.items() if k in ANNOTATIONS_TO_SKIP}
    for k, v in (_meta(rs).get("annotations") or {}).items():
        if k not in ANNOTATIONS_TO_SKIP:
            annotations[k] = v
    return [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


def rollout_state(deployment: dict | None) -> tuple[str, bool]:
    """kubectl rollout status's message for a Deployment, and whether the rollout is complete.

    Raises KubetmError when the Deployment exceeded its progress deadline.
    """
    if deployment is None:
        return "waiting for the deployment to exist", False
    meta, spec, st = _meta(deployment), deployment.get("spec") or {}, deployment.get("status") or {}
    name = meta.get("name")
    if meta.get("generation", 0) > st.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    for c in st.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            raise KubetmError(
                f"deployment {name!r} exceeded its progress deadline", hint=c.get("message")
            )
    want = spec.get("replicas", 1)
    updated, replicas, available = (
        st.get("updatedReplicas", 0),
        st.get("replicas", 0),
        st.get("availableReplicas", 0),
    )
    if updated < want:
        return (
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} new replicas '
            "have been updated..."
        ), False
    if replicas > updated:
        return (
            f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old replicas '
            "are pending termination..."
        ), False
    if available < updated:
        return (
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated '
            "replicas are available..."
        ), False
    return f'deployment "{name}" successfully rolled out', True


# ----------------------------------------------------------------------------- with the API


def _read(kube, name: str, namespace: str | None) -> tuple[dict, list[dict], str]:
    ns = namespace or kube.namespace
    dep = kube.get("Deployment", name, namespace=ns)
    if dep is None:
        raise KubetmError(
            f"deployment {name!r} not found in namespace {ns}",
            hint="pass -n NAMESPACE (demos run in kubetm-demo-<strategy>)",
        )
    return dep, kube.list("ReplicaSet", namespace=ns), ns


def status(
    kube, deployment: str, *, timeout: float = 180, namespace: str | None = None, progress=None
) -> dict:
    """Watch a Deployment until its rollout is complete (kubectl rollout status); returns a summary.
    ``progress`` (optional) receives a status line while waiting.

        status(kube, "app", timeout=60)   # {"deployment": "app", "message": "... successfully rolled out"}
    """
    name = deployment_name(deployment)
    ns = namespace or kube.namespace
    if timeout <= 0:
        raise KubetmError(f"--timeout must be > 0, got {timeout:g}", exit_code=2)
    if kube.get("Deployment", name, namespace=ns) is None:  # an error now, not a timeout later
        raise KubetmError(
            f"deployment {name!r} not found in namespace {ns}",
            hint="pass -n NAMESPACE (demos run in kubetm-demo-<strategy>)",
        )
    start = time.monotonic()
    dep = kube.watch_until(
        "Deployment",
        name,
        lambda d: d is not None and rollout_state(d)[1],
        namespace=ns,
        timeout=timeout,
        what=f"deployment {name} rollout to finish",
        progress=progress,
    )
    message, _ = rollout_state(dep)
    return {
        "deployment": name,
        "namespace": ns,
        "message": message,
        "revision": revision_of(dep),
        "seconds": round(time.monotonic() - start, 2),
        "images": _images((dep.get("spec") or {}).get("template") or {}),
    }


def history(kube, deployment: str, *, namespace: str | None = None) -> list[dict]:
    """Revisions of a Deployment, oldest first (kubectl rollout history).

    for row in history(kube, "app"): print(row["revision"], row["change_cause"])
    """
    dep, replicasets, _ = _read(kube, deployment_name(deployment), namespace)
    return history_from(dep, replicasets)


def undo(
    kube, deployment: str, *, to_revision: int | None = None, namespace: str | None = None
) -> dict:
    """Roll back to the previous revision or ``to_revision`` (kubectl rollout undo); does not wait.

    undo(kube, "app")                  # {"result": "rolled back", "to_revision": 1, ...}
    """
    if to_revision is not None and to_revision < 0:
        raise KubetmError(f"revision must be a positive integer: {to_revision}", exit_code=2)
    name = deployment_name(deployment)
    dep, replicasets, ns = _read(kube, name, namespace)
    if (dep.get("spec") or {}).get("paused"):
        raise KubetmError(
            f"you cannot rollback a paused deployment ({name})",
            hint=f"resume it first: kubectl rollout resume deployment/{name} -n {ns}",
        )
    rs = find_revision(dep, replicasets, to_revision or 0)
    target = revision_of(rs)
    result = {
        "deployment": name,
        "namespace": ns,
        "from_revision": revision_of(dep),
        "to_revision": target,
        "replicaset": _meta(rs).get("name"),
        "images": _images((rs.get("spec") or {}).get("template") or {}),
    }
    if templates_equal(
        (rs.get("spec") or {}).get("template") or {}, (dep.get("spec") or {}).get("template") or {}
    ):
        return {
            **result,
            "result": "skipped rollback",
            "message": f"current template already matches revision {target}",
        }
    kube.call(
        kube.apps.patch_namespaced_deployment,
        name,
        ns,
        undo_patch(dep, rs),
        field_manager="kubetm",
        _content_type="application/json-patch+json",
        what=f"roll back deployment {ns}/{name} to revision {target}",
    )
    return {**result, "result": "rolled back", "message": f"deployment.apps/{name} rolled back"}


# ------------------------------------------------------------------------------- rendering


def render_history(rows: list[dict]) -> str:
    """kubectl's table: REVISION  CHANGE-CAUSE (+ the images, and * on the current revision)."""
    if not rows:
        return "No rollout history found."
    from kubetm.text import table

    return table(
        [
            (
                f"{r['revision']}{' *' if r.get('current') else ''}",
                r["change_cause"] or "<none>",
                ",".join(r["images"]),
            )
            for r in rows
        ],
        ["revision", "change-cause", "images"],
    )


def render_undo(result: dict) -> str:
    if result["result"] == "skipped rollback":
        return f"deployment.apps/{result['deployment']} skipped rollback ({result['message']})"
    return (
        f"deployment.apps/{result['deployment']} rolled back to revision {result['to_revision']} "
        f"({', '.join(result['images'])})"
    )


def render_status(result: dict) -> str:
    return result["message"]
