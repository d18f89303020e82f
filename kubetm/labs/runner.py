"""`kubetm lab apply | verify | delete | run | list | show`: what each command does, in one place.

* apply  — validate every manifest of the lab (steps too), re-check the course node labels,
           server-side apply ``manifests/<lab>/*.yaml`` (not ``steps/``).
* verify — run the lab's checks in order, each timed; one ``CheckResult`` per check, in the
           lab's order (checks of different ``track``s run side by side). Verify only
           observes (checks may apply the lab's own step files); it never re-applies the lab.
* delete — the lab's ``cleanup`` hook, then its namespaces and every cluster-scoped object
           labelled ``kubetm.io/lab=<lab>`` (PersistentVolumes); waits until they are gone.
* run    — apply, verify, delete; delete also on failure and on Ctrl-C unless ``keep``.
           Several labs: up to ``jobs`` at once, never two whose declared ``shares`` intersect
           (``schedule``); a ``cluster`` lab runs with nothing beside it.

apply applies the files one by one in name order (kubectl's order), each file's objects together.
Progress goes to ``on_event(event, lab, data)`` (called from worker threads too, serialised by a
lock); ``event`` is a ``LabEvent`` (kubetm/labs/events.py says what ``data`` is for each).

Example:
    results = run(Kube(context="kind-kubetm"), "all")
    print("\\n".join(line for r in results for line in r.lines()))
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from kubetm.labels import COURSE_NODE, LAB, MANAGED_BY, MANAGED_BY_VALUE
from kubetm.labs import catalog
from kubetm.labs.base import Cancelled, Lab, LabContext, LabResult, conflicts, run_check
from kubetm.labs.events import LabEvent

__all__ = [
    "DEFAULT_JOBS",
    "apply",
    "as_json",
    "delete",
    "list_labs",
    "render_list",
    "render_show",
    "priority",
    "run",
    "schedule",
    "show",
    "verify",
]

DEFAULT_JOBS = 6  # `lab run --jobs`; why 6: docs/DESIGN.md, "The suite's budget"
DELETE_TIMEOUT = 300.0
# Cluster-scoped kinds a lab may create; `delete` removes those labelled kubetm.io/lab=<lab>.
CLUSTER_KINDS = ("Namespace", "PersistentVolume")

EventFn = Callable[[LabEvent, str, Any], None]


def _quiet(event: LabEvent, lab: str, data: Any = None) -> None:
    return None


def _serialised(on_event: EventFn | None) -> EventFn:
    if on_event is None:
        return _quiet
    lock = threading.Lock()

    def emit(event: LabEvent, lab: str, data: Any = None) -> None:
        with lock:
            on_event(event, lab, data)

    return emit


# ------------------------------------------------------------------------------ list / show


def list_labs() -> list[dict]:
    """One row per lab, in course order: name, title, lesson, namespaces, checks, exclusive.

    Example:
        [row["name"] for row in list_labs()]   # ['pod', 'service', ...]
    """
    rows = []
    for lab in catalog.resolve("all"):
        rows.append(
            {
                "name": lab.name,
                "title": lab.title,
                "lesson": lab.lesson,
                "namespaces": list(lab.namespaces),
                "checks": len(lab.checks),
                "exclusive": lab.exclusive,
                "shares": list(lab.shares),
                "part": lab.part,
                "page": lab.page or None,
            }
        )
    return rows


def _describe_file(path) -> list[str]:
    from kubetm import manifests

    return [manifests.describe(d.obj) for d in manifests.load_docs(path)]


def _lesson_line(path) -> str:
    """The file's first ``# 강의: ...`` comment (each manifest names its course lesson), or ""."""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text.startswith("#") and "강의:" in text:
            return text.lstrip("#").strip().removeprefix("강의:").strip()
        if text and not text.startswith("#"):
            break
    return ""


def show(name: str) -> dict:
    """Everything about one lab without touching a cluster: title, lesson, objects, steps, checks.

    Example:
        show("pod")["checks"][0]["name"]
    """
    lab = catalog.get(name)
    objects: list[str] = []
    for f in lab.manifest_files():
        objects.extend(_describe_file(f))
    steps = {f.stem: _describe_file(f) for f in lab.step_files()}
    lessons = [
        {"file": str(f.relative_to(lab.folder)), "lesson": _lesson_line(f)}
        for f in lab.manifest_files() + lab.step_files()
    ]
    return {
        "name": lab.name,
        "title": lab.title,
        "lesson": lab.lesson,
        "namespaces": list(lab.namespaces),
        "folder": str(lab.folder),
        "exclusive": lab.exclusive,
        "shares": list(lab.shares),
        "shares_reason": lab.shares_reason or None,
        "part": lab.part,
        "page": lab.page or None,
        "objects": objects,
        "steps": steps,
        "lessons": [x for x in lessons if x["lesson"]],
        "checks": [
            {
                "name": c.name,
                "description": c.description,
                "timeout": c.timeout,
                "track": c.track,
                "implemented": not getattr(c.fn, "not_implemented", False),
            }
            for c in lab.checks
        ],
    }


_PAGE_URL = "https://kubetm.github.io/"


def render_list(rows: Sequence[dict]) -> str:
    from kubetm.text import table

    return table(
        [
            (r["name"], r["part"], r["title"], r["checks"], "alone" if r["exclusive"] else "")
            for r in rows
        ],
        ["lab", "part", "title", "checks", "run"],
    )


def render_show(info: dict) -> str:
    lines = [
        f"{info['name']}: {info['title']}",
        f"  lesson: {info['lesson']}",
        f"  course: {info['part']}" + (f", {_PAGE_URL}{info['page']}/" if info["page"] else ""),
        f"  namespaces: {', '.join(info['namespaces'])}",
        f"  manifests: {info['folder']}",
    ]
    if info["exclusive"]:
        lines.append(f"  runs alone: {info['shares_reason']}")
    elif info["shares"]:
        lines.append(f"  shares {', '.join(info['shares'])}: {info['shares_reason']}")
    lines.append(f"  objects ({len(info['objects'])}):")
    lines += [f"    {o}" for o in info["objects"]]
    if info["steps"]:
        lines.append("  steps (applied by checks):")
        for step, objs in info["steps"].items():
            lines.append(f"    {step}: {', '.join(objs)}")
    if info.get("lessons"):
        lines.append("  lessons:")
        lines += [f"    {x['file']}: {x['lesson']}" for x in info["lessons"]]
    lines.append(f"  checks ({len(info['checks'])}):")
    for c in info["checks"]:
        todo = "" if c["implemented"] else " [not implemented]"
        track = f" [track {c['track']}: beside the other checks]" if c.get("track") else ""
        lines.append(f"    {c['name']}: {c['description']}{todo}{track}")
    return "\n".join(lines)


def as_json(results: Sequence[LabResult], selection: str | Iterable[str]) -> Any:
    """`-o json` shape: one lab named -> its dict; "all" or several -> a list of dicts."""
    many = not isinstance(selection, str) or selection == "all"
    if not many and len(results) == 1:
        return results[0].to_dict()
    return [r.to_dict() for r in results]


# ------------------------------------------------------------------------------------ apply


def _load(lab: Lab, registry_name: str | None) -> list[dict]:
    """The lab's objects, validated; its step files are parsed too so a broken one fails now."""
    from kubetm import manifests
    from kubetm.errors import KubetmError

    if not lab.manifest_files():
        raise KubetmError(
            f"lab {lab.name}: no manifests in {lab.folder}",
            hint="set KUBETM_MANIFESTS to the repository's manifests/ folder",
        )
    objs = manifests.load(lab.folder, registry=registry_name)
    for step in lab.step_files():
        manifests.load_docs(step)
    return objs


def _course_nodes_used(objs: Iterable[Any]) -> set[str]:
    """Course node names (k8s-node1, ...) that the objects select through kubetm.io/course-node."""
    found: set[str] = set()
    stack = list(objs)
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if cur.get("key") == COURSE_NODE and isinstance(cur.get("values"), list):
                found.update(str(v) for v in cur["values"])
            sel = cur.get("nodeSelector")
            if isinstance(sel, dict) and COURSE_NODE in sel:
                found.add(str(sel[COURSE_NODE]))
            stack.extend(v for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            stack.extend(v for v in cur if isinstance(v, (dict, list)))
    return found


def apply(
    kube, name: str, registry_name: str | None = None, on_event: EventFn | None = None
) -> list:
    """Apply one lab's manifests (server-side apply); returns kube.apply's results.

    Example:
        for r in apply(kube, "pod"): print(r)    # pod/kubetm-lab-pod/pod-1 created
    """
    return _apply(kube, catalog.get(name), registry_name, _serialised(on_event))


def _apply(kube, lab: Lab, registry_name: str | None, emit: EventFn) -> list:
    """Files one after another in name order (objects of one file concurrently, kube.apply).

    The order is part of some lessons: PersistentVolumes exist before the claims that must pick
    the smallest fitting one; a LimitRange exists before the pods that get its defaults.
    """
    from kubetm import manifests

    objs = _load(lab, registry_name)
    everything = objs + [d.obj for f in lab.step_files() for d in manifests.load_docs(f)]
    if _course_nodes_used(everything):
        from kubetm import nodes

        nodes.ensure_course_labels(kube)
    from kubetm.images import push_missing

    for line in push_missing(kube, everything, registry_name):
        emit(LabEvent.LOG, lab.name, line)
    emit(LabEvent.APPLY, lab.name, f"{len(objs)} objects")
    results: list = []
    for f in lab.manifest_files():
        applied = kube.apply(manifests.load(f, registry=registry_name))
        results.extend(applied)
        _until_seen_by_controllers(kube, applied)
    emit(LabEvent.APPLIED, lab.name, results)
    return results


PV_SEEN_TIMEOUT = 60.0


def _until_seen_by_controllers(kube, applied) -> None:
    """Wait until the controllers that the next files rely on have seen these objects.

    PersistentVolumes: a claim created in a later file must choose among *all* of them (the
    smallest that fits), but the binder only knows the volumes its informer has delivered; one
    that is still in flight is skipped and the claim binds a bigger one. A volume leaves phase
    Pending (set on create) when the PV controller has processed it, so waiting for
    Available/Bound is exactly "the binder knows it" (watch, no polling).
    """
    for r in applied:
        if getattr(r, "kind", "") == "PersistentVolume":
            kube.watch_until(
                "PersistentVolume",
                r.name,
                lambda o: (
                    (o or {}).get("status", {}).get("phase") in ("Available", "Bound", "Released")
                ),
                timeout=PV_SEEN_TIMEOUT,
                what=f"persistentvolume/{r.name} seen by the PV controller",
            )


# ----------------------------------------------------------------------------------- verify


def verify(
    kube,
    name: str,
    registry_name: str | None = None,
    on_event: EventFn | None = None,
    cancel: threading.Event | None = None,
) -> LabResult:
    """Run one lab's checks in order against the cluster; never raises for a failing check.

    Raises KubetmError when the lab is not applied (its namespace does not exist).

    Example:
        result = verify(kube, "pod"); print("\\n".join(result.lines()))
    """
    return _verify(
        kube, catalog.get(name), registry_name, _serialised(on_event), cancel or threading.Event()
    )


def _verify(
    kube, lab: Lab, registry_name: str | None, emit: EventFn, cancel: threading.Event
) -> LabResult:
    from kubetm.errors import KubetmError

    if kube.get("Namespace", lab.namespace) is None:
        raise KubetmError(
            f"lab {lab.name} is not applied (namespace {lab.namespace} not found)",
            hint=f"run `kubetm lab apply {lab.name}` or `kubetm lab run {lab.name}`",
        )
    ctx = LabContext(
        kube=kube,
        lab=lab,
        registry=registry_name,
        cancel=cancel,
        log=lambda msg: emit(LabEvent.LOG, lab.name, msg),
    )
    result = LabResult(lab.name)
    tracks: dict[str, list] = {}
    for check in lab.checks:
        tracks.setdefault(check.track, []).append(check)
    done: dict[str, Any] = {}

    def run_track(checks: Sequence, tctx: LabContext) -> None:
        for check in checks:
            emit(LabEvent.CHECK, lab.name, check.name)
            outcome = _timed_check(check, tctx, lab)
            done[check.name] = outcome
            emit(LabEvent.CHECKED, lab.name, outcome)

    if len(tracks) == 1:
        run_track(lab.checks, ctx)
    else:
        _side_by_side([partial(run_track, cs, replace(ctx)) for cs in tracks.values()], cancel)
    result.checks = [done[c.name] for c in lab.checks if c.name in done]
    return result


def _side_by_side(bodies: Sequence[Callable[[], None]], cancel: threading.Event) -> None:
    """Run ``bodies`` in threads and wait for all; the first exception (e.g. ``Cancelled``) is
    raised once every thread ended. Ctrl-C (a join is interruptible) sets ``cancel``: the checks
    stop at their next step."""
    errors: list[BaseException] = []

    def guarded(body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as e:  # re-raised in the calling thread
            errors.append(e)
            cancel.set()

    threads = [threading.Thread(target=guarded, args=(b,), daemon=True) for b in bodies]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except BaseException:
        cancel.set()
        for t in threads:
            t.join()
        raise
    if errors:
        raise errors[0]


def _timed_check(check, ctx: LabContext, lab: Lab):
    from kubetm import progress

    with progress.step(f"lab {lab.name}: {check.name}"):
        return run_check(check, ctx)


# ----------------------------------------------------------------------------------- delete


def delete(
    kube,
    name: str,
    registry_name: str | None = None,
    on_event: EventFn | None = None,
    timeout: float = DELETE_TIMEOUT,
    wait_lock: bool = False,
    force: bool = False,
) -> list:
    """Undo a lab: cleanup hook, namespaces, cluster-scoped objects labelled kubetm.io/lab=<lab>.

    Waits until everything is gone (watch-based); returns kube.delete's results. Namespaces that
    exist but are not kubetm's (no kubetm labels) are refused, never deleted. While a run of the
    lab holds its run lock (the Lease in its namespace) the delete is refused naming the holder,
    or with ``wait_lock`` waits for it; ``force`` deletes anyway (a run stuck on another machine).

    Example:
        delete(kube, "volume")   # namespace kubetm-lab-volume + the lab's PersistentVolumes
    """
    lab = catalog.get(name)
    emit = _serialised(on_event)
    if not force:
        from kubetm.k8s.lease import check_not_running

        check_not_running(kube, lab.namespace, f"lab {lab.name}", wait_lock)
    return _delete(kube, lab, registry_name, emit, timeout)


def _delete(kube, lab: Lab, registry_name: str | None, emit: EventFn, timeout: float) -> list:
    from kubetm.errors import KubetmError, format_error

    emit(LabEvent.DELETE, lab.name, None)
    problems: list[str] = []
    if lab.cleanup is not None:
        try:
            lab.cleanup(LabContext(kube=kube, lab=lab, registry=registry_name, timeout=timeout))
        except KubetmError as e:
            problems.append(f"cleanup: {format_error(e, prefix='')}")

    targets: dict[tuple[str, str], dict] = {}
    for ns in lab.namespaces:
        obj = kube.get("Namespace", ns)
        if obj is None:
            continue
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(LAB) != lab.name and labels.get(MANAGED_BY) != MANAGED_BY_VALUE:
            raise KubetmError(
                f"namespace {ns} exists but was not created by kubetm (no kubetm labels)",
                hint="kubetm deletes only its own namespaces; delete it yourself if it is a leftover",
            )
        targets[("Namespace", ns)] = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns},
        }
    for kind in CLUSTER_KINDS:
        for obj in kube.list(kind, selector={LAB: lab.name}):
            obj_name = obj["metadata"]["name"]
            targets[(kind, obj_name)] = {
                "apiVersion": obj.get("apiVersion") or "v1",
                "kind": kind,
                "metadata": {"name": obj_name},
            }
    namespaces = [name for kind, name in targets if kind == "Namespace"]
    others = [obj for (kind, _), obj in targets.items() if kind != "Namespace"]
    results = list(kube.delete(others, wait=False, propagation="Background")) if others else []
    if namespaces:  # background deletion; pods on a node that is gone are force-deleted
        done = kube.delete_namespaces(
            namespaces, timeout=timeout, progress=lambda line: emit(LabEvent.LOG, lab.name, line)
        )
        emit(LabEvent.LOG, lab.name, f"delete: {done.line()}")
        from kubetm.k8s import Result

        results = [Result("Namespace", ns, None, "deleted", "v1") for ns in done.deleted] + results
    gone = [r for r in results if getattr(r, "action", "") == "deleted" and r.kind != "Namespace"]
    for r in gone:  # deletions run server-side in parallel; waiting one by one costs the longest
        kube.watch_until(
            r.kind,
            r.name,
            lambda o: o is None,
            api_version=getattr(r, "api_version", None) or None,
            timeout=timeout,
            what=f"{r.kind.lower()}/{r.name} deleted",
        )
    emit(LabEvent.DELETED, lab.name, results)
    if problems:
        raise KubetmError(f"lab {lab.name} deleted, but " + "; ".join(problems))
    return results


# -------------------------------------------------------------------------------------- run


def _run_one(
    kube,
    lab: Lab,
    keep: bool,
    registry_name: str | None,
    emit: EventFn,
    cancel: threading.Event,
    cleaned: set[str] | None = None,
    wait_lock: bool = False,
) -> LabResult:
    """lock -> apply -> verify -> delete (unless keep); delete runs on failure and interruption
    too. A lab another run holds (its Lease, kubetm/k8s/lease.py) is refused, nothing deleted."""
    from kubetm.errors import KubetmError, format_error

    result = LabResult(lab.name)
    try:
        if cancel.is_set():
            raise Cancelled(f"lab {lab.name} interrupted")
        lock = _lock(kube, lab, emit, wait_lock)
    except Cancelled as e:
        result.error = str(e)
        return result
    except KubetmError as e:  # held by another run: its namespace is not ours to delete
        if cleaned is not None:
            cleaned.add(lab.name)
        result.error = format_error(e, prefix="")
        emit(LabEvent.ERROR, lab.name, result.error)
        return result
    try:
        _apply(kube, lab, registry_name, emit)
        result = _verify(kube, lab, registry_name, emit, cancel)
    except Cancelled as e:
        result.error = str(e)
    except KubetmError as e:
        result.error = format_error(e, prefix="")
        emit(LabEvent.ERROR, lab.name, result.error)
    except Exception as e:
        result.error = format_error(e, prefix="")
        emit(LabEvent.ERROR, lab.name, result.error)
    finally:
        if lock is not None:
            lock.release(delete=keep)  # without keep the namespace (and the Lease) goes next
        if not keep:
            try:
                _delete(kube, lab, registry_name, emit, DELETE_TIMEOUT)
                if cleaned is not None:
                    cleaned.add(lab.name)
            except Exception as e:
                msg = "delete failed: " + format_error(e, prefix="")
                result.error = f"{result.error}; {msg}" if result.error else msg
                emit(LabEvent.ERROR, lab.name, msg)
    return result


def _lock(kube, lab: Lab, emit: EventFn, wait: bool):
    """The lab's run lock (a Lease in its namespace), acquired; None for a kube without Leases
    (the in-memory fakes of the unit tests)."""
    make = getattr(kube, "run_lock", None)
    if make is None:
        return None
    lock = make(
        lab.namespace,
        what=f"lab {lab.name}",
        labels={LAB: lab.name},
        progress=lambda line: emit(LabEvent.LOG, lab.name, line),
    )
    lock.acquire(wait=wait)
    if lock.took_over:
        emit(LabEvent.LOG, lab.name, f"took over the run lock from {lock.took_over}")
    return lock


def run(
    kube,
    names: str | Iterable[str],
    keep: bool = False,
    registry_name: str | None = None,
    jobs: int = DEFAULT_JOBS,
    on_event: EventFn | None = None,
    wait_lock: bool = False,
) -> list[LabResult]:
    """Apply, verify and delete labs ("all", one name or several); results in the order asked.

    Up to ``jobs`` labs run at once: the scheduler (``schedule``) starts every lab whose declared
    ``shares`` are free (no running lab's declaration intersects it; a ``cluster`` lab runs with
    nothing beside it). Each result records when its lab started and ended (``timing``).
    On Ctrl-C (or any BaseException) the labs already started are deleted unless ``keep``,
    then the exception propagates (the CLI exits 130).

    Example:
        ok = all(r.ok for r in run(kube, ["pod", "service"], jobs=2))
    """
    labs = catalog.resolve(names)
    for lab in labs:  # validate every manifest before the first API call
        _load(lab, registry_name)
    emit = _serialised(on_event)
    if jobs > 1 and len(labs) > 1:
        _warm_discovery(kube, labs, registry_name)
    cancel = threading.Event()
    results: dict[str, LabResult] = {}
    started: list[Lab] = []
    cleaned: set[str] = set()  # labs already deleted by their own `finally`, or held by another run
    t0, wall0 = time.monotonic(), time.time()

    def one(lab: Lab) -> None:
        started.append(lab)
        begin = time.monotonic()
        result = _run_one(kube, lab, keep, registry_name, emit, cancel, cleaned, wait_lock)
        result.timing = _timing(wall0, t0, begin, time.monotonic())
        results[lab.name] = result

    try:
        schedule(labs, one, jobs, cancel, measured_seconds())
    except BaseException as exc:
        cancel.set()
        try:  # `-o json` on an interruption: the labs (and their checks) done so far
            exc.partial = {  # type: ignore[attr-defined]
                "labs": [results[lab.name].to_dict() for lab in labs if lab.name in results]
            }
        except AttributeError:  # pragma: no cover
            pass
        if not keep:
            for lab in started:
                if lab.name in cleaned:
                    continue
                try:
                    _delete(kube, lab, registry_name, emit, DELETE_TIMEOUT)
                    cleaned.add(lab.name)
                except Exception as e:
                    emit(LabEvent.ERROR, lab.name, f"delete failed: {e}")
        raise
    ordered = [results[lab.name] for lab in labs]
    remember_seconds(ordered)
    return ordered


def _timing(wall0: float, t0: float, begin: float, end: float) -> dict:
    """When one lab ran: wall clock (ISO 8601, UTC) and seconds since the run started."""
    from datetime import datetime, timezone

    def iso(t: float) -> str:
        return datetime.fromtimestamp(wall0 + (t - t0), timezone.utc).isoformat(
            timespec="milliseconds"
        )

    return {
        "started": iso(begin),
        "ended": iso(end),
        "start_s": round(begin - t0, 2),
        "end_s": round(end - t0, 2),
    }


def priority(labs: Sequence[Lab], seconds: dict[str, float] | None = None) -> list[Lab]:
    """The order the scheduler considers labs in: the longest chain first, so the last lab to
    start is a short one; ``cluster`` labs last (they wait for an empty cluster anyway, and
    nothing may start beside them). A lab's chain: its own length plus the lengths of the labs
    that share one of its resources (they run one after another: volume, helm-templates and
    dynamic-provisioning all bind PVs), then its own length breaks ties. A lab's length: its last
    measured run (``seconds``, from ``measured_seconds()``), else its checks' budget (``budget``:
    far above any measured time, so a lab never measured starts early)."""
    known = seconds or {}

    def length(lab: Lab) -> float:
        return known.get(lab.name, budget(lab))

    def chain(lab: Lab) -> float:  # the lab and every lab it cannot run beside, one after another
        mine = set(lab.shares)
        return sum(
            length(o) for o in labs if o is lab or (not o.exclusive and mine & set(o.shares))
        )

    return sorted(labs, key=lambda lab: (lab.exclusive, -chain(lab), -length(lab)))


SECONDS_FILE = "lab-seconds.json"  # in kubetm's cache folder: each lab's last measured run


def _seconds_path():
    from kubetm.host.offline import cache_root

    return cache_root() / SECONDS_FILE


def measured_seconds() -> dict[str, float]:
    """Each lab's wall time in its last `lab run` that passed ({} when none is recorded or the
    file is unreadable: the order then comes from the budgets)."""
    import json

    try:
        data = json.loads(_seconds_path().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v >= 0}


def remember_seconds(results: Sequence[LabResult]) -> None:
    """Record the wall time of every lab in ``results`` that passed (see ``measured_seconds``);
    a cache that cannot be written changes nothing but the next run's order."""
    import json
    import os

    seen = {
        r.lab: round(r.timing["end_s"] - r.timing["start_s"], 2)
        for r in results
        if r.ok and r.timing
    }
    if not seen:
        return
    path = _seconds_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")  # runs side by side: own temp file
        tmp.write_text(json.dumps({**measured_seconds(), **seen}, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
    except OSError:
        pass


def budget(lab: Lab) -> float:
    """A lab's longest chain of check budgets: its tracks run side by side, their checks in turn."""
    per_track: dict[str, float] = {}
    for c in lab.checks:
        per_track[c.track] = per_track.get(c.track, 0.0) + c.timeout
    return max(per_track.values(), default=0.0)


def schedule(
    labs: Sequence[Lab],
    fn: Callable[[Lab], None],
    jobs: int,
    cancel: threading.Event,
    seconds: dict[str, float] | None = None,
) -> None:
    """Run ``fn(lab)`` for every lab, at most ``jobs`` at once, never two whose ``shares``
    intersect (``base.conflicts``); each on a daemon thread (an interrupted process does not wait).

    Whenever a lab ends, the labs still waiting are considered in ``priority`` order (``seconds``:
    the labs' last measured runs) and every
    one whose declaration is free is started (a lab may pass one that waits for a resource).
    The main thread sleeps on a condition between events (Ctrl-C interrupts it). The first
    exception a lab raises stops the scheduling (``cancel`` is set) and is re-raised here.
    """
    waiting = priority(labs, seconds)
    if jobs <= 1 or len(waiting) <= 1:  # one at a time: in this thread (Ctrl-C lands in the lab)
        for lab in waiting:
            fn(lab)
        return
    running: dict[str, Lab] = {}
    failures: list[BaseException] = []
    changed = threading.Condition()

    def body(lab: Lab) -> None:
        try:
            fn(lab)
        except BaseException as e:
            failures.append(e)
            cancel.set()
        finally:
            with changed:
                running.pop(lab.name, None)
                changed.notify()

    with changed:
        while True:
            if not cancel.is_set():
                for lab in list(waiting):
                    if len(running) >= jobs:
                        break
                    if any(conflicts(lab.shares, other.shares) for other in running.values()):
                        continue
                    waiting.remove(lab)
                    running[lab.name] = lab
                    threading.Thread(
                        target=body, args=(lab,), name=f"kubetm-lab-{lab.name}", daemon=True
                    ).start()
            if not running:  # all done, or stopped by a failure (nothing is left running)
                break
            changed.wait()  # until a lab ends (interruptible by Ctrl-C)
    if failures:
        raise failures[0]


# Kinds checks commonly read besides the manifests' own.
_CHECK_KINDS = (
    ("v1", "Node"),
    ("v1", "Event"),
    ("v1", "Endpoints"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
)


def _warm_discovery(kube, labs: Sequence[Lab], registry_name: str | None) -> None:
    """Resolve the labs' kinds once before they start (and fail early on a broken manifest). Only
    a head start: ``Kube.resource`` is thread-safe, so a kind a lab reads that is not listed here
    (the helm labs read what helm created) is resolved by the lab itself."""
    resolve = getattr(kube, "resource", None)
    if resolve is None:
        return
    from kubetm import manifests

    kinds = dict.fromkeys(_CHECK_KINDS)
    for lab in labs:
        for obj in _load(lab, registry_name):
            kinds[(obj["apiVersion"], obj["kind"])] = None
        for f in lab.step_files():
            for d in manifests.load_docs(f):
                kinds[(d.obj["apiVersion"], d.obj["kind"])] = None
    for api_version, kind in kinds:
        resolve(kind, api_version)
