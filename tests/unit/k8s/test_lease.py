"""The run lock (kubetm/k8s/lease.py): one Lease per run, refused/taken over/renewed/released."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from kubetm.errors import Conflict, KubetmError, NotFound, Timeout
from kubetm.k8s import lease
from kubetm.k8s.lease import LEASE_NAME, RunLock


class LeaseAPI:
    """Leases and Namespaces in memory, with resourceVersion checks like the API server's."""

    def __init__(self, kube):
        self.kube = kube

    def create(self, body, namespace=None):
        key = ("Lease", namespace, body["metadata"]["name"])
        if key in self.kube.objects:
            raise Conflict("already exists")
        if ("Namespace", None, namespace) not in self.kube.objects:
            raise NotFound(f"namespace {namespace} not found")
        self.kube.rv += 1
        body = {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.kube.rv)}}
        self.kube.objects[key] = body
        self.kube.writes.append(("create", body["spec"]["holderIdentity"]))

    def replace(self, body, namespace=None):
        key = ("Lease", namespace, body["metadata"]["name"])
        cur = self.kube.objects.get(key)
        if cur is None:
            raise NotFound("gone")
        if cur["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion"):
            raise Conflict("the object has been modified")
        self.kube.rv += 1
        body = {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.kube.rv)}}
        self.kube.objects[key] = body
        self.kube.writes.append(("replace", body["spec"]["holderIdentity"]))

    def delete(self, name, namespace=None):
        if self.kube.objects.pop(("Lease", namespace, name), None) is None:
            raise NotFound("gone")
        self.kube.writes.append(("delete", name))


class NamespaceAPI:
    def __init__(self, kube):
        self.kube = kube

    def create(self, body):
        self.kube.objects[("Namespace", None, body["metadata"]["name"])] = body


class LeaseKube:
    def __init__(self):
        self.objects: dict = {}
        self.rv = 0
        self.writes: list = []
        self.waits: list = []
        self.sa_waits: list = []

    def resource(self, kind, api_version=None):
        return LeaseAPI(self) if kind == "Lease" else NamespaceAPI(self)

    def call(self, fn, *args, what="", **kwargs):
        return fn(*args, **kwargs)

    def get(self, kind, name, namespace=None, **_):
        return self.objects.get((kind, None if kind == "Namespace" else namespace, name))

    def watch_until(self, kind, name, predicate, namespace=None, timeout=0, **_):
        if kind == "ServiceAccount":  # the namespace's default ServiceAccount is there
            self.sa_waits.append((namespace, name))
            return {"metadata": {"name": name}}
        self.waits.append((kind, name, timeout))
        obj = self.get(kind, name, namespace)
        if predicate(obj):
            return obj
        # nobody renews in this test: the holder's lease has expired by the end of the wait
        spec = obj["spec"]
        spec["renewTime"] = lease._micro(datetime.now(timezone.utc) - timedelta(seconds=999))
        raise Timeout("no change")


def _held_by(kube, holder, ns="kubetm-lab-x", age=0.0, duration=30):
    kube.objects[("Namespace", None, ns)] = {"metadata": {"name": ns}}
    t = lease._micro(datetime.now(timezone.utc) - timedelta(seconds=age))
    kube.rv += 1
    kube.objects[("Lease", ns, LEASE_NAME)] = {
        "metadata": {"name": LEASE_NAME, "namespace": ns, "resourceVersion": str(kube.rv)},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": t,
            "renewTime": t,
            "leaseTransitions": 0,
        },
    }


def _lock(kube, ns="kubetm-lab-x"):
    return RunLock(kube, ns, what="lab x", labels={"kubetm.io/lab": "x"})


def _other_live_holder() -> str:
    """A live process on this host that is not us: our parent (pytest's shell or runner)."""
    pid = os.getppid()
    start = lease._process_start(pid)
    since = datetime.fromtimestamp(start or 0, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{socket.gethostname()} pid {pid} since {since}"


def test_identity_names_host_pid_and_start():
    me = lease.identity()
    assert me.startswith(f"{socket.gethostname()} pid {os.getpid()} since ")
    assert lease.holder_alive_here(me) is True


def test_acquire_creates_namespace_and_lease_then_release_stops_renewing():
    kube = LeaseKube()
    lock = _lock(kube).acquire()
    try:
        assert ("Namespace", None, "kubetm-lab-x") in kube.objects
        ns_labels = kube.objects[("Namespace", None, "kubetm-lab-x")]["metadata"]["labels"]
        assert ns_labels == {"app.kubernetes.io/managed-by": "kubetm", "kubetm.io/lab": "x"}
        # pods are refused in a namespace until its default ServiceAccount exists: waited for
        assert kube.sa_waits == [("kubetm-lab-x", "default")]
        spec = kube.objects[("Lease", "kubetm-lab-x", LEASE_NAME)]["spec"]
        assert spec["holderIdentity"] == lease.identity() and spec["leaseDurationSeconds"] == 30
        assert lock.renew() is True
        assert kube.writes[-1] == ("replace", lease.identity())
    finally:
        lock.release()
    assert lock._thread is None
    assert ("Lease", "kubetm-lab-x", LEASE_NAME) in kube.objects  # goes with the namespace


def test_release_with_delete_removes_the_lease():
    kube = LeaseKube()
    _lock(kube).acquire().release(delete=True)
    assert ("Lease", "kubetm-lab-x", LEASE_NAME) not in kube.objects


def test_second_run_is_refused_at_once_naming_the_holder():
    kube = LeaseKube()
    holder = _other_live_holder()
    _held_by(kube, holder, age=3)
    with pytest.raises(KubetmError) as e:
        _lock(kube).acquire()
    assert f"lab x is already running in namespace kubetm-lab-x: held by {holder}" in str(e.value)
    assert "--wait-lock" in str(e.value)
    assert kube.writes == []  # nothing touched
    with pytest.raises(KubetmError, match="already running"):
        _lock(kube).check()


def test_expired_lease_is_taken_over():
    kube = LeaseKube()
    _held_by(kube, "elsewhere pid 1 since 2026-01-01T00:00:00Z", age=45)
    lock = _lock(kube).acquire()
    lock.release()
    spec = kube.objects[("Lease", "kubetm-lab-x", LEASE_NAME)]["spec"]
    assert spec["holderIdentity"] == lease.identity() and spec["leaseTransitions"] == 1
    assert lock.took_over.startswith("elsewhere pid 1") and "expired" in lock.took_over


def test_lease_of_a_killed_process_on_this_host_is_taken_over_at_once():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that existed and is gone: kill -9'd run
    dead = f"{socket.gethostname()} pid {child.pid} since 2026-01-01T00:00:00Z"
    assert lease.holder_alive_here(dead) is False
    kube = LeaseKube()
    _held_by(kube, dead, age=1)  # fresh: would be refused if the holder were alive
    lock = _lock(kube).acquire()
    lock.release()
    assert lock.took_over == dead + " (process gone)"


def test_reused_pid_is_not_the_holder():
    # our parent is alive, but it did not start at the time the holder recorded
    m = lease._IDENTITY.match(_other_live_holder())
    reused = f"{m['host']} pid {m['pid']} since 2001-01-01T00:00:00Z"
    assert lease.holder_alive_here(reused) is False


def test_holder_on_another_host_is_judged_by_expiry_only():
    assert lease.holder_alive_here("other-laptop pid 1 since 2026-01-01T00:00:00Z") is None
    assert lease.holder_alive_here("a holder kubetm did not write") is None


def test_wait_lock_watches_until_released_or_expired():
    kube = LeaseKube()
    _held_by(kube, _other_live_holder(), age=20)
    lock = _lock(kube).acquire(wait=True)
    lock.release()
    assert kube.waits and kube.waits[0][:2] == ("Lease", LEASE_NAME)
    assert kube.waits[0][2] <= 11.5  # waited only until the lease would expire
    assert kube.objects[("Lease", "kubetm-lab-x", LEASE_NAME)]["spec"]["holderIdentity"] == (
        lease.identity()
    )


def test_renew_notices_a_lost_lease():
    kube = LeaseKube()
    lock = _lock(kube).acquire()
    lock.release()
    _held_by(kube, "thief pid 2 since 2026-01-01T00:00:00Z")
    assert lock.renew() is False and lock.lost.startswith("thief")


def test_delete_is_refused_while_a_live_run_holds_the_lock_and_names_force():
    kube = LeaseKube()
    kube.run_lock = lambda ns, what, **kw: RunLock(kube, ns, what=what, **kw)
    holder = _other_live_holder()
    _held_by(kube, holder, age=2)
    with pytest.raises(KubetmError) as e:
        lease.check_not_running(kube, "kubetm-lab-x", "lab x")
    assert f"lab x is already running in namespace kubetm-lab-x: held by {holder}" in str(e.value)
    assert "--force" in str(e.value) and "--wait-lock" in str(e.value)
    assert kube.writes == []


def test_delete_goes_ahead_when_the_holder_is_gone_or_there_is_no_lease():
    kube = LeaseKube()
    kube.run_lock = lambda ns, what, **kw: RunLock(kube, ns, what=what, **kw)
    lease.check_not_running(kube, "kubetm-lab-x", "lab x")  # no namespace at all
    _held_by(kube, f"{socket.gethostname()} pid 999999 since 2026-01-01T00:00:00Z", age=2)
    lease.check_not_running(kube, "kubetm-lab-x", "lab x")  # a killed run's Lease
    assert kube.writes == []
