"""Plain values of the client package: the kind alias table, ``parse_target``, the one result type
of apply/delete, and small helpers on object dicts. Imports nothing heavy.

Example:
    parse_target("deploy/web")   # ("apps/v1", "Deployment", "web")
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from kubetm.errors import Invalid, KubetmError
from kubetm.labels import MANAGED_BY, MANAGED_BY_VALUE

REQUEST_TIMEOUT = (5, 60)  # (connect, read) seconds for ordinary requests

__all__ = [
    "KINDS",
    "Result",
    "parse_target",
    "plain",
    "describe",
    "selector_text",
    "with_label",
    "looks_like_api_version",
]

# Common kinds -> apiVersion, so "pod/x" works without discovery guesses. Keys are lower-case
# singular, plural and short names; values are (apiVersion, Kind).
KINDS: dict[str, tuple[str, str]] = {}
for _names, _av, _kind in [
    (("pod", "pods", "po"), "v1", "Pod"),
    (("service", "services", "svc"), "v1", "Service"),
    (("namespace", "namespaces", "ns"), "v1", "Namespace"),
    (("node", "nodes", "no"), "v1", "Node"),
    (("configmap", "configmaps", "cm"), "v1", "ConfigMap"),
    (("secret", "secrets"), "v1", "Secret"),
    (("persistentvolume", "persistentvolumes", "pv"), "v1", "PersistentVolume"),
    (("persistentvolumeclaim", "persistentvolumeclaims", "pvc"), "v1", "PersistentVolumeClaim"),
    (("replicationcontroller", "replicationcontrollers", "rc"), "v1", "ReplicationController"),
    (("endpoints", "ep"), "v1", "Endpoints"),
    (("event", "events", "ev"), "v1", "Event"),
    (("serviceaccount", "serviceaccounts", "sa"), "v1", "ServiceAccount"),
    (("resourcequota", "resourcequotas", "quota"), "v1", "ResourceQuota"),
    (("limitrange", "limitranges", "limits"), "v1", "LimitRange"),
    (("deployment", "deployments", "deploy"), "apps/v1", "Deployment"),
    (("replicaset", "replicasets", "rs"), "apps/v1", "ReplicaSet"),
    (("daemonset", "daemonsets", "ds"), "apps/v1", "DaemonSet"),
    (("statefulset", "statefulsets", "sts"), "apps/v1", "StatefulSet"),
    (("job", "jobs"), "batch/v1", "Job"),
    (("cronjob", "cronjobs", "cj"), "batch/v1", "CronJob"),
    (
        ("horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"),
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
    ),
    (("ingress", "ingresses", "ing"), "networking.k8s.io/v1", "Ingress"),
    (("networkpolicy", "networkpolicies", "netpol"), "networking.k8s.io/v1", "NetworkPolicy"),
    (("storageclass", "storageclasses", "sc"), "storage.k8s.io/v1", "StorageClass"),
    (("endpointslice", "endpointslices"), "discovery.k8s.io/v1", "EndpointSlice"),
    (
        ("customresourcedefinition", "customresourcedefinitions", "crd", "crds"),
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
    ),
    (("role", "roles"), "rbac.authorization.k8s.io/v1", "Role"),
    (("rolebinding", "rolebindings"), "rbac.authorization.k8s.io/v1", "RoleBinding"),
    (("clusterrole", "clusterroles"), "rbac.authorization.k8s.io/v1", "ClusterRole"),
    (
        ("clusterrolebinding", "clusterrolebindings"),
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
    ),
    (("poddisruptionbudget", "poddisruptionbudgets", "pdb"), "policy/v1", "PodDisruptionBudget"),
]:
    for _n in _names:
        KINDS[_n] = (_av, _kind)


@dataclass
class Result:
    """What apply or delete did to one object. ``action``: created | configured | unchanged (apply),
    deleted | not found (delete)."""

    kind: str
    name: str
    namespace: str | None
    action: str
    api_version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()}/{ns}{self.name} {self.action}"


def parse_target(target: str) -> tuple[str, str, str]:
    """``"pod/hello-pod"`` -> ``("v1", "Pod", "hello-pod")``: (apiVersion or "", Kind, name).

    Kind may be any known singular/plural/short name; unknown kinds are kept as written (resolved by
    discovery later). Accepts ``kind.group/name`` too (``deployments.apps/web``).
    """
    if "/" not in target:
        raise KubetmError(f"expected KIND/NAME, got {target!r}", hint="e.g. pod/hello-pod")
    kind, name = target.split("/", 1)
    if not kind or not name or "/" in name:
        raise KubetmError(f"expected KIND/NAME, got {target!r}", hint="e.g. pod/hello-pod")
    key = kind.lower()
    group = None
    if "." in key:
        key, group = key.split(".", 1)
    if key in KINDS:
        api_version, kind_name = KINDS[key]
        if group and not api_version.startswith(group + "/"):
            return "", kind, name
        return api_version, kind_name, name
    return "", kind, name


def plain(obj: Any) -> Any:
    """ResourceInstance / model -> plain dict."""
    if obj is None or isinstance(obj, (dict, list, str, int, float, bool)):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


def describe(kind: str, name: str | None, namespace: str | None) -> str:
    """``pod default/p`` for one object, ``pods in default`` for a list (error messages)."""
    ns = f"{namespace}/" if namespace else ""
    return (
        f"{kind.lower()} {ns}{name}"
        if name
        else f"{kind.lower()}s{' in ' + namespace if namespace else ''}"
    )


def selector_text(selector: str | dict | None) -> str | None:
    """A label selector as the API wants it: ``{"app": "web"}`` -> ``"app=web"``."""
    if selector is None or selector == "":
        return None
    if isinstance(selector, dict):
        return ",".join(f"{k}={v}" for k, v in selector.items())
    return selector


def looks_like_api_version(value: str) -> bool:
    return bool(re.fullmatch(r"(?:[a-z0-9.-]+/)?v\d+(?:(?:alpha|beta)\d+)?", value or ""))


def with_label(obj: dict) -> dict:
    """A copy of ``obj`` carrying the managed-by label, without a stale resourceVersion."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        what = f"{obj.get('kind', '?')} object" if isinstance(obj, dict) else type(obj).__name__
        raise Invalid(f"cannot apply a {what} without metadata: not a Kubernetes object")
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)  # never send a stale resourceVersion with apply
    labels = dict(meta.get("labels") or {})
    labels[MANAGED_BY] = MANAGED_BY_VALUE
    meta["labels"] = labels
    return {**obj, "metadata": meta}
