"""The building blocks of a lab: ``Lab``, ``Check``, the ``LabContext`` a check gets, and results.

A lab is a course lesson turned into plain YAML (``manifests/<lab>/*.yaml``, applied together) plus
an ordered list of checks. A check is a name and a function ``fn(ctx) -> (ok, detail)`` that looks
at the cluster through ``ctx.kube`` (kubetm/k8s/) and may apply the lab's step manifests
(``manifests/<lab>/steps/*.yaml``) one at a time with ``ctx.apply_step``.

Example:
    def pods_ready(ctx):
        pods = ctx.kube.list("Pod", namespace=ctx.namespace)
        return all(p["status"].get("phase") == "Running" for p in pods), f"{len(pods)} pods"

    LAB = Lab("pod", "파드 — Pod", "containers, labels, node scheduling",
              checks=[Check("pods-running", pods_ready, "every pod of the lab runs")])

Nothing here imports kubernetes, yaml or rich at module level (``kubetm --help`` stays fast).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CLUSTER",
    "NAMESPACE_PREFIX",
    "NODES",
    "PV_BINDING",
    "NOT_IMPLEMENTED",
    "Check",
    "CheckResult",
    "Lab",
    "LabContext",
    "LabResult",
    "not_implemented",
]

NAMESPACE_PREFIX = "kubetm-lab-"
NOT_IMPLEMENTED = "not implemented yet"
DEFAULT_CHECK_TIMEOUT = 60.0

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

PARTS = ("초급", "중급", "Helm")

# What a lab shares with the others (``Lab.shares``). Two labs whose declarations intersect never
# run at the same time in ``lab run all``; a lab that declares ``CLUSTER`` runs with nothing beside it.
CLUSTER = "cluster"  # the whole cluster: stops or restarts a node, or anything else every lab feels
NODES = "nodes"  # node-level state: taints, node labels the lab adds or selects on
# Static PersistentVolumes of storageClassName "": a claim of that class binds the smallest fitting
# Available one on the whole cluster, whichever lab made it (kind's default class is not involved).
PV_BINDING = "setting:pv-binding"
_SHARE = re.compile(
    r"^(cluster|nodes"
    r"|nodeport:3[0-9]{4}"  # a NodePort, e.g. nodeport:30001
    r"|hostport:[0-9]{1,5}"  # a hostPort on the nodes, e.g. hostport:18080
    r"|object:[A-Za-z]+/[a-z0-9.-]+"  # a cluster-scoped object, e.g. object:StorageClass/fast
    r"|setting:[a-z0-9.-]+)$"  # a cluster-wide setting, e.g. setting:kube-controller-manager
)


def conflicts(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two labs' ``shares`` keep them from running at the same time."""
    return CLUSTER in a or CLUSTER in b or bool(set(a) & set(b))


CheckFn = Callable[["LabContext"], "tuple[bool, str]"]


@dataclass(frozen=True)
class Check:
    """One observable fact of a lesson: ``fn(ctx) -> (ok, detail)``.

    ``timeout`` is the check's budget in seconds; the runner hands it over as ``ctx.timeout`` and
    the check passes it to the waits it does (``ctx.kube.watch_until(..., timeout=ctx.timeout)``).

    ``track``: checks of one track run in order; the tracks of a lab run side by side (a lab
    whose lesson has two independent halves that each wait on the cluster, e.g. autoscaling's
    CPU HPA and memory HPA). Every check is in track "" unless it says otherwise.
    """

    name: str
    fn: CheckFn
    description: str = ""
    timeout: float = DEFAULT_CHECK_TIMEOUT
    track: str = ""

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ValueError(f"check name {self.name!r}: use lower-case words joined by '-'")
        if self.timeout <= 0:
            raise ValueError(f"check {self.name!r}: timeout must be > 0")


def not_implemented(description: str = "") -> CheckFn:
    """A placeholder check function that always FAILS with "not implemented yet".

    Placeholders never pass, so a lab whose checks are not written yet cannot look green.
    """

    def placeholder(ctx: LabContext) -> tuple[bool, str]:
        return False, NOT_IMPLEMENTED

    placeholder.__doc__ = description or "placeholder"
    placeholder.not_implemented = True  # type: ignore[attr-defined]
    return placeholder


def _manifest_root() -> Path:
    from kubetm.manifests import manifest_root

    return manifest_root()


@dataclass(frozen=True)
class Lab:
    """A course lab: its manifests folder, namespace(s) and ordered checks.

    ``shares`` declares what the lab uses that another lab could too (``CLUSTER``, ``NODES``,
    ``nodeport:N``, ``hostport:N``, ``object:Kind/name``, ``setting:name``; see ``_SHARE``), with
    ``shares_reason`` saying why; ``part`` and ``page`` place it in the course (kubetm.github.io); ``lab run all`` never runs two labs whose declarations intersect.
    ``cleanup(ctx)``, when given, undoes what checks did outside the lab's namespaces (node
    labels, say); ``lab delete`` calls it before deleting the namespaces.
    """

    name: str
    title: str
    lesson: str
    checks: tuple[Check, ...] = ()
    namespaces: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()
    shares_reason: str = ""
    part: str = "초급"  # the course part: 초급 (beginner), 중급 (intermediate), Helm
    page: str = ""  # the course page, e.g. "k8s/06-intermediate-pod/pod-lifecycle"
    cleanup: Callable[[LabContext], None] | None = None
    manifests_dir: Path | None = None

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ValueError(f"lab name {self.name!r}: use lower-case words joined by '-'")
        object.__setattr__(self, "checks", tuple(self.checks))
        seen: set[str] = set()
        for c in self.checks:
            if c.name in seen:
                raise ValueError(f"lab {self.name}: check {c.name!r} is defined twice")
            seen.add(c.name)
        if not self.namespaces:
            object.__setattr__(self, "namespaces", (NAMESPACE_PREFIX + self.name,))
        else:
            object.__setattr__(self, "namespaces", tuple(self.namespaces))
        if self.part not in PARTS:
            raise ValueError(f"lab {self.name}: part must be one of {', '.join(PARTS)}")
        object.__setattr__(self, "shares", tuple(sorted(set(self.shares))))
        for share in self.shares:
            if not _SHARE.match(share):
                raise ValueError(f"lab {self.name}: unknown shared resource {share!r}")
        if self.shares and not self.shares_reason:
            raise ValueError(f"lab {self.name}: say why it shares {', '.join(self.shares)}")

    @property
    def exclusive(self) -> bool:
        """Runs with no other lab beside it (declares ``CLUSTER``)."""
        return CLUSTER in self.shares

    @property
    def namespace(self) -> str:
        """The lab's main namespace, ``kubetm-lab-<name>``."""
        return self.namespaces[0]

    @property
    def folder(self) -> Path:
        """``manifests/<name>`` (under $KUBETM_MANIFESTS when set)."""
        return Path(self.manifests_dir) if self.manifests_dir else _manifest_root() / self.name

    @property
    def steps_folder(self) -> Path:
        return self.folder / "steps"

    def manifest_files(self) -> list[Path]:
        """The files ``lab apply`` applies: ``*.yaml``/``*.yml`` directly in the folder, by name."""
        return _yaml_files(self.folder)

    def step_files(self) -> list[Path]:
        """Files a check applies on purpose, one at a time (never applied by ``lab apply``)."""
        return _yaml_files(self.steps_folder)

    def step_path(self, step: str) -> Path:
        """``steps/<step>`` with or without ``.yaml``; refuses paths outside the steps folder."""
        base = self.steps_folder
        name = step if step.endswith((".yaml", ".yml")) else f"{step}.yaml"
        path = (base / name).resolve()
        if path.parent != base.resolve():
            raise ValueError(f"lab {self.name}: step {step!r} must be a file name in {base}")
        return path


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


class Cancelled(Exception):
    """Raised inside a check when the run was interrupted (Ctrl-C); the runner cleans up."""


@dataclass
class LabContext:
    """What a check receives: the cluster handle, its lab, its budget and step helpers."""

    kube: Any
    lab: Lab
    registry: str | None = None
    timeout: float = DEFAULT_CHECK_TIMEOUT
    cancel: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = field(default=lambda msg: None)
    state: dict = field(default_factory=dict)  # shared by the checks of one verify run

    @property
    def namespace(self) -> str:
        return self.lab.namespace

    def check_cancelled(self) -> None:
        """Call between long steps: raises ``Cancelled`` once the run is being interrupted."""
        if self.cancel.is_set():
            raise Cancelled(f"lab {self.lab.name} interrupted")

    def load_step(self, step: str) -> list[dict]:
        """The objects of ``manifests/<lab>/steps/<step>.yaml``, with per-cluster substitution."""
        from kubetm import manifests

        return manifests.load(self.lab.step_path(step), registry=self.registry)

    def apply_step(self, step: str):
        """Server-side apply one step file; returns kube.apply's results.

        Example:
            ctx.apply_step("port-conflict")   # manifests/pod/steps/port-conflict.yaml
        """
        self.check_cancelled()
        return self.kube.apply(self.load_step(step))

    def delete_step(self, step: str, wait: bool = True):
        """Delete the objects of one step file (missing ones are fine)."""
        return self.kube.delete(self.load_step(step), wait=wait, timeout=self.timeout)


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
        }

    def line(self) -> str:
        """``✓ name (1.2s): detail`` — one line per check, as ``lab verify`` prints it."""
        mark = "✓" if self.ok else "✗"
        detail = f": {self.detail}" if self.detail else ""
        return f"{mark} {self.name} ({self.seconds:.1f}s){detail}"


@dataclass
class LabResult:
    lab: str
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # apply/delete failure or interruption, outside any check
    timing: dict | None = (
        None  # lab run: started/ended (ISO, UTC), start_s/end_s (since the run began)
    )

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.ok for c in self.checks)

    def to_dict(self) -> dict:
        out = {"lab": self.lab, "ok": self.ok, "checks": [c.to_dict() for c in self.checks]}
        if self.error:
            out["error"] = self.error
        if self.timing:
            out.update(self.timing)
        return out

    def lines(self) -> list[str]:
        head = f"{'✓' if self.ok else '✗'} lab {self.lab}"
        passed = sum(c.ok for c in self.checks)
        head += f": {passed}/{len(self.checks)} checks passed"
        if self.error:
            head += f" ({self.error})"
        return [head] + ["  " + c.line() for c in self.checks]


def run_check(check: Check, ctx: LabContext) -> CheckResult:
    """Run one check, timed; exceptions become a failed result with a one-line detail."""
    from kubetm.errors import KubetmError, format_error

    ctx.timeout = check.timeout
    start = time.monotonic()
    try:
        ctx.check_cancelled()
        outcome = check.fn(ctx)
        if not (isinstance(outcome, tuple) and len(outcome) == 2):
            ok, detail = False, f"check returned {type(outcome).__name__}, expected (ok, detail)"
        else:
            ok, detail = bool(outcome[0]), str(outcome[1] if outcome[1] is not None else "")
    except Cancelled:
        raise
    except KubetmError as e:
        ok, detail = False, format_error(e, prefix="")
    except Exception as e:
        ok, detail = False, format_error(e, prefix="")
    from kubetm.errors import one_line

    return CheckResult(check.name, ok, one_line(detail), time.monotonic() - start)
