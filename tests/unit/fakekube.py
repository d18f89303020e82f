"""FakeKube: the one in-memory stand-in for kubetm.k8s.Kube in unit tests (fixture ``fake_kube``)."""

from __future__ import annotations

import threading


class FakeKube:
    """The one in-memory Kube for unit tests (CLI, labs, demos): apply/get/list/delete/watch_until.

    Objects are kept by (kind, namespace or None for cluster-scoped kinds, name). ``calls`` records
    every API call: ("apply", n, namespace, force_conflicts), ("get", kind, name, namespace),
    ("list", kind, namespace, selector), ("delete", n, namespace, wait), ("wait", kind, name).
    ``watch_until`` returns the current object (or list) without waiting; deleting a Namespace takes
    its objects along. Thread-safe (labs run in parallel)."""

    CLUSTER_SCOPED = (
        "Namespace",
        "Node",
        "PersistentVolume",
        "CustomResourceDefinition",
        "StorageClass",
    )
    WRITES = ("apply", "delete")

    def __init__(self, namespace: str = "default"):
        self.namespace = namespace
        self.objects: dict[tuple, dict] = {}
        self.calls: list[tuple] = []
        self.lock = threading.RLock()

    def _key(self, kind: str, name: str, namespace: str | None) -> tuple:
        return (kind, None if kind in self.CLUSTER_SCOPED else (namespace or self.namespace), name)

    def writes(self) -> list[tuple]:
        """The calls that changed something (apply, delete)."""
        return [c for c in self.calls if c[0] in self.WRITES]

    def apply(self, objs, namespace=None, force_conflicts=False, **_):
        from kubetm.k8s import Result

        out = []
        with self.lock:
            for o in objs:
                key = self._key(
                    o["kind"], o["metadata"]["name"], o["metadata"].get("namespace") or namespace
                )
                action = (
                    "unchanged"
                    if self.objects.get(key) == o
                    else ("configured" if key in self.objects else "created")
                )
                self.objects[key] = o
                out.append(
                    Result(
                        o["kind"], o["metadata"]["name"], key[1], action, o.get("apiVersion", "")
                    )
                )
            self.calls.append(("apply", len(out), namespace, force_conflicts))
        return out

    def get(self, kind, name, namespace=None, **_):
        with self.lock:
            self.calls.append(("get", kind, name, namespace))
            return self.objects.get(self._key(kind, name, namespace))

    def list(self, kind, namespace=None, selector=None, **_):
        if isinstance(selector, str):
            selector = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        with self.lock:
            self.calls.append(("list", kind, namespace, selector))
            return [
                o
                for (k, ns, _n), o in self.objects.items()
                if k == kind
                and (namespace is None or ns in (None, namespace))
                and all(
                    (o["metadata"].get("labels") or {}).get(a) == b
                    for a, b in (selector or {}).items()
                )
            ]

    def delete(self, target, namespace=None, wait=True, **_):
        from kubetm.k8s import Result, parse_target

        objs = target if isinstance(target, list) else [target]
        out = []
        with self.lock:
            for o in objs:
                if isinstance(o, str):
                    _, kind, name = parse_target(o)
                    o = {"kind": kind, "metadata": {"name": name}}
                key = self._key(
                    o["kind"], o["metadata"]["name"], o["metadata"].get("namespace") or namespace
                )
                found = self.objects.pop(key, None) is not None
                if o["kind"] == "Namespace":
                    for k in [k for k in self.objects if k[1] == key[2]]:
                        del self.objects[k]
                out.append(
                    Result(
                        o["kind"],
                        o["metadata"]["name"],
                        key[1],
                        "deleted" if found else "not found",
                        o.get("apiVersion", ""),
                    )
                )
            self.calls.append(("delete", len(out), namespace, wait))
        return out

    def delete_namespaces(self, names, timeout=180, progress=None):
        from kubetm.k8s.cleanup import NamespaceDeletion

        present = [n for n in dict.fromkeys(names) if self.get("Namespace", n) is not None]
        if present:
            self.delete(
                [
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                    for n in present
                ],
                wait=False,
            )
        with self.lock:
            self.calls.extend(("wait", "Namespace", n) for n in present)  # watched until gone
        return NamespaceDeletion(deleted=present, seconds=0.0)

    def watch_until(self, kind, name=None, predicate=None, namespace=None, selector=None, **_):
        with self.lock:
            self.calls.append(("wait", kind, name))
            if name:
                return self.objects.get(self._key(kind, name, namespace))
            return [o for (k, _ns, _n), o in self.objects.items() if k == kind]
