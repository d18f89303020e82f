"""The deployment strategy demos: Recreate, RollingUpdate, Blue/Green, each seen through a prober.

One run is a sequence of named steps (one progress line each on stderr):

  1. validate   options (`validate_options`) - bad values end here, before any API call
  2. setup      namespace kubetm-demo-<strategy>: Deployment(s) + NodePort Service from
                manifests/demo/<strategy>.yaml (server-side apply), watch until Available
  3. probe      `Prober` from the host to http://<node's loopback address>:<NodePort>/version;
                waits until the Service answers steadily (warm-up is not counted), then ~1 s more
  4. update     recreate / rolling-update: apply the Deployment with image --to (server-side
                apply, new change-cause), watch until updated == replicas == available, the
                generation observed and the old ReplicaSets at 0.
                blue-green: scale green up, watch until Available, switch the Service selector
                color: blue -> green, watch the EndpointSlices until only green pods are ready,
                scale blue to 0 and watch until it has no pods.
                Meanwhile a `LiveView` shows the versions answering, pods per ReplicaSet, failures.
  5. tail       keep probing --duration seconds (default 2), stop, `timeline.summarize`
  6. cleanup    delete the namespace and wait until it is gone (also on errors, Ctrl-C and
                SIGTERM), unless --keep

    opts = validate_options("rolling-update", rate=20)
    summary = run_demo(kube, "rolling-update", opts, registry="localhost:5001")
    summary["failures"], summary["overlap_ms"]
"""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from kubetm.errors import KubetmError

__all__ = [
    "STRATEGIES", "Strategy", "DemoOptions", "validate_options", "validate_plot", "build_objects",
    "with_image", "with_replicas", "with_selector_color", "image_tag", "set_image_tag", "rollout_done",
    "old_replicasets_scaled_down", "only_color_ready", "replicaset_line", "run_demo", "delete_demo",
    "namespace_of", "lesson_of", "render_run", "render_compare",
]

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
INT_OR_PERCENT_RE = re.compile(r"(\d{1,9})(%?)")
APP_IMAGE = "kubetm/app"
CHANGE_CAUSE = "kubernetes.io/change-cause"
DEMO_LABEL = "kubetm.io/demo"

MAX_REPLICAS = 10
MAX_RATE = 200.0
MAX_DURATION = 600.0
MAX_MIN_READY = 300
PROBE_TIMEOUT = 1.0          # seconds per request (a request slower than this counts as failed)
STEADY_ANSWERS = 10          # the Service answers steadily after this many successes in a row
WARMUP_TIMEOUT = 45.0        # seconds to wait for STEADY_ANSWERS before the update
LEAD_SECONDS = 1.0           # probing before the update, after the warm-up
SETUP_TIMEOUT = 180.0
ROLLOUT_TIMEOUT = 300.0
NAMESPACE_TIMEOUT = 120.0
TICK = 0.25                  # live view refresh; cluster state is listed every TICKS_PER_LIST ticks
TICKS_PER_LIST = 4


@dataclass(frozen=True)
class Strategy:
    name: str
    namespace: str
    node_port: int
    deployments: tuple[str, ...]
    lesson: str


STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (
        Strategy("recreate", "kubetm-demo-recreate", 30003, ("app",),
                 "Recreate stops every old pod before starting new ones: downtime, and never two versions "
                 "at once (overlap 0)."),
        Strategy("rolling-update", "kubetm-demo-rolling-update", 30004, ("app",),
                 "RollingUpdate (readinessProbe, maxUnavailable 0, preStop + graceful SIGTERM): no request "
                 "fails, but old and new versions answer side by side for a while (overlap > 0)."),
        Strategy("blue-green", "kubetm-demo-blue-green", 30005, ("app-blue", "app-green"),
                 "Blue/Green: green is started beside blue, then the Service selector switches in one "
                 "step: no request fails and no overlap."),
    )
}


def strategy_of(name: str) -> Strategy:
    key = (name or "").strip().lower().replace("_", "-")
    key = {"rolling": "rolling-update", "rollingupdate": "rolling-update", "bluegreen": "blue-green"}.get(key, key)
    if key not in STRATEGIES:
        raise KubetmError(f"unknown demo {name!r}", hint="valid: " + ", ".join(STRATEGIES) + ", compare",
                          exit_code=2)
    return STRATEGIES[key]


def namespace_of(strategy: str) -> str:
    return strategy_of(strategy).namespace


def lesson_of(strategy: str) -> str:
    return strategy_of(strategy).lesson


# ------------------------------------------------------------------------------ validation

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


def _bad(message: str, hint: str | None = None) -> KubetmError:
    return KubetmError(message, hint=hint, exit_code=2)


def _int_or_percent(value: Any, flag: str) -> int | str | None:
    if value is None:
        return None
    text = str(value).strip()
    m = INT_OR_PERCENT_RE.fullmatch(text)
    if not m:
        raise _bad(f"{flag} must be a number >= 0 or a percentage like 25%, got {text!r}")
    n = int(m.group(1))
    if m.group(2):
        if n > 100:
            raise _bad(f"{flag} must be at most 100%, got {text}")
        return f"{n}%"
    return n


def _is_zero(value: int | str | None, default: int) -> bool:
    if value is None:
        return default == 0
    return value in (0, "0%")


def validate_tag(tag: Any, flag: str) -> str:
    text = "" if tag is None else str(tag)
    if not TAG_RE.fullmatch(text):
        raise _bad(f"{flag} {text!r} is not a valid image tag",
                   hint="a tag is 1-128 of A-Z a-z 0-9 _ . - and does not start with . or -")
    return text


def validate_options(strategy: str, *, replicas: int | None = None, from_tag: str | None = None,
                     to_tag: str | None = None, max_surge: Any = None, max_unavailable: Any = None,
                     min_ready_seconds: int | None = None, rate: float | None = None,
                     duration: float | None = None) -> DemoOptions:
    """Check every knob before anything is created; raises KubetmError (exit 2) with one clear line.

        validate_options("rolling-update", max_surge="50%", rate=40)
    """
    s = strategy_of(strategy)
    d = DemoOptions()
    replicas = d.replicas if replicas is None else replicas
    if not isinstance(replicas, int) or isinstance(replicas, bool) or not 1 <= replicas <= MAX_REPLICAS:
        raise _bad(f"--replicas must be an integer from 1 to {MAX_REPLICAS}, got {replicas}")
    from_tag = validate_tag(d.from_tag if from_tag is None else from_tag, "--from")
    to_tag = validate_tag(d.to_tag if to_tag is None else to_tag, "--to")
    if from_tag == to_tag:
        raise _bad(f"--from and --to are the same tag ({from_tag}): nothing would be rolled out")
    surge = _int_or_percent(max_surge, "--max-surge")
    unavailable = _int_or_percent(max_unavailable, "--max-unavailable")
    if s.name != "rolling-update" and (surge is not None or unavailable is not None):
        flag = "--max-surge" if surge is not None else "--max-unavailable"
        raise _bad(f"{flag} only applies to the rolling-update demo, not {s.name}")
    if _is_zero(surge, 1) and _is_zero(unavailable, 0):
        raise _bad("--max-surge and --max-unavailable cannot both be 0: the rollout could never progress",
                   hint="e.g. --max-surge 1 --max-unavailable 0")
    if min_ready_seconds is not None and (not isinstance(min_ready_seconds, int) or isinstance(min_ready_seconds, bool)
                                          or not 0 <= min_ready_seconds <= MAX_MIN_READY):
        raise _bad(f"--min-ready-seconds must be an integer from 0 to {MAX_MIN_READY}, got {min_ready_seconds}")
    rate = d.rate if rate is None else rate
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= MAX_RATE or rate != rate:
        raise _bad(f"--rate must be > 0 and at most {MAX_RATE:g} requests/s, got {rate}")
    duration = d.duration if duration is None else duration
    if not isinstance(duration, (int, float)) or isinstance(duration, bool) or not 0 <= duration <= MAX_DURATION \
            or duration != duration:
        raise _bad(f"--duration must be from 0 to {MAX_DURATION:g} seconds, got {duration}")
    return DemoOptions(replicas, from_tag, to_tag, surge, unavailable, min_ready_seconds, float(rate), float(duration))


def validate_plot(path: str | None) -> str | None:
    """--plot FILE: .png or .svg, and matplotlib importable (checked before anything is created)."""
    if path is None:
        return None
    from pathlib import Path

    from kubetm.demos.plot import FORMATS

    if Path(path).suffix.lower() not in FORMATS:
        raise _bad(f"cannot plot to {path!r}: unknown format", hint="use a .png or .svg file name")
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise KubetmError("plotting needs matplotlib", hint="pip install 'kubetm[plot]'", exit_code=2)
    return path


# ------------------------------------------------------------------------- objects (pure)

def image_tag(image: str) -> str | None:
    """``localhost:5001/kubetm/app:v1`` -> ``v1`` (None without a tag)."""
    name = image.rsplit("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def set_image_tag(image: str, tag: str) -> str:
    """Replace (or add) the tag of an image reference; digests are dropped."""
    name = image.rsplit("@", 1)[0]
    head, _, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}:{tag}" if head else f"{last}:{tag}"


def _containers(dep: dict) -> list[dict]:
    return dep["spec"]["template"]["spec"]["containers"]


def with_image(dep: dict, tag: str, strategy: str) -> dict:
    """A copy of the Deployment with the app container's image at ``tag`` and a matching change-cause."""
    out = copy.deepcopy(dep)
    for c in _containers(out):
        if APP_IMAGE in c.get("image", ""):
            c["image"] = set_image_tag(c["image"], tag)
    meta = out.setdefault("metadata", {})
    meta.setdefault("annotations", {})[CHANGE_CAUSE] = f"kubetm demo {strategy}: image {APP_IMAGE}:{tag}"
    return out


def with_replicas(dep: dict, replicas: int) -> dict:
    out = copy.deepcopy(dep)
    out["spec"]["replicas"] = replicas
    return out


def with_selector_color(svc: dict, color: str) -> dict:
    out = copy.deepcopy(svc)
    out["spec"]["selector"]["color"] = color
    return out


def build_objects(strategy: str, opts: DemoOptions, registry: str | None = None) -> list[dict]:
    """The demo's objects from manifests/demo/<strategy>.yaml with the knobs applied.

    recreate / rolling-update: Namespace, Deployment app (image --from), Service app.
    blue-green: Namespace, Deployment app-blue (--from, replicas), app-green (--to, 0), Service app
    (selector color: blue).
    """
    from kubetm import manifests

    s = strategy_of(strategy)
    objs = manifests.load(manifests.manifest_dir("demo") / f"{s.name}.yaml", registry=registry)
    out = []
    for o in objs:
        if o["kind"] == "Deployment":
            name = o["metadata"]["name"]
            color = (o["spec"]["template"]["metadata"].get("labels") or {}).get("color")
            tag = opts.to_tag if color == "green" else opts.from_tag
            o = with_image(o, tag, s.name)
            o["spec"]["replicas"] = 0 if color == "green" else opts.replicas
            if opts.min_ready_seconds is not None:
                o["spec"]["minReadySeconds"] = opts.min_ready_seconds
            if s.name == "rolling-update":
                ru = o["spec"].setdefault("strategy", {}).setdefault("rollingUpdate", {})
                if opts.max_surge is not None:
                    ru["maxSurge"] = opts.max_surge
                if opts.max_unavailable is not None:
                    ru["maxUnavailable"] = opts.max_unavailable
            if name not in s.deployments:
                raise KubetmError(f"manifests/demo/{s.name}.yaml: unexpected Deployment {name}")
        out.append(o)
    return out


def _find(objs: list[dict], kind: str, name: str | None = None) -> dict:
    for o in objs:
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name):
            return o
    raise KubetmError(f"demo manifest has no {kind}{' ' + name if name else ''}")


# -------------------------------------------------------------------------- predicates (pure)

def rollout_done(dep: dict | None) -> bool:
    """Rollout finished: generation observed, updated == replicas == available == spec.replicas."""
    from kubetm.demos.rollout import rollout_state

    if dep is None:
        return False
    done = rollout_state(dep)[1]  # raises on ProgressDeadlineExceeded
    want = (dep.get("spec") or {}).get("replicas", 1)
    st = dep.get("status") or {}
    return done and st.get("updatedReplicas", 0) == want and st.get("replicas", 0) == want \
        and st.get("availableReplicas", 0) == want


def old_replicasets_scaled_down(revision: str | None) -> Callable[[list[dict]], bool]:
    """Predicate over ReplicaSets: every one but ``revision``'s wants and has 0 pods."""
    from kubetm.demos.rollout import REVISION

    def pred(rss: list[dict]) -> bool:
        for rs in rss:
            if ((rs["metadata"].get("annotations") or {}).get(REVISION)) == revision:
                continue
            if (rs.get("spec") or {}).get("replicas", 0) or (rs.get("status") or {}).get("replicas", 0):
                return False
        return True
    return pred


def scaled_to_zero(dep: dict | None) -> bool:
    if dep is None:
        return True
    st = dep.get("status") or {}
    return st.get("observedGeneration", 0) >= dep["metadata"].get("generation", 0) and not st.get("replicas")


def only_color_ready(deployment: str) -> Callable[[list[dict]], bool]:
    """Predicate over a Service's EndpointSlices: some endpoint ready, and all ready ones are pods of
    ``deployment`` (pod names ``<deployment>-<hash>-<suffix>``)."""
    prefix = deployment + "-"

    def pred(slices: list[dict]) -> bool:
        ready = [ep for sl in slices for ep in sl.get("endpoints") or []
                 if (ep.get("conditions") or {}).get("ready") is not False]
        names = [((ep.get("targetRef") or {}).get("name") or "") for ep in ready]
        return bool(names) and all(n.startswith(prefix) and n[len(prefix):].count("-") == 1 for n in names)
    return pred


def replicaset_line(replicasets: list[dict]) -> str:
    """``pods: app-7d9c4 v1 2/2 ready · app-5f4b8 v2 1/1 ready`` (ReplicaSets with pods, oldest first)."""
    parts = []
    for rs in sorted(replicasets, key=lambda r: r["metadata"].get("creationTimestamp") or ""):
        spec, st = rs.get("spec") or {}, rs.get("status") or {}
        want, have, ready = spec.get("replicas", 0), st.get("replicas", 0), st.get("readyReplicas", 0)
        if not (want or have):
            continue
        images = [c.get("image", "") for c in spec.get("template", {}).get("spec", {}).get("containers") or []]
        tag = next((image_tag(i) for i in images if APP_IMAGE in i), None) or "?"
        parts.append(f"{rs['metadata']['name']} {tag} {ready}/{want} ready")
    return "pods: " + (" · ".join(parts) if parts else "none")


# ------------------------------------------------------------------------------ the runner

class _Task:
    """Run ``fn`` in a daemon thread (a Ctrl-C in the main thread must never wait for it)."""

    def __init__(self, fn: Callable[[], Any], name: str):
        self.done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None

        def body() -> None:
            try:
                self._result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self._error = exc
            finally:
                self.done.set()

        self._thread = threading.Thread(target=body, name=name, daemon=True)
        self._thread.start()

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._result


class _Demo:
    """One run; state shared by the steps. Use `run_demo()`."""

    def __init__(self, kube, strategy: Strategy, opts: DemoOptions, registry: str | None,
                 note: Callable[[str], None], observer: Any = None):
        self.kube, self.s, self.opts, self.registry = kube, strategy, opts, registry
        self.observer = observer  # web: fed like the live view (update) + emit() at each step
        self.ns = strategy.namespace
        self.note = note
        self.objects: list[dict] = []
        self.prober: Any = None
        self.view: Any = None
        self.line = ""
        self._ticks = 0

    # -- steps ---------------------------------------------------------------------------------
    def step(self, text: str) -> None:
        self.note(f"{self.s.name}: {text}")
        self.emit("step", {"text": text})

    def emit(self, kind: str, data: dict) -> None:
        """Tell the observer (kubetm.web.observe.DemoObserver), if any, what just happened."""
        if self.observer is not None:
            self.observer.event(kind, data)

    def clear_leftovers(self) -> None:
        ns = self.kube.get("Namespace", self.ns)
        if ns is None:
            return
        if ns["metadata"].get("deletionTimestamp"):
            self.step(f"waiting for namespace {self.ns} (previous run) to be deleted")
        else:
            self.step(f"deleting namespace {self.ns} left by a previous run (--keep)")
        remove_namespace(self.kube, self.ns)

    def setup(self) -> None:
        self.objects = build_objects(self.s.name, self.opts, self.registry)
        for kind in ("Deployment", "ReplicaSet", "Pod", "Service", "EndpointSlice"):
            self.kube.resource(kind)  # discovery once, here: the watch thread and the live loop share it
        self.step(f"applying {', '.join(o['kind'].lower() + '/' + o['metadata']['name'] for o in self.objects)}")
        self.kube.apply(self.objects)
        from kubetm import wait

        for name in self.s.deployments:
            dep = _find(self.objects, "Deployment", name)
            if dep["spec"]["replicas"] == 0:
                continue
            self.step(f"waiting for deployment {name} to be Available ({self.opts.replicas} x "
                      f"{APP_IMAGE}:{self.opts.from_tag})")
            self._wait(lambda n=name: self.kube.watch_until(
                "Deployment", n, wait.deployment_available, namespace=self.ns, timeout=SETUP_TIMEOUT,
                description=f"waiting for deployment {n} to be Available"), live=False)

    def target_url(self) -> tuple[str, str]:
        from kubetm import nodes

        all_nodes = nodes.list_nodes(self.kube)
        pool = nodes.workers(all_nodes) or all_nodes
        if not pool:
            raise KubetmError("the cluster has no nodes")
        node = pool[0]["metadata"]["name"]
        self.emit("nodes", {"nodes": all_nodes})
        return node, f"http://{nodes.host_address_from(all_nodes, node)}:{self.s.node_port}/version"

    def start_prober(self, url: str) -> float:
        """Start probing; returns the t_ms from which the Service answered steadily."""
        from kubetm.demos.prober import Prober

        self.prober = Prober(url, rate=self.opts.rate, timeout=PROBE_TIMEOUT).start()
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while True:
            samples = self.prober.samples()
            tail = samples[-STEADY_ANSWERS:]
            if len(tail) == STEADY_ANSWERS and all(x.ok for x in tail):
                streak = len(samples)
                while streak > 0 and samples[streak - 1].ok:
                    streak -= 1
                return samples[streak].t_ms  # the first answer of the current run of successes
            if time.monotonic() > deadline:
                last = next((x.error for x in reversed(samples) if not x.ok), None) or "no answer"
                raise KubetmError(f"the Service never answered steadily at {url} within {WARMUP_TIMEOUT:g}s "
                                  f"(last error: {last})",
                                  hint=f"is NodePort {self.s.node_port} published by the cluster? see "
                                       "`kubetm cluster status`")
            threading.Event().wait(TICK)

    def update(self) -> dict:
        """The rollout, run in the worker thread; returns timing marks (seconds, monotonic)."""
        return self._blue_green() if self.s.name == "blue-green" else self._template_update()

    def _template_update(self) -> dict:
        from kubetm.demos.rollout import REVISION

        dep = with_image(_find(self.objects, "Deployment", "app"), self.opts.to_tag, self.s.name)
        self.kube.apply([dep])
        done = self.kube.watch_until("Deployment", "app", rollout_done, namespace=self.ns,
                                     timeout=ROLLOUT_TIMEOUT, description=None,
                                     what="deployment app rollout to finish")
        t_done = time.monotonic()
        revision = (done["metadata"].get("annotations") or {}).get(REVISION)
        selector = done["spec"]["selector"].get("matchLabels") or {"app": "app"}
        self.kube.watch_until("ReplicaSet", None, old_replicasets_scaled_down(revision), selector=selector,
                              namespace=self.ns, timeout=ROLLOUT_TIMEOUT, description=None,
                              what="old replicasets scaled to 0")
        return {"complete": t_done, "done": time.monotonic()}

    def _blue_green(self) -> dict:
        from kubetm import wait

        green = with_replicas(_find(self.objects, "Deployment", "app-green"), self.opts.replicas)
        self.kube.apply([green])
        self.kube.watch_until("Deployment", "app-green", wait.deployment_available, namespace=self.ns,
                              timeout=ROLLOUT_TIMEOUT, description=None, what="deployment app-green Available")
        svc = with_selector_color(_find(self.objects, "Service"), "green")
        t_switch = time.monotonic()
        self.kube.apply([svc])
        self.kube.watch_until("EndpointSlice", None, only_color_ready("app-green"),
                              selector={"kubernetes.io/service-name": "app"}, namespace=self.ns,
                              timeout=ROLLOUT_TIMEOUT, description=None, what="service app endpoints all green")
        t_switched = time.monotonic()
        blue = with_replicas(_find(self.objects, "Deployment", "app-blue"), 0)
        self.kube.apply([blue])
        self.kube.watch_until("Deployment", "app-blue", scaled_to_zero, namespace=self.ns,
                              timeout=ROLLOUT_TIMEOUT, description=None, what="deployment app-blue scaled to 0")
        return {"switch": t_switch, "switched": t_switched, "done": time.monotonic()}

    # -- live loop -----------------------------------------------------------------------------
    def _wait(self, fn: Callable[[], Any], live: bool = True) -> Any:
        """Run ``fn`` (a watch) in a worker thread; meanwhile refresh the live view and check pods."""
        task = _Task(fn, f"kubetm-demo-{self.s.name}")
        while not task.done.wait(TICK):
            self.tick(live)
        return task.result()

    def pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            threading.Event().wait(min(TICK, left))
            self.tick(True)

    def tick(self, live: bool) -> None:
        """Every TICK: redraw; every TICKS_PER_LIST ticks: list ReplicaSets and pods (cheap), abort on a
        pod that will not become Ready by itself (image pull errors, crash loops)."""
        if self._ticks % TICKS_PER_LIST == 0:
            from kubetm import wait

            sel = {"app": "app"}
            rss = self.kube.list("ReplicaSet", namespace=self.ns, selector=sel)
            self.line = replicaset_line(rss)
            pods = self.kube.list("Pod", namespace=self.ns, selector=sel)
            self.emit("cluster", {"replicasets": rss, "pods": pods, "line": self.line})
            for pod in pods:
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                problem = wait.pod_problem(pod)
                if problem:
                    raise KubetmError(f"pod {pod['metadata']['name']} will not become Ready: {problem}",
                                      hint="is the image pushed? `kubetm image push app`" if "Image" in problem
                                      else f"kubectl -n {self.ns} describe pod {pod['metadata']['name']}")
        self._ticks += 1
        if live and self.prober is not None and (self.view is not None or self.observer is not None):
            samples, now_ms = self.prober.samples(), self.prober.elapsed_ms()
            for view in (self.view, self.observer):
                if view is not None:
                    view.update(samples, now_ms, self.line)

    # -- cleanup -------------------------------------------------------------------------------
    def cleanup(self, keep: bool) -> None:
        if self.prober is not None:
            self.prober.stop()
        if keep:
            self.step(f"kept namespace {self.ns} (--keep); remove it with `kubetm demo delete {self.s.name}`")
            return
        self.step(f"deleting namespace {self.ns}")
        remove_namespace(self.kube, self.ns)


def remove_namespace(kube, ns: str, timeout: float = NAMESPACE_TIMEOUT) -> str:
    """Delete a demo namespace and watch until it is gone: first its Deployments and Services
    (foreground: their pods are gone when this returns), then the namespace itself.

    A namespace the cluster cannot finish deleting is reported with the namespace controller's
    own reason (status.conditions), not as a bare timeout. Returns "deleted" or "not found".
    """
    from kubetm.errors import EXIT_TIMEOUT

    ns_obj = kube.get("Namespace", ns)
    if ns_obj is None:
        return "not found"
    if not ns_obj["metadata"].get("deletionTimestamp"):
        objs = [{"apiVersion": o.get("apiVersion", ""), "kind": o["kind"], "metadata": {"name": o["metadata"]["name"]}}
                for kind in ("Deployment", "Service") for o in kube.list(kind, namespace=ns)]
        if objs:
            kube.delete(objs, namespace=ns, wait=True, timeout=timeout, description=f"deleting the objects in {ns}")
        kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, wait=False,
                    propagation="Background")
    try:
        kube.watch_until("Namespace", ns, lambda o: o is None, timeout=timeout,
                         description=f"waiting for namespace {ns} to be deleted")
    except KubetmError as exc:
        if exc.exit_code != EXIT_TIMEOUT:
            raise
        stuck = kube.get("Namespace", ns) or {}
        reasons = [c.get("message") for c in (stuck.get("status") or {}).get("conditions") or []
                   if c.get("status") == "True" and c.get("message")]
        raise KubetmError(f"namespace {ns} is still terminating after {timeout:g}s"
                          + (f": {reasons[0]}" if reasons else ""),
                          hint="the cluster's namespace controller cannot finish; `kubectl get apiservices` "
                               "shows unavailable API groups", exit_code=EXIT_TIMEOUT) from None
    return "deleted"


def _console():
    from rich.console import Console

    return Console(stderr=True)


def run_demo(kube, strategy: str, opts: DemoOptions, *, registry: str | None = None, keep: bool = False,
             note: Callable[[str], None] | None = None, observer: Any = None) -> dict:
    """Run one demo on the cluster (steps in the module docstring); returns the summary dict.

    Objects are removed at the end, on errors and on Ctrl-C/SIGTERM unless ``keep``.
    ``observer`` (the web page, kubetm.web.observe.DemoObserver) gets ``update(samples, now_ms,
    line)`` like the live view and ``event(kind, data)`` for run, step, nodes, cluster, probing,
    update, result.
    """
    from kubetm.demos.live import LiveView
    from kubetm.demos.timeline import summarize
    from kubetm.output import note as default_note

    s = strategy_of(strategy)
    demo = _Demo(kube, s, opts, registry, note or default_note, observer)
    result: dict[str, Any] | None = None
    demo.emit("run", {"strategy": s.name, "lesson": s.lesson, "from": opts.from_tag, "to": opts.to_tag,
                      "replicas": opts.replicas, "rate": opts.rate, "namespace": s.namespace,
                      "node_port": s.node_port})
    try:
        demo.clear_leftovers()
        node, url = demo.target_url()
        demo.setup()
        demo.step(f"probing {url} at {opts.rate:g} requests/s (node {node})")
        steady_ms = demo.start_prober(url)
        demo.emit("probing", {"steady_ms": steady_ms, "url": url, "node": node})
        console = _console()
        with LiveView(f"{s.name}: {APP_IMAGE}:{opts.from_tag} -> {opts.to_tag}", console=console) as view:
            demo.view = view
            demo.pause(LEAD_SECONDS)
            demo.step(f"updating {APP_IMAGE}:{opts.from_tag} -> {APP_IMAGE}:{opts.to_tag}")
            t_update = time.monotonic()
            update_ms = demo.prober.elapsed_ms()
            demo.emit("update", {"update_ms": update_ms})
            marks = demo._wait(demo.update)
            rollout_seconds = marks["done"] - t_update
            demo.pause(opts.duration)
            demo.prober.stop()
            demo.tick(True)
            demo.view = None
        if not console.is_terminal:
            console.line()  # the panel's last line has no newline on a pipe
        demo.step(f"rollout finished in {rollout_seconds:.1f}s")
        samples = [x for x in demo.prober.samples() if x.t_ms >= steady_ms]
        summary = summarize(samples, strategy=s.name, update_start_ms=update_ms, rollout_seconds=rollout_seconds)
        stats = demo.prober.stats()
        extras: dict[str, Any] = {
            "namespace": s.namespace, "url": url, "node": node,
            "from": opts.from_tag, "to": opts.to_tag, "replicas": opts.replicas,
            "options": opts.to_dict(), "rate": opts.rate,
            "achieved_rate": round(stats["rate"], 1), "skipped": stats["skipped"],
            "warmup_requests": len(demo.prober.samples()) - len(samples),
            "lesson": s.lesson,
        }
        if "switch" in marks:
            extras["switch_ms"] = round((marks["switch"] - t_update) * 1000.0, 1)
        timeline = summary.pop("timeline")  # type: ignore[misc]
        result = {**summary, **extras, "timeline": timeline}
        demo.emit("result", result)
        return result
    finally:
        try:
            demo.cleanup(keep)
        except KubetmError as exc:  # the run's own result (or error) matters more: report, go on
            demo.note(f"warning: cleanup failed: {exc}")
            if result is not None:
                result["cleanup_error"] = exc.message


def delete_demo(kube, strategy: str) -> dict:
    """Delete a demo's namespace (and everything in it); waits until it is gone."""
    s = strategy_of(strategy)
    return {"strategy": s.name, "namespace": s.namespace, "action": remove_namespace(kube, s.namespace)}


# ------------------------------------------------------------------------------- rendering

def _headline(run: dict) -> str:
    return (f"{run['strategy']}: {run['requests']} requests, {run['failures']} failed, downtime "
            f"{run['downtime_ms'] / 1000:.2f}s, overlap {run['overlap_ms'] / 1000:.2f}s, rollout "
            f"{run['rollout_seconds']:.1f}s ({run.get('from', '?')} -> {run.get('to', '?')}, "
            f"{run.get('replicas', '?')} replicas, {run.get('rate', 0):g} req/s)")


def render_run(run: dict) -> str:
    from kubetm.demos.timeline import render_table

    lines = [_headline(run), "", render_table([run]), "", f"lesson: {run.get('lesson', '')}"]
    if run.get("plot"):
        lines.append(f"plot: {run['plot']}")
    return "\n".join(lines)


def render_compare(result: dict) -> str:
    from kubetm.demos.timeline import render_table

    runs = result["runs"]
    lines = [render_table(runs), ""] + [f"{r['strategy']}: {r.get('lesson', '')}" for r in runs]
    if result.get("plot"):
        lines.append(f"plot: {result['plot']}")
    return "\n".join(lines)
