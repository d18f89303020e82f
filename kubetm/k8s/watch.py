"""Waiting, event-driven: read once, test the predicate, then watch from that resourceVersion.

Example:
    watch_until(kube, "Pod", "p", conditions.pod_ready, timeout=60)   # usually kube.watch_until(...)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubetm.errors import Timeout
from kubetm.k8s import conditions
from kubetm.k8s.errors import is_api_exception, map_api_error, status_of
from kubetm.k8s.objects import describe, plain, selector_text
from kubetm.k8s.pods import state_hint

if TYPE_CHECKING:
    from kubetm.k8s.client import Kube

__all__ = ["watch_until", "wait_ready", "wait_nodes_ready", "WATCH_READ_SLACK"]

WATCH_READ_SLACK = 15.0  # a watch read may stay silent this long past its timeoutSeconds


def watch_until(
    kube: Kube,
    kind: str,
    name: str | None = None,
    predicate: Callable[[Any], bool] = conditions.exists,
    *,
    selector: str | dict | None = None,
    namespace: str | None = None,
    api_version: str | None = None,
    timeout: float = 120,
    what: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """Read, test ``predicate``, then watch from that resourceVersion until it holds.

    With ``name``: predicate(obj_dict_or_None) (None = does not exist).
    With ``selector`` (or neither): predicate(list_of_dicts) over the current matching set.
    A predicate may raise KubetmError to abort early (e.g. image pull failure). On 410 Gone
    or a dropped watch it re-lists. Returns the object (or list) that satisfied it; on
    timeout raises ``Timeout`` (exit code 3) naming ``what``. ``progress`` (if given) receives
    one status line when the wait starts.
    """
    res = kube.resource(kind, api_version)
    ns = kube._ns_for(res, namespace)
    sel = selector_text(selector)
    label = what or (
        describe(res.kind, name, ns) if name else f"{res.kind.lower()}s matching {sel or 'all'}"
    )
    if progress is not None:
        progress(f"waiting for {label}")
    deadline = time.monotonic() + timeout
    return _loop(kube, res, name, predicate, sel, ns, deadline, timeout, label)


def _timed_out(timeout: float, label: str, last: Any) -> Timeout:
    return Timeout(f"timed out after {timeout:g}s waiting for {label}", hint=state_hint(last))


def _loop(kube: Kube, res, name, predicate, sel, ns, deadline, timeout, label):
    from kubernetes import watch as k8s_watch

    from kubetm.k8s.objects import REQUEST_TIMEOUT

    state: dict[str, dict] = {}
    last = None
    while True:
        field = f"metadata.name={name}" if name else None
        raw = plain(
            kube.call(
                res.get,
                namespace=ns,
                label_selector=sel,
                field_selector=field,
                what=f"list {describe(res.kind, name, ns)}",
                _request_timeout=REQUEST_TIMEOUT,
            )
        )
        state = {i["metadata"]["name"]: i for i in raw.get("items") or []}
        for it in state.values():
            it.setdefault("kind", res.kind)
            it.setdefault("apiVersion", res.group_version)
        rv = (raw.get("metadata") or {}).get("resourceVersion")
        last = state.get(name) if name else list(state.values())
        if predicate(last):
            return last
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _timed_out(timeout, label, last)
            watcher = k8s_watch.Watch()
            try:
                # timeoutSeconds ends the watch on the server; the read timeout ends it on
                # our side too when the connection silently died (a restarted control plane).
                for ev in kube._watch_events(
                    res,
                    watcher,
                    namespace=ns,
                    field_selector=field,
                    label_selector=sel,
                    resource_version=rv,
                    timeout_seconds=max(1, int(remaining) + 1),
                    _request_timeout=(REQUEST_TIMEOUT[0], remaining + WATCH_READ_SLACK),
                ):
                    obj = ev.get("raw_object") or plain(ev.get("object"))
                    etype = ev.get("type")
                    if etype == "BOOKMARK" or not isinstance(obj, dict):
                        continue
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    key = str((obj.get("metadata") or {}).get("name") or "")
                    obj.setdefault("kind", res.kind)
                    obj.setdefault("apiVersion", res.group_version)
                    if etype == "DELETED":
                        state.pop(key, None)
                    else:
                        state[key] = obj
                    last = state.get(name) if name else list(state.values())
                    if predicate(last):
                        watcher.stop()
                        return last
                    if time.monotonic() >= deadline:
                        watcher.stop()
                        break
            except Exception as exc:
                if status_of(exc) == 410 or kube.transient(exc):
                    if status_of(exc) != 410:
                        time.sleep(
                            min(1.0, max(0.0, deadline - time.monotonic()))
                        )  # backoff, not polling
                    break  # re-list from scratch
                if is_api_exception(exc):
                    raise map_api_error(exc, f"watch {label}", kube.server) from exc
                raise
            if time.monotonic() >= deadline:
                raise _timed_out(timeout, label, last)
            # The server closed the watch before our deadline: continue from rv.


def wait_ready(
    kube: Kube,
    kind: str,
    name: str,
    namespace: str | None = None,
    timeout: float = 180,
    api_version: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Watch until an object is ready the way its kind defines it (``conditions.PREDICATES``)."""
    res = kube.resource(kind, api_version)
    pred = conditions.PREDICATES.get(res.kind, conditions.exists)
    word = conditions.READY_WORD.get(res.kind, "ready")
    return kube.watch_until(
        res.kind,
        name,
        pred,
        namespace=namespace,
        api_version=res.group_version,
        timeout=timeout,
        what=f"{res.kind.lower()} {name} to be {word}",
        progress=progress,
    )


def wait_nodes_ready(
    kube: Kube,
    count: int | None = None,
    timeout: float = 300,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Watch until every node (and at least ``count`` of them) reports Ready=True."""
    want = f"{count} " if count else ""
    return kube.watch_until(
        "Node",
        None,
        conditions.nodes_ready(count),
        timeout=timeout,
        what=f"{want}nodes to be Ready",
        progress=progress,
    )
