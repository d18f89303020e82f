"""`kubetm lab ...`: the beginner course's labs, one command each.

Each lab is ``manifests/<lab>/*.yaml`` (plain kubectl-applicable YAML, applied together),
``manifests/<lab>/steps/*.yaml`` (applied by checks, one step at a time) and a module
``kubetm/labs/<lab>.py`` defining ``LAB`` (title, lesson, ordered checks). The runner is
kubetm/labs/runner.py, the building blocks kubetm/labs/base.py, the list kubetm/labs/catalog.py.

Example:
    from kubetm import labs
    from kubetm.k8s import Kube
    kube = Kube(context="kind-kubetm")
    labs.apply(kube, "pod"); result = labs.verify(kube, "pod"); labs.delete(kube, "pod")
    results = labs.run(kube, "all")          # apply + verify + delete every lab
"""

from __future__ import annotations

from collections.abc import Iterable

from kubetm.labs import runner
from kubetm.labs.base import Check, CheckResult, Lab, LabContext, LabResult, not_implemented
from kubetm.labs.catalog import names

__all__ = [
    "Check",
    "CheckResult",
    "Lab",
    "LabContext",
    "LabResult",
    "apply",
    "as_json",
    "delete",
    "list_labs",
    "names",
    "not_implemented",
    "render_list",
    "render_show",
    "run",
    "show",
    "verify",
]

as_json = runner.as_json
render_list = runner.render_list
render_show = runner.render_show


def list_labs() -> list[dict]:
    """One row per lab in course order (name, title, lesson, namespaces, checks, exclusive)."""
    return runner.list_labs()


def show(name: str) -> dict:
    """Title, lesson, namespaces, objects, steps and checks of one lab (no cluster needed)."""
    return runner.show(name)


def apply(kube, name: str, registry: str | None = None, on_event=None) -> list:
    """Server-side apply ``manifests/<name>/*.yaml``; returns kube.apply's results."""
    return runner.apply(kube, name, registry_name=registry, on_event=on_event)


def verify(kube, name: str, registry: str | None = None, on_event=None) -> LabResult:
    """Run the lab's checks (observing the cluster); ``result.ok`` is False if any check fails."""
    return runner.verify(kube, name, registry_name=registry, on_event=on_event)


def delete(kube, name: str, registry: str | None = None, on_event=None) -> list:
    """Delete the lab's namespaces and its labelled cluster-scoped objects; waits until gone."""
    return runner.delete(kube, name, registry_name=registry, on_event=on_event)


def run(
    kube,
    names: str | Iterable[str],
    keep: bool = False,
    registry: str | None = None,
    jobs: int = runner.DEFAULT_JOBS,
    on_event=None,
) -> list[LabResult]:
    """apply + verify + delete for "all", one lab or several, up to ``jobs`` at once (never two
    whose declared ``shares`` intersect); delete also on failure/Ctrl-C unless keep."""
    return runner.run(kube, names, keep=keep, registry_name=registry, jobs=jobs, on_event=on_event)
