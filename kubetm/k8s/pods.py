"""Pods and what they say: exec, logs, events, and a short hint from an object's last state.

Example:
    rc, out, err = exec_in(kube, "web-1", ["cat", "/etc/hostname"])   # usually kube.exec(...)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubetm.errors import Timeout

if TYPE_CHECKING:
    from kubetm.k8s.client import Kube

__all__ = ["exec_in", "logs", "events", "state_hint"]


def exec_in(
    kube: Kube,
    pod: str,
    cmd: Sequence[str],
    container: str | None = None,
    namespace: str | None = None,
    timeout: float = 60,
    stdin: str | None = None,
) -> tuple[int, str, str]:
    """Run ``cmd`` in a pod through the exec stream API: (exit_code, stdout, stderr)."""
    from kubernetes import client
    from kubernetes.stream import stream

    ns = namespace or kube.namespace
    what = f"exec in pod {ns}/{pod}"
    # stream() temporarily swaps the ApiClient's transport: give it a private client.
    core = client.CoreV1Api(client.ApiClient(kube.configuration))

    def open_stream():
        return stream(
            core.connect_get_namespaced_pod_exec,
            pod,
            ns,
            command=list(cmd),
            container=container,
            stderr=True,
            stdin=stdin is not None,
            stdout=True,
            tty=False,
            _preload_content=False,
        )

    resp = kube.call(open_stream, what=what)
    out: list[str] = []
    err: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        if stdin is not None:
            resp.write_stdin(stdin)
            resp.close_channel(0) if hasattr(resp, "close_channel") else None
        while resp.is_open():
            if time.monotonic() > deadline:
                raise Timeout(f"{what}: command {' '.join(cmd)!r} still running after {timeout:g}s")
            resp.update(timeout=1)  # blocks on the websocket until data arrives (<= 1 s)
            if resp.peek_stdout():
                out.append(resp.read_stdout())
            if resp.peek_stderr():
                err.append(resp.read_stderr())
        out.append(resp.read_stdout() or "")
        err.append(resp.read_stderr() or "")
        rc = resp.returncode
    finally:
        resp.close()
    return (rc if rc is not None else -1), "".join(out), "".join(err)


def logs(
    kube: Kube,
    pod: str,
    namespace: str | None = None,
    container: str | None = None,
    tail_lines: int | None = None,
    previous: bool = False,
) -> str:
    from kubetm.k8s.objects import REQUEST_TIMEOUT

    ns = namespace or kube.namespace
    kwargs: dict[str, Any] = {"previous": previous}
    if container:
        kwargs["container"] = container
    if tail_lines is not None:
        kwargs["tail_lines"] = tail_lines
    return kube.call(
        kube.core.read_namespaced_pod_log,
        pod,
        ns,
        what=f"logs of pod {ns}/{pod}",
        _request_timeout=REQUEST_TIMEOUT,
        **kwargs,
    )


def events(
    kube: Kube, namespace: str | None = None, involved_name: str | None = None
) -> list[dict]:
    """Core events (oldest first), optionally only those about one object name."""
    ns = namespace or kube.namespace
    field = f"involvedObject.name={involved_name}" if involved_name else None
    items = kube.list("Event", namespace=ns, field_selector=field)

    def when(e: dict) -> str:
        return str(
            e.get("lastTimestamp")
            or e.get("eventTime")
            or (e.get("metadata") or {}).get("creationTimestamp")
            or ""
        )

    return sorted(items, key=when)


def state_hint(last: Any) -> str | None:
    """Short description of the last observed state, for timeout messages."""
    if last is None:
        return "the object does not exist"
    if isinstance(last, list):
        return f"{len(last)} matching object(s)"
    status = last.get("status") or {}
    reasons = []
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reasons.append(f"{cs.get('name')}: {waiting['reason']}")
    if reasons:
        return "last state: " + ", ".join(reasons)
    conds = [f"{c.get('type')}={c.get('status')}" for c in status.get("conditions") or []]
    if status.get("phase"):
        conds.insert(0, f"phase={status['phase']}")
    return ("last state: " + ", ".join(conds)) if conds else None
