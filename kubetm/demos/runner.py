"""One demo run, the same for every strategy: set up, probe, the strategy's update, summary, clean-up.

One run is a sequence of named steps (one progress line each on stderr):

  1. validate   options (`validate_options`) - bad values end here, before any API call
  2. setup      namespace kubetm-demo-<strategy>: Deployment(s) + NodePort Service from
                manifests/demo/<strategy>.yaml (server-side apply), watch until Available
  3. probe      `Prober` from the host to http://<node's loopback address>:<NodePort>/version;
                waits until the Service answers steadily (warm-up is not counted), then ~1 s more
  4. update     the strategy's own step (kubetm/demos/strategies.py), in a worker thread.
                recreate / rolling-update: apply the Deployment with image --to (server-side
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

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from kubetm.demos.objects import APP_IMAGE, find
from kubetm.demos.options import DemoOptions
from kubetm.demos.rendering import replicaset_line
from kubetm.demos.strategies import Strategy, strategy_of
from kubetm.errors import KubetmError, Timeout
from kubetm.k8s import conditions
from kubetm.labels import DEMO

__all__ = ["run_demo", "delete_demo", "remove_namespace", "DemoRun", "Task"]

# Seconds per request: a request with no answer by then counts as failed. Above TCP's initial
# retransmission timeout (1 s): a single lost SYN, or a sub-second stall of a loaded host (the
# test suite's parallel phase on 2 cores measured answers of up to 0.8 s with no fault and no
# rollout, and once a 1.0 s timeout in a rolling update), is a slow answer as it is for any
# real client, not downtime. Recreate's outage still shows: refused/reset connections, and
# requests hanging until a pod is back (measured 3-5 s) time out.
PROBE_TIMEOUT = 2.0
STEADY_ANSWERS = 10  # the Service answers steadily after this many successes in a row
WARMUP_TIMEOUT = 45.0  # seconds to wait for STEADY_ANSWERS before the update
LEAD_SECONDS = 1.0  # probing before the update, after the warm-up
SETUP_TIMEOUT = 180.0
NAMESPACE_TIMEOUT = 120.0
TICK = 0.25  # live view refresh; cluster state is listed every TICKS_PER_LIST ticks
TICKS_PER_LIST = 4


class Task:
    """Run ``fn`` in a daemon thread (a Ctrl-C in the main thread must never wait for it)."""

    def __init__(self, fn: Callable[[], Any], name: str):
        self.done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None

        def body() -> None:
            try:
                self._result = fn()
            except BaseException as exc:
                self._error = exc
            finally:
                self.done.set()

        self._thread = threading.Thread(target=body, name=name, daemon=True)
        self._thread.start()

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._result


class DemoRun:
    """One run; state shared by the steps (the strategy's `update` reads kube, ns, objects, opts).
    Use `run_demo()`."""

    def __init__(
        self,
        kube,
        strategy: Strategy,
        opts: DemoOptions,
        registry: str | None,
        note: Callable[[str], None],
        observer: Any = None,
    ):
        self.kube, self.s, self.opts, self.registry = kube, strategy, opts, registry
        self.observer = observer  # web: fed like the live view (update) + emit() at each step
        self.ns = strategy.namespace
        self.note = note
        self.objects: list[dict] = []
        self.nodes: list[dict] = []  # the cluster's Nodes, listed by target_url
        self.prober: Any = None
        self.view: Any = None
        self.line = ""
        self._ticks = 0
        self.lock: Any = None
        self.steps: list[str] = []  # what was done so far (`-o json` on failure shows it)
        self.update_ms: float | None = None
        self.steady_ms: float | None = None
        self.cleanup_seconds: float | None = None

    # -- steps ---------------------------------------------------------------------------------
    def step(self, text: str) -> None:
        self.steps.append(text)
        self.note(f"{self.s.name}: {text}")
        self.emit("step", {"text": text})

    def emit(self, kind: str, data: dict) -> None:
        """Tell the observer (kubetm.web.observe.DemoObserver), if any, what just happened."""
        if self.observer is not None:
            self.observer.event(kind, data)

    def take_lock(self, wait: bool = False) -> None:
        """The demo's run lock (a Lease in its namespace, kubetm/k8s/lease.py): refused at once
        (or waited for) while another run holds it, then leftovers are cleared and it is taken."""
        make = getattr(self.kube, "run_lock", None)
        if make is None:  # an in-memory kube without Leases (unit tests)
            self.clear_leftovers()
            return
        lock = make(
            self.ns, what=f"demo {self.s.name}", labels={DEMO: self.s.name}, progress=self.note
        )
        lock.check(wait=wait)  # before clear_leftovers: never delete a live run's namespace
        self.clear_leftovers()
        lock.acquire(wait=wait)
        self.lock = lock
        if lock.took_over:
            self.step(f"took over the run lock from {lock.took_over}")

    def partial(self) -> dict:
        """What was measured before a failure: the steps done and the timeline so far."""
        from kubetm.demos.timeline import summarize

        out: dict[str, Any] = {
            "strategy": self.s.name,
            "namespace": self.ns,
            "from": self.opts.from_tag,
            "to": self.opts.to_tag,
            "steps": list(self.steps),
        }
        if self.prober is not None:
            samples = [
                x
                for x in self.prober.samples()
                if self.steady_ms is None or x.t_ms >= self.steady_ms
            ]
            summary = dict(
                summarize(
                    samples,
                    strategy=self.s.name,
                    update_start_ms=self.update_ms if self.update_ms is not None else 0.0,
                )
            )
            summary["updated"] = self.update_ms is not None
            out.update(summary)
        if self.cleanup_seconds is not None:
            out["cleanup_seconds"] = round(self.cleanup_seconds, 1)
        return out

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
        from kubetm.images import push_missing

        self.objects = self.s.objects(self.opts, self.registry)
        target = {"image": f"{self.registry or 'localhost:5001'}/{APP_IMAGE}:{self.opts.to_tag}"}
        for line in push_missing(self.kube, [*self.objects, target], self.registry):
            self.step(line)
        for kind in ("Deployment", "ReplicaSet", "Pod", "Service", "EndpointSlice"):
            self.kube.resource(
                kind
            )  # discovery once, here: the watch thread and the live loop share it
        self.step(
            f"applying {', '.join(o['kind'].lower() + '/' + o['metadata']['name'] for o in self.objects)}"
        )
        self.kube.apply(self.objects)
        for name in self.s.deployments:
            dep = find(self.objects, "Deployment", name)
            if dep["spec"]["replicas"] == 0:
                continue
            self.step(
                f"waiting for deployment {name} to be Available ({self.opts.replicas} x "
                f"{APP_IMAGE}:{self.opts.from_tag})"
            )
            self._wait(
                partial(
                    self.kube.watch_until,
                    "Deployment",
                    name,
                    conditions.deployment_available,
                    namespace=self.ns,
                    timeout=SETUP_TIMEOUT,
                    what=f"deployment {name} to be Available",
                ),
                live=False,
            )

    def target_url(self) -> tuple[str, str]:
        from kubetm import nodes

        all_nodes = nodes.list_nodes(self.kube)
        pool = nodes.workers(all_nodes) or all_nodes
        if not pool:
            raise KubetmError("the cluster has no nodes")
        node = pool[0]["metadata"]["name"]
        self.emit("nodes", {"nodes": all_nodes})
        self.nodes = all_nodes
        return node, f"http://{nodes.host_endpoint_from(all_nodes, node, self.s.node_port)}/version"

    def forget_connections(self) -> None:
        """Before probing: drop what the nodes (``target_url`` listed them) kept in connection
        tracking of earlier runs' traffic to this demo's NodePort
        (kubetm.cluster.forget_node_port_connections says why)."""
        from kubetm.cluster import forget_node_port_connections

        counts = forget_node_port_connections(self.nodes, self.s.node_port)
        stale = {name: n for name, n in counts.items() if n}
        if stale:
            self.step(
                f"forgot {sum(stale.values())} tracked connection(s) to NodePort "
                f"{self.s.node_port} left by earlier traffic on "
                + ", ".join(f"{name} ({n})" for name, n in sorted(stale.items()))
            )

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
                raise KubetmError(
                    f"the Service never answered steadily at {url} within {WARMUP_TIMEOUT:g}s "
                    f"(last error: {last})",
                    hint=f"is NodePort {self.s.node_port} published by the cluster? see "
                    "`kubetm cluster status`",
                )
            threading.Event().wait(TICK)

    def update(self) -> dict:
        """The strategy's update, run in the worker thread; returns its timing marks (monotonic)."""
        return self.s.update(self)

    # -- live loop -----------------------------------------------------------------------------
    def _wait(self, fn: Callable[[], Any], live: bool = True) -> Any:
        """Run ``fn`` (a watch) in a worker thread; meanwhile refresh the live view and check pods."""
        task = Task(fn, f"kubetm-demo-{self.s.name}")
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
            sel = {"app": "app"}
            rss = self.kube.list("ReplicaSet", namespace=self.ns, selector=sel)
            self.line = replicaset_line(rss)
            pods = self.kube.list("Pod", namespace=self.ns, selector=sel)
            self.emit("cluster", {"replicasets": rss, "pods": pods, "line": self.line})
            self._check_nodes(pods)
            for pod in pods:
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                problem = conditions.pod_problem(pod)
                if problem:
                    raise KubetmError(
                        f"pod {pod['metadata']['name']} will not become Ready: {problem}",
                        hint="is the image pushed? `kubetm image push app`"
                        if "Image" in problem
                        else f"kubectl -n {self.ns} describe pod {pod['metadata']['name']}",
                    )
        self._ticks += 1
        if (
            live
            and self.prober is not None
            and (self.view is not None or self.observer is not None)
        ):
            samples, now_ms = self.prober.samples(), self.prober.elapsed_ms()
            for view in (self.view, self.observer):
                if view is not None:
                    view.update(samples, now_ms, self.line)

    def _check_nodes(self, pods: list[dict]) -> None:
        """A new pod (image --to) that is not Ready on a node that is NotReady (stopped, paused)
        will not become Ready while the node is down: say so now, not at the progress deadline."""
        new = [
            p
            for p in pods
            if not p["metadata"].get("deletionTimestamp")
            and (p.get("spec") or {}).get("nodeName")
            and not conditions.is_ready(p)
            and any(
                str(c.get("image", "")).endswith(f":{self.opts.to_tag}")
                for c in (p.get("spec") or {}).get("containers") or []
            )
        ]
        if not new:
            return
        from kubetm.k8s.cleanup import dead_nodes

        dead = dead_nodes(self.kube)
        for pod in new:
            node = pod["spec"]["nodeName"]
            if node in dead:
                raise KubetmError(
                    f"pod {pod['metadata']['name']} ({self.opts.to_tag}) is on node {node}, which "
                    "is NotReady: it will not become Ready while the node is down",
                    hint="is the node's container stopped or paused? `kubetm cluster status`",
                )

    # -- cleanup -------------------------------------------------------------------------------
    def cleanup(self, keep: bool) -> None:
        if self.prober is not None:
            self.prober.stop()
        if self.lock is not None:
            self.lock.release(delete=keep)  # without keep the Lease goes with the namespace
        if keep:
            self.step(
                f"kept namespace {self.ns} (--keep); remove it with `kubetm demo delete {self.s.name}`"
            )
            return
        self.step(f"deleting namespace {self.ns}")
        start = time.monotonic()
        remove_namespace(self.kube, self.ns, note=self.note, report=lambda line: self.step(line))
        self.cleanup_seconds = time.monotonic() - start


def remove_namespace(
    kube,
    ns: str,
    timeout: float = NAMESPACE_TIMEOUT,
    note: Callable[[str], None] | None = None,
    report: Callable[[str], None] | None = None,
) -> str:
    """Delete a demo namespace (background) and watch until it is gone; pods on a node that is
    gone are force-deleted meanwhile (kubetm/k8s/cleanup.py), so a stopped node cannot hold it.
    The demo's pods are deleted first with grace period 0: no traffic is left to drain, and
    their preStop sleep (15 s, for kube-proxy's lag) would otherwise hold the deletion.

    A namespace the cluster cannot finish deleting is reported with the namespace controller's
    own reason (status.conditions), not as a bare timeout. Returns "deleted" or "not found";
    ``report`` gets the line saying how long it took ("namespace X deleted in 2.1s").
    """
    if hasattr(kube, "delete_namespaces"):
        if kube.get("Namespace", ns) is None:
            return "not found"
        done = kube.delete_namespaces([ns], timeout=timeout, progress=note, pods_at_once=True)
        if report is not None:
            report(done.line())
        return "deleted"
    ns_obj = kube.get("Namespace", ns)  # an in-memory kube (unit tests)
    if ns_obj is None:
        return "not found"
    if not ns_obj["metadata"].get("deletionTimestamp"):
        objs = [
            {
                "apiVersion": o.get("apiVersion", ""),
                "kind": o["kind"],
                "metadata": {"name": o["metadata"]["name"]},
            }
            for kind in ("Deployment", "Service")
            for o in kube.list(kind, namespace=ns)
        ]
        if objs:
            kube.delete(objs, namespace=ns, wait=True, timeout=timeout)
        kube.delete(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            wait=False,
            propagation="Background",
        )
    try:
        kube.watch_until(
            "Namespace",
            ns,
            lambda o: o is None,
            timeout=timeout,
            what=f"namespace {ns} to be deleted",
        )
    except Timeout:
        stuck = kube.get("Namespace", ns) or {}
        reasons = [
            c.get("message")
            for c in (stuck.get("status") or {}).get("conditions") or []
            if c.get("status") == "True" and c.get("message")
        ]
        raise Timeout(
            f"namespace {ns} is still terminating after {timeout:g}s"
            + (f": {reasons[0]}" if reasons else ""),
            hint="the cluster's namespace controller cannot finish; `kubectl get apiservices` "
            "shows unavailable API groups",
        ) from None
    return "deleted"


def _console():
    from rich.console import Console

    return Console(stderr=True)


def run_demo(
    kube,
    strategy: str,
    opts: DemoOptions,
    *,
    registry: str | None = None,
    keep: bool = False,
    note: Callable[[str], None] | None = None,
    observer: Any = None,
    wait_lock: bool = False,
) -> dict:
    """Run one demo on the cluster (steps in the module docstring); returns the summary dict.

    Objects are removed at the end, on errors and on Ctrl-C/SIGTERM unless ``keep``. Another run
    of the same demo (its Lease) refuses this one at once, or with ``wait_lock`` is waited for.
    On an error the exception carries ``partial``: what was measured so far (`-o json` prints it).
    ``observer`` (the web page, kubetm.web.observe.DemoObserver) gets ``update(samples, now_ms,
    line)`` like the live view and ``event(kind, data)`` for run, step, nodes, cluster, probing,
    update, result.
    """
    from kubetm import progress
    from kubetm.demos.live import LiveView
    from kubetm.demos.timeline import summarize

    s = strategy_of(strategy)
    demo = DemoRun(kube, s, opts, registry, note or progress.note, observer)
    result: dict[str, Any] | None = None
    failure: BaseException | None = None
    demo.emit(
        "run",
        {
            "strategy": s.name,
            "lesson": s.lesson,
            "from": opts.from_tag,
            "to": opts.to_tag,
            "replicas": opts.replicas,
            "rate": opts.rate,
            "namespace": s.namespace,
            "node_port": s.node_port,
        },
    )
    try:
        demo.take_lock(wait_lock)
    except BaseException as exc:  # refused: nothing of ours to clean up
        _attach_partial(exc, demo.partial())
        raise
    try:
        node, url = demo.target_url()
        demo.forget_connections()
        demo.setup()
        demo.step(f"probing {url} at {opts.rate:g} requests/s (node {node})")
        steady_ms = demo.steady_ms = demo.start_prober(url)
        demo.emit("probing", {"steady_ms": steady_ms, "url": url, "node": node})
        console = _console()
        with LiveView(
            f"{s.name}: {APP_IMAGE}:{opts.from_tag} -> {opts.to_tag}", console=console
        ) as view:
            demo.view = view
            demo.pause(LEAD_SECONDS)
            demo.step(f"updating {APP_IMAGE}:{opts.from_tag} -> {APP_IMAGE}:{opts.to_tag}")
            t_update = time.monotonic()
            update_ms = demo.update_ms = demo.prober.elapsed_ms()
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
        summary = summarize(
            samples, strategy=s.name, update_start_ms=update_ms, rollout_seconds=rollout_seconds
        )
        stats = demo.prober.stats()
        extras: dict[str, Any] = {
            "namespace": s.namespace,
            "url": url,
            "node": node,
            "from": opts.from_tag,
            "to": opts.to_tag,
            "replicas": opts.replicas,
            "options": opts.to_dict(),
            "rate": opts.rate,
            "achieved_rate": round(stats["rate"], 1),
            "skipped": stats["skipped"],
            "warmup_requests": len(demo.prober.samples()) - len(samples),
            "probe_timeout_s": PROBE_TIMEOUT,
            "max_latency_ms": round(max((x.latency_ms for x in samples if x.ok), default=0.0), 1),
            "lesson": s.lesson,
        }
        extras.update(s.extras(marks, t_update))
        timeline = summary.pop("timeline")  # type: ignore[misc]
        result = {**summary, **extras, "timeline": timeline}
        demo.emit("result", result)
        return result
    except BaseException as exc:
        failure = exc
        raise
    finally:
        try:
            demo.cleanup(keep)
        except KubetmError as exc:  # the run's own result (or error) matters more: report, go on
            demo.note(f"warning: cleanup failed: {exc}")
            if result is not None:
                result["cleanup_error"] = exc.message
        if result is not None and demo.cleanup_seconds is not None:
            result["cleanup_seconds"] = round(demo.cleanup_seconds, 1)
        if failure is not None:
            _attach_partial(failure, demo.partial())


def _attach_partial(exc: BaseException, data: dict) -> None:
    """Hang what a failed run measured on its exception; kubetm.cli.main prints it with `-o json`
    (``{"ok": false, "error": ..., **partial}``)."""
    try:
        exc.partial = {**data, **(getattr(exc, "partial", None) or {})}  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - exceptions without a __dict__
        pass


def delete_demo(kube, strategy: str, wait_lock: bool = False, force: bool = False) -> dict:
    """Delete a demo's namespace (and everything in it); waits until it is gone. Refused while a
    run of the demo holds its run lock (or waited for with ``wait_lock``), unless ``force``."""
    from kubetm.k8s.lease import check_not_running

    s = strategy_of(strategy)
    if not force:
        check_not_running(kube, s.namespace, f"demo {s.name}", wait_lock)
    start = time.monotonic()
    action = remove_namespace(kube, s.namespace)
    return {
        "strategy": s.name,
        "namespace": s.namespace,
        "action": action,
        "seconds": round(time.monotonic() - start, 1),
    }
