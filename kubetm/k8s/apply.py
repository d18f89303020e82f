"""Writing: the server-side apply planner (ordering, dry run, thread pool, 409 retry, the journal
of what was written), delete, and the interrupt clean-up.

Objects are applied with field manager ``kubetm`` and strict field validation: a field the
server's schema does not declare is an ``Invalid`` error at once (never retried), naming the
closest valid field (``kubetm.k8s.schema``).

Example:
    results = apply(kube, objs, namespace="default")   # usually kube.apply(objs)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from kubetm.errors import Conflict, Invalid, KubetmError, NotFound, register_secret_object
from kubetm.k8s import conditions
from kubetm.k8s.errors import UnknownField
from kubetm.k8s.objects import Result, describe, parse_target, plain, with_label
from kubetm.labels import FIELD_MANAGER

if TYPE_CHECKING:
    from kubetm.k8s.client import Kube

__all__ = ["apply", "delete", "cleanup_on_interrupt", "Journal", "APPLY_WORKERS"]

APPLY_WORKERS = 4
FIRST_KINDS = ("Namespace", "CustomResourceDefinition")
CONFLICT_RETRIES = 3


class Journal:
    """Every object written by apply, in the order the writes finished (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: list[Result] = []

    def add(self, result: Result) -> None:
        with self._lock:
            self._results.append(result)

    def since(self, mark: int) -> list[Result]:
        with self._lock:
            return list(self._results[mark:])

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)


def apply(
    kube: Kube,
    objs: Iterable[dict],
    namespace: str | None = None,
    force_conflicts: bool = False,
    workers: int = APPLY_WORKERS,
    dry_run_first: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    """Server-side apply (field manager ``kubetm``) of plain dicts; returns one result each.

    Namespaces and CRDs go first (and CRDs are waited on until Established), then the rest
    concurrently. Each object gets the label app.kubernetes.io/managed-by=kubetm. Namespaced
    objects without metadata.namespace land in ``namespace`` (else the Kube's namespace).
    409 conflicts are re-read and retried; ownership is only forced with ``force_conflicts``.

    Every kind is resolved before the first write (an unknown kind creates nothing). With
    ``dry_run_first`` every object is first sent as a server-side dry run (``dryRun=All``), so
    an object the API server rejects (422, unknown namespace, conflict) is refused before any
    object is written; objects in a Namespace, or of a CRD, created by the same call are not
    dry-run (they cannot be, yet).

    Interruption (Ctrl-C/SIGTERM) or an error: requests not yet sent are cancelled, those in
    flight finish, and every object written so far is in ``kube.applied`` (``applied_since``).
    Like ``kubectl apply``, apply itself never rolls back; callers that promise a cleanup
    (``kubetm deploy hello``) wrap it in ``cleanup_on_interrupt``.
    """
    objs = [with_label(o) for o in objs]
    for o in objs:
        register_secret_object(o)
    first = [o for o in objs if o.get("kind") in FIRST_KINDS]
    rest = [o for o in objs if o.get("kind") not in FIRST_KINDS]
    crd_kinds = {
        (
            ((o.get("spec") or {}).get("group")) or "",
            ((o.get("spec") or {}).get("names") or {}).get("kind"),
        )
        for o in first
        if o.get("kind") == "CustomResourceDefinition"
    }

    def defined_here(o: dict) -> bool:
        av = o.get("apiVersion") or ""
        return (av.rsplit("/", 1)[0] if "/" in av else "", o.get("kind")) in crd_kinds

    # Resolve kinds sequentially (discovery is not thread-safe) and before the first write.
    resolved = {
        id(o): kube.resource(o["kind"], o["apiVersion"]) for o in objs if not defined_here(o)
    }
    if dry_run_first:
        new_ns = {o["metadata"]["name"] for o in first if o.get("kind") == "Namespace"}
        checks = [
            (o, resolved[id(o)])
            for o in objs
            if id(o) in resolved
            and not (
                resolved[id(o)].namespaced
                and (o["metadata"].get("namespace") or namespace or kube.namespace) in new_ns
            )
        ]
        _parallel(
            [
                partial(_apply_one, kube, o, res, namespace, force_conflicts, dry_run=True)
                for o, res in checks
            ],
            workers,
        )
    for o in first:
        if o.get("kind") == "Namespace":
            wait_not_terminating(kube, o["metadata"]["name"], progress)
    results: dict[int, Result] = {}
    for phase in (first, rest):
        if not phase:
            continue
        planned = [
            (id(o), o, resolved.get(id(o)) or kube.resource(o["kind"], o["apiVersion"]))
            for o in phase
        ]
        done = _parallel(
            [
                partial(_apply_one, kube, o, res, namespace, force_conflicts)
                for _, o, res in planned
            ],
            workers,
        )
        for (key, _, _), r in zip(planned, done, strict=True):
            results[key] = r
        for key, o, _ in planned:
            if o.get("kind") == "Namespace" and results[key].action == "created":
                wait_default_service_account(kube, o["metadata"]["name"])
        crds = [o for o in phase if o.get("kind") == "CustomResourceDefinition"]
        for crd in crds:
            kube.watch_until(
                "CustomResourceDefinition",
                crd["metadata"]["name"],
                conditions.crd_established,
                api_version="apiextensions.k8s.io/v1",
                timeout=60,
                what=f"CRD {crd['metadata']['name']} established",
                progress=progress,
            )
        if crds:
            kube.dynamic.resources.invalidate_cache()
    return [results[id(o)] for o in objs]


TERMINATING_TIMEOUT = 300.0


def wait_not_terminating(
    kube: Kube, name: str, progress: Callable[[str], None] | None = None
) -> None:
    """A Namespace being deleted refuses new objects ("... because it is being terminated"): wait,
    with a watch, until it is gone, so re-running a command killed during its clean-up just works."""
    ns = kube.get("Namespace", name)
    if ((ns or {}).get("status") or {}).get("phase") != "Terminating":
        return
    if progress:
        progress(f"namespace {name} is still being deleted: waiting until it is gone")
    kube.watch_until(
        "Namespace",
        name,
        conditions.deleted,
        timeout=TERMINATING_TIMEOUT,
        what=f"namespace {name} to finish terminating",
        progress=progress,
    )


SERVICE_ACCOUNT_TIMEOUT = 30.0


def wait_default_service_account(kube: Kube, namespace: str) -> None:
    """A namespace just created has no ServiceAccount "default" for a moment, and the API server
    refuses pods in it until the controller makes one ("error looking up service account"):
    watch until it exists (bounded; a cluster without the controller is not waited on forever)."""
    from kubetm.errors import Timeout

    try:
        kube.watch_until(
            "ServiceAccount",
            "default",
            conditions.exists,
            namespace=namespace,
            timeout=SERVICE_ACCOUNT_TIMEOUT,
            what=f"serviceaccount {namespace}/default",
        )
    except Timeout:
        pass


def _parallel(tasks: list[Callable[[], Any]], workers: int) -> list:
    """Run ``tasks`` on a small pool, results in order. On an error, or an interruption of the
    calling thread, tasks not started yet are cancelled and those running are waited for."""
    from concurrent.futures import ThreadPoolExecutor

    if not tasks:
        return []
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks))))
    try:
        futures = [pool.submit(t) for t in tasks]
        out = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return out


def _apply_one(
    kube: Kube, obj: dict, res, namespace: str | None, force: bool, dry_run: bool = False
) -> Result | None:
    from kubetm.k8s.objects import REQUEST_TIMEOUT

    meta = obj["metadata"]
    name = meta["name"]
    ns = None
    if res.namespaced:
        ns = meta.get("namespace") or namespace or kube.namespace
        obj = {**obj, "metadata": {**meta, "namespace": ns}}
    what = f"apply {describe(res.kind, name, ns)}"
    for attempt in range(CONFLICT_RETRIES + 1):
        before = None if dry_run else _resource_version(kube, res, name, ns, what)
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        try:
            after = kube.call(
                kube.dynamic.server_side_apply,
                res,
                body=obj,
                name=name,
                namespace=ns,
                field_manager=FIELD_MANAGER,
                force_conflicts=True if force else None,
                query_params=[("fieldValidation", "Strict")],
                what=what,
                _request_timeout=REQUEST_TIMEOUT,
                **extra,
            )
        except Conflict as e:
            if attempt < CONFLICT_RETRIES and not dry_run:
                continue  # re-read and try again
            raise Conflict(
                e.message,
                hint="another field manager owns these fields; re-run with "
                "--force-conflicts to take them over",
            ) from e.__cause__
        except UnknownField as e:
            from kubetm.k8s.schema import closest_field

            better = closest_field(kube, res, e.path)
            raise Invalid(
                e.message, hint=f"did you mean {better}?" if better else None
            ) from e.__cause__
        if dry_run:
            return None
        rv_after = ((plain(after) or {}).get("metadata") or {}).get("resourceVersion")
        action = (
            "created" if before is None else ("unchanged" if before == rv_after else "configured")
        )
        result = Result(res.kind, name, ns, action, res.group_version)
        kube.journal.add(result)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _resource_version(kube: Kube, res, name: str, ns: str | None, what: str) -> str | None:
    from kubetm.k8s.objects import REQUEST_TIMEOUT

    try:
        cur = plain(
            kube.call(res.get, name=name, namespace=ns, what=what, _request_timeout=REQUEST_TIMEOUT)
        )
    except NotFound:
        return None
    return (cur.get("metadata") or {}).get("resourceVersion")


# ------------------------------------------------------------------------------- delete


def delete(
    kube: Kube,
    target: str | dict | Sequence[dict],
    namespace: str | None = None,
    wait: bool = True,
    timeout: float = 180,
    propagation: str = "Foreground",
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    """Delete objects (dicts from manifests, or ``"kind/name"``) with foreground propagation.

    With ``wait`` it watches until every object is gone. Missing objects are reported as
    "not found", not as errors. Deletes run in reverse apply order (Namespaces last).
    ``propagation`` is the API's propagationPolicy: "Foreground" (default), "Background", or
    "Orphan" (dependents stay, their ownerReferences removed: ``kubectl delete --cascade=orphan``).
    """
    if propagation not in ("Foreground", "Background", "Orphan"):
        raise Invalid(
            f"unknown propagation policy {propagation!r}",
            hint="use Foreground, Background or Orphan",
        )
    from concurrent.futures import ThreadPoolExecutor

    objs: list[dict]
    if isinstance(target, str):
        av, kind, name = parse_target(target)
        objs = [{"apiVersion": av, "kind": kind, "metadata": {"name": name}}]
    elif isinstance(target, dict):
        objs = [target]
    else:
        objs = list(target)
    rank = {"Namespace": 2, "CustomResourceDefinition": 1}
    objs = sorted(objs, key=lambda o: rank.get(o.get("kind") or "", 0))
    planned: list[tuple[Any, str, str | None]] = []
    for o in objs:
        res = kube.resource(o["kind"], o.get("apiVersion") or None)
        ns = (
            (o["metadata"].get("namespace") or namespace or kube.namespace)
            if res.namespaced
            else None
        )
        planned.append((res, o["metadata"]["name"], ns))
    results: list[Result] = []
    with ThreadPoolExecutor(max_workers=max(1, min(APPLY_WORKERS, len(planned)))) as pool:
        for res, name, ns, found in pool.map(
            lambda p: (*p, _delete_one(kube, p[0], p[1], p[2], propagation)), planned
        ):
            results.append(
                Result(res.kind, name, ns, "deleted" if found else "not found", res.group_version)
            )
    if wait:
        pending = [
            (res, name, ns) for (res, name, ns), r in zip(planned, results) if r.action == "deleted"
        ]
        if pending:
            if progress is not None:
                progress(f"waiting for {len(pending)} object(s) to be deleted")
            with ThreadPoolExecutor(max_workers=max(1, min(8, len(pending)))) as pool:
                futs = [
                    pool.submit(
                        kube.watch_until,
                        res.kind,
                        name,
                        conditions.deleted,
                        namespace=ns,
                        api_version=res.group_version,
                        timeout=timeout,
                        what=f"{describe(res.kind, name, ns)} deleted",
                    )
                    for res, name, ns in pending
                ]
                for f in futs:
                    f.result()
    return results


def _delete_one(
    kube: Kube, res, name: str, ns: str | None, propagation: str = "Foreground"
) -> bool:
    from kubetm.k8s.objects import REQUEST_TIMEOUT

    try:
        kube.call(
            res.delete,
            name=name,
            namespace=ns,
            propagation_policy=propagation,
            what=f"delete {describe(res.kind, name, ns)}",
            _request_timeout=REQUEST_TIMEOUT,
        )
        return True
    except NotFound:
        return False


# ----------------------------------------------------------------------- interruption


@contextmanager
def cleanup_on_interrupt(
    kube, keep: bool = False, report: Callable[[str], None] | None = None, timeout: float = 90
):
    """Delete what the block *created* when it is interrupted (Ctrl-C, SIGTERM), unless ``keep``.

    Only objects the block created through ``kube.apply`` (action "created") are deleted, and
    waited for until gone; objects that existed before (configured/unchanged) are left alone.
    Errors (``Exception``) are not interruptions: objects stay so the user can look at them.
    ``report`` gets one line saying exactly what was deleted or kept; the interruption is
    re-raised (exit 130/143).

        with cleanup_on_interrupt(kube, keep=False, report=note):
            deploy.hello(kube)
    """
    mark = len(getattr(kube, "applied", ()))
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, Exception) or not hasattr(kube, "applied_since"):
            raise
        created = [r for r in kube.applied_since(mark) if r.action == "created"]
        say = report or (lambda _line: None)
        names = ", ".join(
            f"{r.kind.lower()}/{r.namespace + '/' if r.namespace else ''}{r.name}" for r in created
        )
        if not created:
            say("interrupted before anything was created: nothing to clean up")
        elif keep:
            say(f"interrupted: kept the {len(created)} object(s) it created (--keep): {names}")
        else:
            objs = [
                {
                    "apiVersion": r.api_version,
                    "kind": r.kind,
                    "metadata": {
                        "name": r.name,
                        **({"namespace": r.namespace} if r.namespace else {}),
                    },
                }
                for r in reversed(created)
            ]
            try:
                kube.delete(objs, wait=True, timeout=timeout, propagation="Background")
                say(f"interrupted: deleted the {len(created)} object(s) it created: {names}")
            except KubetmError as e:
                say(f"interrupted: could not delete {names}: {e.message}")
        raise
