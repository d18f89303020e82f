"""Turn what a demo or a lab run reports into page events (pure, no I/O but ``publish``).

A demo calls its observer like its terminal live view (see kubetm/demos/live.py):
``update(samples, now_ms, line)`` every tick while the rollout runs, plus ``event(kind, data)``
at its steps (run, step, nodes, probing, update, cluster, result). Labs report through the
runner's ``on_event(event, lab, data)``. Both become JSON events for the page:

    run      {run, strategy, lesson, from, to, replicas, rate, namespace}
    step     {run, text}
    nodes    {run, nodes: [{name, course, role}]}
    probing  {run, steady_ms, url, node}          (prober clock, ms)
    update   {run, update_ms}                     (prober clock, ms)
    points   {run, points: [timeline Point, t_ms on the prober clock], now_ms}
    numbers  {run, requests, failures, downtime_ms, overlap_ms, first_new_ms, last_old_ms, now_ms, text}
    cluster  {run, pods: [...], replicasets: [...], line}
    result   {run, summary, text}                 (the run's -o json dict, timeline relative to update;
                                                   text: the CLI table's cells, timeline.cells)
    lab      {event, lab, data}
    end      {ok, error?}                         (the last event)

Points and numbers come from kubetm.demos.timeline (`point`, `metrics`): the same definitions
as `-o json` and the static plot.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

Publish = Callable[[dict[str, Any]], Any]
COURSE_NODE_LABEL = "kubetm.io/course-node"


def compact_nodes(nodes: Sequence[dict]) -> list[dict]:
    """Node objects -> ``{name, course, role}`` sorted by name (course: k8s-node1/2 or None)."""
    out = []
    for n in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        labels = n["metadata"].get("labels") or {}
        role = "control-plane" if "node-role.kubernetes.io/control-plane" in labels else "worker"
        out.append(
            {"name": n["metadata"]["name"], "course": labels.get(COURSE_NODE_LABEL), "role": role}
        )
    return out


def _tag(image: str) -> str | None:
    name = image.rsplit("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _app_version(containers: Sequence[dict]) -> str | None:
    images = [c.get("image", "") for c in containers or []]
    image = next((i for i in images if "kubetm/app" in i), images[0] if images else "")
    return _tag(image) if image else None


def compact_pod(pod: dict) -> dict:
    """A Pod -> ``{name, node, phase, ready, version, owner, color, deleting}``."""
    meta, spec, st = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []
    )
    owner = next((o.get("name") for o in meta.get("ownerReferences") or []), None)
    return {
        "name": meta["name"],
        "node": spec.get("nodeName"),
        "phase": st.get("phase") or "Pending",
        "ready": ready,
        "version": _app_version(spec.get("containers") or []),
        "owner": owner,
        "color": (meta.get("labels") or {}).get("color"),
        "deleting": bool(meta.get("deletionTimestamp")),
    }


def compact_replicaset(rs: dict) -> dict:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return {
        "name": rs["metadata"]["name"],
        "version": _app_version(containers),
        "want": spec.get("replicas", 0),
        "have": st.get("replicas", 0),
        "ready": st.get("readyReplicas", 0),
        "created": rs["metadata"].get("creationTimestamp"),
    }


class DemoObserver:
    """The observer a demo run feeds; publishes page events (thread-safe enough: the demo calls it
    from its main loop only)."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish
        self.run = -1
        self.errors = 0  # events the page could not get (never raised into the demo)
        self._reset()

    def _reset(self) -> None:
        self.steady_ms: float | None = None
        self.update_ms: float | None = None
        self._sent: set[Any] = set()
        self._count = 0  # samples at or after steady_ms already published
        from kubetm.demos.timeline import RunningMetrics

        # settle after 1.5 s: a demo's probe times out after 1 s; a later one only costs a recount
        self._metrics = RunningMetrics(settle_ms=1500.0)

    # -- the demo's event seam -------------------------------------------------------------------
    def event(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self._event(kind, data)
        except Exception:
            self.errors += 1

    def update(self, samples: Sequence[Any], now_ms: float, line: str = "") -> None:
        """The live view's seam (the same call as LiveView.update): ``samples`` ordered by t_ms
        (a prober snapshot); publishes the new ones and the numbers so far."""
        try:
            self._update(samples, now_ms)
        except Exception:
            self.errors += 1

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        from kubetm.demos.timeline import cells

        if kind == "run":
            self.run += 1
            self._reset()
            self.publish({"type": "run", "run": self.run, **data})
        elif kind == "nodes":
            self.publish({"type": "nodes", "run": self.run, "nodes": compact_nodes(data["nodes"])})
        elif kind == "cluster":
            self.publish(
                {
                    "type": "cluster",
                    "run": self.run,
                    "pods": [compact_pod(p) for p in data.get("pods") or []],
                    "replicasets": [compact_replicaset(r) for r in data.get("replicasets") or []],
                    "line": data.get("line", ""),
                }
            )
        elif kind == "probing":
            self.steady_ms = float(data["steady_ms"])
            self.publish({"type": "probing", "run": self.run, **data})
        elif kind == "update":
            self.update_ms = float(data["update_ms"])
            self.publish({"type": "update", "run": self.run, **data})
        elif kind == "result":
            self.publish({"type": "result", "run": self.run, "summary": data, "text": cells(data)})
        else:
            self.publish({"type": kind, "run": self.run, **data})

    def _update(self, samples: Sequence[Any], now_ms: float) -> None:
        from kubetm.demos.timeline import cells, point

        if self.steady_ms is None:
            return
        counted = samples[bisect_left(samples, self.steady_ms, key=lambda s: s.t_ms) :]
        missing = len(counted) - self._count
        if missing <= 0:
            return
        new = []
        # New samples sit near the end (a request is recorded when it ends, at most a timeout late):
        # walk back from the end until every new one is found.
        for s in reversed(counted):
            if s not in self._sent:
                new.append(s)
                if len(new) == missing:
                    break
        new.reverse()
        self._sent.update(new)
        self._count = len(counted)
        self.publish(
            {
                "type": "points",
                "run": self.run,
                "now_ms": round(now_ms, 1),
                "points": [point(s) for s in new],
            }
        )
        origin = self.update_ms if self.update_ms is not None else self.steady_ms
        numbers = self._metrics.update(
            counted, update_start_ms=origin
        )  # == timeline.metrics(counted)
        self.publish(
            {
                "type": "numbers",
                "run": self.run,
                "now_ms": round(now_ms, 1),
                **numbers,
                "text": cells(numbers),
            }
        )


class LabObserver:
    """``on_event(event, lab, data)`` of the lab runner -> ``lab`` page events."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish

    def __call__(self, event: str, lab: str, data: Any = None) -> None:
        if event in ("applied", "deleted"):
            data = len(data) if isinstance(data, (list, tuple)) else data
        elif hasattr(data, "to_dict"):
            data = data.to_dict()
        self.publish({"type": "lab", "event": event, "lab": lab, "data": data})


def lab_plan(names: Sequence[str]) -> list[dict]:
    """What the page lists before a lab run starts: each lab's title, lesson and checks."""
    from kubetm.labs.runner import show

    plan = []
    for name in names:
        info = show(name)
        plan.append(
            {
                "name": info["name"],
                "title": info["title"],
                "lesson": info["lesson"],
                "checks": [
                    {"name": c["name"], "description": c["description"]} for c in info["checks"]
                ],
            }
        )
    return plan
