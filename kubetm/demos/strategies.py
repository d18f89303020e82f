"""The strategy catalogue: one `Strategy` object per demo, each with its own objects and update step.

A strategy says what it is (name, namespace, NodePort, Deployments, lesson), which knobs it
accepts, how its Deployments are set up from manifests/demo/<name>.yaml, and what its update
does on the cluster (`update(run)`, run in a worker thread by kubetm/demos/runner.py, returning
monotonic timing marks; "done" is required). The runner does everything else (prober, live view,
timeline, clean-up) the same way for every strategy.

Adding a strategy: a subclass here (its `update`, and `deployment` when its Deployments differ
from the manifest + --from/--replicas), one line in STRATEGIES, and manifests/demo/<name>.yaml
(docs/DESIGN.md, "How to add a demo strategy").

    s = strategy_of("blue-green")
    objs = s.objects(opts, registry="localhost:5001")
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from kubetm.demos.objects import find, with_image, with_replicas, with_selector_color
from kubetm.errors import EXIT_USAGE, KubetmError

__all__ = [
    "STRATEGIES",
    "Strategy",
    "DemoOptions",
    "Recreate",
    "RollingUpdate",
    "BlueGreen",
    "strategy_of",
    "namespace_of",
    "lesson_of",
    "build_objects",
    "old_replicasets_scaled_down",
    "ROLLOUT_TIMEOUT",
]

ROLLOUT_TIMEOUT = 300.0
ALIASES = {
    "rolling": "rolling-update",
    "rollingupdate": "rolling-update",
    "bluegreen": "blue-green",
}


@dataclass(frozen=True)
class DemoOptions:
    """Validated knobs of one demo run (None = the manifest's value)."""

    replicas: int = 2
    from_tag: str = "v1"
    to_tag: str = "v2"
    max_surge: int | str | None = None
    max_unavailable: int | str | None = None
    min_ready_seconds: int | None = None
    rate: float = 20.0
    duration: float = 2.0

    def to_dict(self) -> dict:
        return asdict(self)


class Strategy:
    """One deployment strategy demo. Subclasses set the class attributes and implement `update`."""

    name: ClassVar[str]
    node_port: ClassVar[int]
    lesson: ClassVar[str]
    deployments: ClassVar[tuple[str, ...]] = ("app",)
    rolling_knobs: ClassVar[bool] = False  # accepts --max-surge / --max-unavailable

    @property
    def namespace(self) -> str:
        return f"kubetm-demo-{self.name}"

    def __repr__(self) -> str:
        return f"<Strategy {self.name}>"

    # -- objects (pure) ------------------------------------------------------------------------
    def objects(self, opts: DemoOptions, registry: str | None = None) -> list[dict]:
        """manifests/demo/<name>.yaml with the knobs applied (every Deployment through `deployment`)."""
        from kubetm import manifests

        objs = manifests.load(
            manifests.manifest_dir("demo") / f"{self.name}.yaml", registry=registry
        )
        out = []
        for o in objs:
            if o["kind"] == "Deployment":
                name = o["metadata"]["name"]
                o = self.deployment(o, opts)
                if opts.min_ready_seconds is not None:
                    o["spec"]["minReadySeconds"] = opts.min_ready_seconds
                if name not in self.deployments:
                    raise KubetmError(
                        f"manifests/demo/{self.name}.yaml: unexpected Deployment {name}"
                    )
            out.append(o)
        return out

    def deployment(self, dep: dict, opts: DemoOptions) -> dict:
        """A Deployment as set up before the update: image --from, --replicas pods."""
        return with_replicas(with_image(dep, opts.from_tag, self.name), opts.replicas)

    # -- on the cluster ------------------------------------------------------------------------
    def update(self, run: Any) -> dict[str, float]:
        """The rollout from --from to --to. ``run`` has kube, ns, objects and opts. Returns
        ``time.monotonic()`` marks; "done" = the rollout is over."""
        raise NotImplementedError

    def extras(self, marks: dict[str, float], t_update: float) -> dict[str, Any]:
        """Strategy-specific fields of the summary, from `update`'s marks."""
        return {}


class TemplateUpdate(Strategy):
    """The Deployment controller rolls out a new pod template; the strategies differ only in the
    manifest's `spec.strategy` (Recreate or RollingUpdate)."""

    def update(self, run: Any) -> dict[str, float]:
        from kubetm.demos.rollout import REVISION
        from kubetm.k8s import conditions

        dep = with_image(find(run.objects, "Deployment", "app"), run.opts.to_tag, self.name)
        run.kube.apply([dep])
        done = run.kube.watch_until(
            "Deployment",
            "app",
            conditions.deployment_rolled_out,
            namespace=run.ns,
            timeout=ROLLOUT_TIMEOUT,
            what="deployment app rollout to finish",
        )
        t_done = time.monotonic()
        revision = (done["metadata"].get("annotations") or {}).get(REVISION)
        selector = done["spec"]["selector"].get("matchLabels") or {"app": "app"}
        run.kube.watch_until(
            "ReplicaSet",
            None,
            old_replicasets_scaled_down(revision),
            selector=selector,
            namespace=run.ns,
            timeout=ROLLOUT_TIMEOUT,
            what="old replicasets scaled to 0",
        )
        return {"complete": t_done, "done": time.monotonic()}


class Recreate(TemplateUpdate):
    name = "recreate"
    node_port = 30003
    lesson = (
        "Recreate stops every old pod before starting new ones: downtime, and never two versions "
        "at once (overlap 0)."
    )


class RollingUpdate(TemplateUpdate):
    name = "rolling-update"
    node_port = 30004
    lesson = (
        "RollingUpdate (readinessProbe, maxUnavailable 0, preStop + graceful SIGTERM): no request "
        "fails, but old and new versions answer side by side for a while (overlap > 0)."
    )
    rolling_knobs = True

    def deployment(self, dep: dict, opts: DemoOptions) -> dict:
        out = super().deployment(dep, opts)
        ru = out["spec"].setdefault("strategy", {}).setdefault("rollingUpdate", {})
        if opts.max_surge is not None:
            ru["maxSurge"] = opts.max_surge
        if opts.max_unavailable is not None:
            ru["maxUnavailable"] = opts.max_unavailable
        return out


class BlueGreen(Strategy):
    """Two Deployments (color blue / green) behind one Service; the update switches its selector."""

    name = "blue-green"
    node_port = 30005
    lesson = (
        "Blue/Green: green is started beside blue, then the Service selector switches in one "
        "step: no request fails and no overlap."
    )
    deployments = ("app-blue", "app-green")

    def deployment(self, dep: dict, opts: DemoOptions) -> dict:
        if (dep["spec"]["template"]["metadata"].get("labels") or {}).get("color") == "green":
            return with_replicas(
                with_image(dep, opts.to_tag, self.name), 0
            )  # started by the update
        return super().deployment(dep, opts)

    def update(self, run: Any) -> dict[str, float]:
        from kubetm.k8s import conditions
        from kubetm.labels import SERVICE_NAME

        kube, ns = run.kube, run.ns
        kube.apply([with_replicas(find(run.objects, "Deployment", "app-green"), run.opts.replicas)])
        kube.watch_until(
            "Deployment",
            "app-green",
            conditions.deployment_available,
            namespace=ns,
            timeout=ROLLOUT_TIMEOUT,
            what="deployment app-green Available",
        )
        t_switch = time.monotonic()
        kube.apply([with_selector_color(find(run.objects, "Service"), "green")])
        kube.watch_until(
            "EndpointSlice",
            None,
            conditions.only_ready_endpoints_of("app-green"),
            selector={SERVICE_NAME: "app"},
            namespace=ns,
            timeout=ROLLOUT_TIMEOUT,
            what="service app endpoints all green",
        )
        t_switched = time.monotonic()
        kube.apply([with_replicas(find(run.objects, "Deployment", "app-blue"), 0)])
        kube.watch_until(
            "Deployment",
            "app-blue",
            conditions.scaled_to_zero,
            namespace=ns,
            timeout=ROLLOUT_TIMEOUT,
            what="deployment app-blue scaled to 0",
        )
        return {"switch": t_switch, "switched": t_switched, "done": time.monotonic()}

    def extras(self, marks: dict[str, float], t_update: float) -> dict[str, Any]:
        return {"switch_ms": round((marks["switch"] - t_update) * 1000.0, 1)}


# The catalogue, in `kubetm demo list` order.
STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Recreate(), RollingUpdate(), BlueGreen())}


def strategy_of(name: str) -> Strategy:
    key = (name or "").strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in STRATEGIES:
        raise KubetmError(
            f"unknown demo {name!r}",
            hint="valid: " + ", ".join(STRATEGIES) + ", compare",
            exit_code=EXIT_USAGE,
        )
    return STRATEGIES[key]


def namespace_of(strategy: str) -> str:
    return strategy_of(strategy).namespace


def lesson_of(strategy: str) -> str:
    return strategy_of(strategy).lesson


def build_objects(strategy: str, opts: DemoOptions, registry: str | None = None) -> list[dict]:
    """The demo's objects from manifests/demo/<strategy>.yaml with the knobs applied.

    recreate / rolling-update: Namespace, Deployment app (image --from), Service app.
    blue-green: Namespace, Deployment app-blue (--from, replicas), app-green (--to, 0), Service app
    (selector color: blue).
    """
    return strategy_of(strategy).objects(opts, registry)


def old_replicasets_scaled_down(revision: str | None) -> Callable[[list[dict]], bool]:
    """Predicate over ReplicaSets: every one but ``revision``'s wants and has 0 pods.

    (Kept beside the template update, its only user, rather than in kubetm/k8s/conditions.py: it
    reads the Deployment revision annotation, which kubetm/demos/rollout.py owns.)"""
    from kubetm.demos.rollout import REVISION

    def pred(rss: list[dict]) -> bool:
        for rs in rss:
            if ((rs["metadata"].get("annotations") or {}).get(REVISION)) == revision:
                continue
            if (rs.get("spec") or {}).get("replicas", 0) or (rs.get("status") or {}).get(
                "replicas", 0
            ):
                return False
        return True

    return pred
