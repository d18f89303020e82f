"""Deleting kubetm's own namespaces so that a node that is gone cannot block it.

A namespace is deleted in the background (the namespace controller removes its contents). A pod
on a node that stopped answering never finishes terminating (its kubelet must confirm), and the
namespace waits for it forever: while waiting, kubetm force-deletes (grace period 0) the pods *in
the namespaces it is deleting* that sit on a node whose Ready condition is not True, re-checking
every ``CHECK_EVERY`` seconds (a stopped node turns NotReady only after the node monitor's grace
period, ~40-50 s). Nothing outside those namespaces is touched.

    done = delete_namespaces(kube, ["kubetm-lab-service"], timeout=120)
    done.line()   # "namespace kubetm-lab-service deleted in 3.4s"
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kubetm.errors import NotFound, Timeout

if TYPE_CHECKING:
    from kubetm.k8s.client import Kube

__all__ = [
    "NamespaceDeletion",
    "dead_nodes",
    "delete_namespaces",
    "force_pods",
    "force_pods_on_dead_nodes",
]

CHECK_EVERY = 5.0
DEFAULT_TIMEOUT = 180.0


@dataclass
class NamespaceDeletion:
    """What ``delete_namespaces`` did: the namespaces it deleted, how long it took, pods forced."""

    deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    forced: list[str] = field(default_factory=list)  # "ns/pod on node"
    at_once: int = 0  # pods deleted with grace 0 up front (pods_at_once)

    def line(self) -> str:
        if not self.deleted:
            return "nothing to delete"
        what = ", ".join(self.deleted)
        text = f"namespace {what} deleted in {self.seconds:.1f}s"
        if self.at_once:
            text += f" ({self.at_once} pod(s) deleted at once, grace period 0)"
        if self.forced:
            text += f" (force-deleted {len(self.forced)} pod(s) on NotReady nodes: " + (
                ", ".join(self.forced) + ")"
            )
        return text

    def to_dict(self) -> dict:
        return {
            "deleted": self.deleted,
            "seconds": round(self.seconds, 1),
            "forced": self.forced,
            "at_once": self.at_once,
        }


def _ready(node: dict) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def dead_nodes(kube: Kube) -> set[str]:
    """Names of the nodes whose Ready condition is not True (stopped, paused, unreachable)."""
    return {n["metadata"]["name"] for n in kube.list("Node") if not _ready(n)}


def force_pods_on_dead_nodes(kube: Kube, namespaces: Iterable[str]) -> list[str]:
    """Force-delete (grace 0) the pods of ``namespaces`` on NotReady nodes; "ns/pod on node" each."""
    dead = dead_nodes(kube)
    if not dead:
        return []
    return force_pods(kube, namespaces, lambda pod: (pod.get("spec") or {}).get("nodeName") in dead)


def force_pods(
    kube: Kube, namespaces: Iterable[str], which: Callable[[dict], bool] = lambda pod: True
) -> list[str]:
    """Delete the pods of ``namespaces`` that ``which`` selects with grace period 0 (no preStop,
    no SIGTERM wait); "ns/pod on node" each."""
    forced = []
    res = kube.resource("Pod")
    for ns in namespaces:
        for pod in kube.list("Pod", namespace=ns):
            if not which(pod):
                continue
            name = pod["metadata"]["name"]
            node = (pod.get("spec") or {}).get("nodeName")
            try:
                kube.call(
                    res.delete,
                    name=name,
                    namespace=ns,
                    body={
                        "apiVersion": "v1",
                        "kind": "DeleteOptions",
                        "gracePeriodSeconds": 0,
                        "propagationPolicy": "Background",
                    },
                    what=f"force-delete pod {ns}/{name}",
                )
                forced.append(f"{ns}/{name} on {node}")
            except NotFound:
                pass
    return forced


def delete_namespaces(
    kube: Kube,
    names: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[str], None] | None = None,
    check_every: float = CHECK_EVERY,
    pods_at_once: bool = False,
) -> NamespaceDeletion:
    """Delete namespaces (background propagation) and watch until they are gone, force-deleting
    their pods on NotReady nodes meanwhile. Timeout names the namespace controller's reason.

    ``pods_at_once``: first delete every pod of the namespaces with grace period 0, for a
    namespace whose pods have nothing left to finish (a demo after its traffic stopped) and whose
    preStop hooks would otherwise hold the deletion for their whole sleep."""
    start = time.monotonic()
    deadline = start + timeout
    done = NamespaceDeletion()
    pending = []
    for ns in dict.fromkeys(names):
        obj = kube.get("Namespace", ns)
        if obj is None:
            continue
        pending.append(ns)
        if not (obj.get("metadata") or {}).get("deletionTimestamp"):
            kube.delete(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                wait=False,
                propagation="Background",
            )
    done.deleted = list(pending)
    if pods_at_once:
        done.at_once = len(force_pods(kube, pending))
    while pending:
        done.forced += force_pods_on_dead_nodes(kube, pending)
        left = deadline - time.monotonic()
        if left <= 0:
            raise _stuck(kube, pending[0], timeout)
        ns = pending[0]
        try:
            kube.watch_until(
                "Namespace",
                ns,
                lambda o: o is None,
                timeout=min(check_every, left),
                what=f"namespace {ns} to be deleted",
            )
            pending.pop(0)
        except Timeout:
            if progress and time.monotonic() - start > 6 * check_every:
                progress(f"namespace {ns} still terminating after {time.monotonic() - start:.0f}s")
    done.seconds = time.monotonic() - start
    return done


def _stuck(kube: Kube, ns: str, timeout: float) -> Timeout:
    obj = kube.get("Namespace", ns) or {}
    reasons = [
        c.get("message")
        for c in (obj.get("status") or {}).get("conditions") or []
        if c.get("status") == "True" and c.get("message")
    ]
    return Timeout(
        f"namespace {ns} is still terminating after {timeout:g}s"
        + (f": {reasons[0]}" if reasons else ""),
        hint="the cluster's namespace controller cannot finish; `kubectl get apiservices` "
        "shows unavailable API groups",
    )
