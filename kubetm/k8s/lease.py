"""Run locks: one coordination.k8s.io/v1 Lease per lab or demo run, in the run's own namespace.

A run (``kubetm lab run pod``, ``kubetm demo rolling-update``) holds the Lease ``kubetm-run`` in
its namespace while it runs: holder = ``<host> pid <pid> since <start time>``, renewed every
``LEASE_SECONDS / 3`` by a daemon thread. A second run of the same lab or demo finds it and is
refused at once with the holder's name (or, with ``wait=True``, waits until it is released).

A Lease is taken over when it has expired (not renewed for ``leaseDurationSeconds``), or at once
when its holder is a process on this host that no longer exists (a run killed with kill -9: the
next identical command just works, without waiting out the lease).

Release stops the renewal; the run's clean-up then deletes the namespace and the Lease with it
(so a second run cannot start in a namespace that is about to be deleted). ``release(delete=True)``
deletes the Lease itself (``--keep``: the namespace stays).

    lock = RunLock(kube, "kubetm-lab-pod", what="lab pod", labels={"kubetm.io/lab": "pod"})
    lock.acquire()          # KubetmError naming the holder when another run holds it
    try: ...
    finally: lock.release()
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from kubetm.errors import Conflict, KubetmError, NotFound, Timeout
from kubetm.labels import MANAGED_BY, MANAGED_BY_VALUE

if TYPE_CHECKING:
    from kubetm.k8s.client import Kube

__all__ = [
    "RunLock",
    "LEASE_NAME",
    "LEASE_SECONDS",
    "identity",
    "holder_alive_here",
    "check_not_running",
]

LEASE_NAME = "kubetm-run"
LEASE_SECONDS = 30
LEASE_API = "coordination.k8s.io/v1"
WAIT_TIMEOUT = 1800.0  # --wait-lock: the longest a run waits for another one
_IDENTITY = re.compile(r"^(?P<host>\S+) pid (?P<pid>\d+) since (?P<since>\S+)$")
_PROC_START_SLACK = 2.0  # seconds between the holder's recorded start and /proc's


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _micro(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _process_start(pid: int) -> float | None:
    """Wall-clock start of process ``pid`` from /proc (Linux), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 (starttime), counted after "pid (comm)"
        with open("/proc/stat", encoding="ascii") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime"))
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


_ME: str | None = None


def identity() -> str:
    """This process as a Lease holder: ``<host> pid <pid> since <UTC start time>``."""
    global _ME
    if _ME is None:
        start = _process_start(os.getpid()) or time.time()
        since = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        _ME = f"{socket.gethostname()} pid {os.getpid()} since {since}"
    return _ME


def holder_alive_here(holder: str) -> bool | None:
    """Is the holder a live process? True/False for a holder on this host, None for another host
    (or a holder kubetm did not write): then only the Lease's expiry tells."""
    m = _IDENTITY.match(holder or "")
    if not m or m["host"] != socket.gethostname():
        return None
    pid = int(m["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    since = _parse_time(m["since"])
    started = _process_start(pid)
    if since is not None and started is not None:
        # the pid was reused by another process since the holder wrote it
        return abs(started - since.timestamp()) <= _PROC_START_SLACK
    return True


class RunLock:
    """The Lease ``LEASE_NAME`` in ``namespace`` held by this process while a run runs."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        *,
        what: str,
        labels: dict[str, str] | None = None,
        duration: int = LEASE_SECONDS,
        progress: Callable[[str], None] | None = None,
    ):
        self.kube = kube
        self.namespace = namespace
        self.what = what
        self.labels = {MANAGED_BY: MANAGED_BY_VALUE, **(labels or {})}
        self.duration = int(duration)
        self.progress = progress
        self.holder = identity()
        self.took_over: str | None = None  # the previous holder, when this run took the Lease over
        self.lost: str | None = None  # who took it from us while we ran (should never happen)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------------------- API calls
    def _res(self):
        return self.kube.resource("Lease", LEASE_API)

    def _read(self) -> dict | None:
        return self.kube.get("Lease", LEASE_NAME, self.namespace, api_version=LEASE_API)

    def _body(self, transitions: int, acquired: str, resource_version: str | None = None) -> dict:
        now = _micro(_now())
        meta: dict[str, Any] = {
            "name": LEASE_NAME,
            "namespace": self.namespace,
            "labels": dict(self.labels),
        }
        if resource_version:
            meta["resourceVersion"] = resource_version
        return {
            "apiVersion": LEASE_API,
            "kind": "Lease",
            "metadata": meta,
            "spec": {
                "holderIdentity": self.holder,
                "leaseDurationSeconds": self.duration,
                "acquireTime": acquired or now,
                "renewTime": now,
                "leaseTransitions": transitions,
            },
        }

    def _create(self) -> bool:
        try:
            self.kube.call(
                self._res().create,
                body=self._body(0, ""),
                namespace=self.namespace,
                what=f"lease {self.namespace}/{LEASE_NAME}",
            )
            return True
        except Conflict:
            return False

    def _replace(self, cur: dict, transitions: int, acquired: str) -> bool:
        rv = (cur.get("metadata") or {}).get("resourceVersion")
        try:
            self.kube.call(
                self._res().replace,
                body=self._body(transitions, acquired, rv),
                namespace=self.namespace,
                what=f"lease {self.namespace}/{LEASE_NAME}",
            )
            return True
        except (Conflict, NotFound):
            return False

    def _ensure_namespace(self) -> None:
        from kubetm.k8s.apply import wait_not_terminating

        wait_not_terminating(self.kube, self.namespace, progress=self.progress)
        if self.kube.get("Namespace", self.namespace) is not None:
            return
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": dict(self.labels)},
        }
        try:
            self.kube.call(
                self.kube.resource("Namespace").create,
                body=body,
                what=f"namespace {self.namespace}",
            )
        except Conflict:
            pass  # another run created it at the same moment: the Lease decides
        from kubetm.k8s.apply import wait_default_service_account

        wait_default_service_account(self.kube, self.namespace)  # the run's pods come next

    # -------------------------------------------------------------------------- acquire
    @staticmethod
    def state(lease: dict) -> tuple[str, float, bool]:
        """(holder, seconds since the last renewal, expired?) of a Lease object."""
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        renewed = _parse_time(spec.get("renewTime") or spec.get("acquireTime"))
        age = (_now() - renewed).total_seconds() if renewed else float("inf")
        duration = spec.get("leaseDurationSeconds") or LEASE_SECONDS
        return holder, age, not holder or age > duration

    def _live_other(self, cur: dict | None) -> tuple[str, float] | None:
        """(holder, age) when ``cur`` is held by another live run; None when it may be taken."""
        if cur is None:
            return None
        holder, age, expired = self.state(cur)
        if holder == self.holder or expired or holder_alive_here(holder) is False:
            return None
        return holder, age

    def _refuse_or_wait(
        self,
        cur: dict,
        holder: str,
        age: float,
        wait: bool,
        deadline: float,
        hint: str | None = None,
    ):
        if not wait:
            raise KubetmError(
                f"{self.what} is already running in namespace {self.namespace}: "
                f"held by {holder} (renewed {age:.0f}s ago)",
                hint=hint or "wait for it to finish, or pass --wait-lock to wait for it",
            )
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout(
                f"{self.what} still held by {holder} after waiting",
                hint=f"the Lease {self.namespace}/{LEASE_NAME} names the run holding it",
            )
        if self.progress:
            self.progress(f"{self.what} is held by {holder}: waiting (--wait-lock)")
        self._wait_change(cur, min(left, max(1.0, self.duration - age + 1)))

    def check(
        self, wait: bool = False, timeout: float = WAIT_TIMEOUT, hint: str | None = None
    ) -> None:
        """Refuse (or wait) while another live run holds the Lease; writes nothing. ``hint``
        replaces the refusal's default hint (`lab delete` names --force too)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.kube.get("Namespace", self.namespace) is None:
                return
            cur = self._read()
            other = self._live_other(cur)
            if other is None or cur is None:
                return
            self._refuse_or_wait(cur, *other, wait, deadline, hint=hint)

    def acquire(self, wait: bool = False, timeout: float = WAIT_TIMEOUT) -> RunLock:
        """Take the Lease (creating the namespace when missing), then renew it in the background.

        Held by a live run: KubetmError naming the holder at once, or with ``wait`` a watch until
        it is released or expires (Timeout after ``timeout``)."""
        deadline = time.monotonic() + timeout
        self._ensure_namespace()
        while True:
            if self._create():
                break
            cur = self._read()
            if cur is None:
                continue  # released between our create and our read
            holder, age, expired = self.state(cur)
            spec = cur.get("spec") or {}
            transitions = int(spec.get("leaseTransitions") or 0)
            if holder == self.holder:
                if self._replace(cur, transitions, spec.get("acquireTime") or ""):
                    break
                continue
            dead = holder_alive_here(holder) is False
            if expired or dead:
                if self._replace(cur, transitions + 1, ""):
                    self.took_over = holder + (
                        " (process gone)" if dead else f" (expired {age:.0f}s ago)"
                    )
                    break
                continue
            self._refuse_or_wait(cur, holder, age, wait, deadline)
            self._ensure_namespace()  # the other run's clean-up may have deleted it
        self._start_renewing()
        return self

    def _wait_change(self, cur: dict, seconds: float) -> None:
        """Watch the Lease until it is deleted or changes hands, at most ``seconds`` (its expiry)."""
        holder = (cur.get("spec") or {}).get("holderIdentity")
        try:
            self.kube.watch_until(
                "Lease",
                LEASE_NAME,
                lambda o: o is None or (o.get("spec") or {}).get("holderIdentity") != holder,
                namespace=self.namespace,
                api_version=LEASE_API,
                timeout=seconds,
                what=f"lease {self.namespace}/{LEASE_NAME} to be released",
            )
        except Timeout:
            pass  # expired by now, or renewed: the loop reads it again

    # -------------------------------------------------------------------------- renew / release
    def _start_renewing(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._renew_loop, name=f"kubetm-lease-{self.namespace}", daemon=True
        )
        self._thread.start()

    def _renew_loop(self) -> None:
        every = max(1.0, self.duration / 3)
        while not self._stop.wait(every):
            try:
                self.renew()
            except KubetmError:
                pass  # the API is away (a node or the control plane restarting): try again

    def renew(self) -> bool:
        """Renew once; False (and ``lost`` set) when another holder has it now."""
        cur = self._read()
        if cur is None:
            return False
        spec = cur.get("spec") or {}
        if spec.get("holderIdentity") != self.holder:
            self.lost = spec.get("holderIdentity") or "nobody"
            return False
        return self._replace(
            cur, int(spec.get("leaseTransitions") or 0), spec.get("acquireTime") or ""
        )

    def release(self, delete: bool = False) -> None:
        """Stop renewing. ``delete``: also delete the Lease (when the namespace stays)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if not delete:
            return
        try:
            cur = self._read()
            if cur is not None and (cur.get("spec") or {}).get("holderIdentity") == self.holder:
                self.kube.call(
                    self._res().delete,
                    name=LEASE_NAME,
                    namespace=self.namespace,
                    what=f"lease {self.namespace}/{LEASE_NAME}",
                )
        except (NotFound, KubetmError):
            pass


DELETE_HINT = "wait for it to finish, pass --wait-lock to wait for it, or --force to delete anyway"


def check_not_running(kube, namespace: str, what: str, wait: bool = False) -> None:
    """For `lab delete` and `demo delete`: refuse (or wait) while a live run holds the run lock
    in ``namespace``, so a delete never pulls a running lab's or demo's objects from under it.
    Writes nothing; a kube without Leases (the unit tests' in-memory fakes) is not asked."""
    make = getattr(kube, "run_lock", None)
    if make is None:
        return
    make(namespace, what=what).check(wait=wait, hint=DELETE_HINT)
