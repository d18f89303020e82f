"""The lab index: which labs exist, in course order, and where each one is defined (``kubetm/labs/<module>.py``).

Lab modules are imported only when a lab is asked for, so listing names costs nothing.

Example:
    get("pod").namespace        # 'kubetm-lab-pod'
    [lab.name for lab in resolve("all")]
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from kubetm.labs.base import Lab

__all__ = ["LAB_MODULES", "get", "names", "resolve"]

# lab name (CLI, namespace suffix, manifests/<name>) -> module in kubetm/labs/
LAB_MODULES: dict[str, str] = {
    "pod": "pod",
    "service": "service",
    "volume": "volume",
    "config": "config",
    "namespace": "namespace",
    "replicaset": "replicaset",
    "deployment": "deployment",
    "daemonset-job-cronjob": "daemonset_job_cronjob",
    "pod-lifecycle": "pod_lifecycle",
    "probes": "probes",
    "qos": "qos",
    "node-scheduling": "node_scheduling",
    "dynamic-provisioning": "dynamic_provisioning",
    "autoscaling": "autoscaling",
    "service-discovery": "service_discovery",
    "statefulset": "statefulset",
    "authentication": "authentication",
    "authorization": "authorization",
    "helm-basics": "helm_basics",
    "helm-templates": "helm_templates",
    "helm-hooks": "helm_hooks",
}

_cache: dict[str, Lab] = {}


def names() -> list[str]:
    """Every lab name in course order."""
    return list(LAB_MODULES)


def _unknown(name: str):
    from kubetm.errors import KubetmError

    return KubetmError(
        f"unknown lab {name!r}", hint="valid labs: " + ", ".join(names()) + "; or all", exit_code=2
    )


def get(name: str) -> Lab:
    """The ``Lab`` called ``name``; unknown names raise KubetmError listing the valid ones."""
    if name not in LAB_MODULES:
        raise _unknown(name)
    if name not in _cache:
        module = importlib.import_module(f"kubetm.labs.{LAB_MODULES[name]}")
        lab = module.LAB
        if lab.name != name:
            raise AssertionError(
                f"kubetm.labs.{LAB_MODULES[name]} defines lab {lab.name!r}, not {name!r}"
            )
        _cache[name] = lab
    return _cache[name]


def resolve(selection: str | Iterable[str]) -> list[Lab]:
    """``"all"``, one name, or names -> Labs (course order for "all", given order otherwise, no repeats)."""
    if isinstance(selection, str):
        selection = [selection]
    wanted = list(selection)
    if not wanted:
        from kubetm.errors import KubetmError

        raise KubetmError("no lab given", hint="valid labs: " + ", ".join(names()) + "; or all")
    if "all" in wanted:
        if len(wanted) > 1:
            from kubetm.errors import KubetmError

            raise KubetmError("'all' cannot be combined with lab names")
        wanted = names()
    for n in wanted:  # validate everything before the first API call
        if n not in LAB_MODULES:
            raise _unknown(n)
    out: list[Lab] = []
    for n in dict.fromkeys(wanted):
        out.append(get(n))
    return out
