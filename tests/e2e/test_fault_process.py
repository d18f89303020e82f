"""Faults of kubetm's own process (issue 14's matrix, the rows that disturb nothing shared).

kill -9 of a `lab run`, a demo and an `apply -f` of a folder, and the same lab started twice at
once: each uses only its lab's, its demo's or its own namespace (declared with
``@pytest.mark.shares``), so `make test` runs them side by side with the rest (issue 13): the apply
row in the parallel phase, the demo row in the demos' phase; the lab row needs a quiet host (see
there) and runs with the serial rows. The rows that stop, pause or restart what everyone shares
are in test_fault.py (serial, last). Marker ``fault``: not part of a plain `pytest tests/e2e`;
`make fault` runs both files.
"""

from __future__ import annotations

import time

import pytest

from .conftest import CLUSTER, demo_shares, kubectl, lab_shares
from .test_fault import (
    LEASE,
    _kubetm,
    _ns_exists,
    _one_document,
    _one_error_line,
    _report,
    _start,
    _until,
)

pytestmark = [pytest.mark.fault]


@pytest.mark.timeout(600)
# Serial (with the other fault rows, last): its premise is that the first run is still in its
# checks when killed (a Lease to take over); in the parallel phase (96 % of 2 cores) the first
# run once reached its own namespace deletion first, and the rerun rightly waited for that
# namespace instead (rehearsal 7, 2026-12-02).
@pytest.mark.shares(CLUSTER, *lab_shares("config"))
def test_same_lab_twice_then_kill_9_then_again(cluster):
    """Twice at once: the second refused within seconds, naming the holder. Then the holder is
    killed with -9 and the same command, run at once, takes its Lease over and passes."""
    first = _start("lab", "run", "config", "-o", "json")
    ns = "kubetm-lab-config"
    _until(
        "the first run holds its Lease",
        lambda: bool(
            kubectl(
                "-n", ns, "get", "lease", LEASE, "--ignore-not-found", "-o", "name", check=False
            )
        ),
        60,
    )
    t = time.monotonic()
    second = _kubetm("lab", "run", "config", "-o", "json", timeout=60)
    refused_s = time.monotonic() - t
    assert second.returncode != 0
    doc = _one_document(second.stdout)
    assert doc["ok"] is False and "already running" in doc["error"]
    assert f"pid {first.pid} since" in doc["error"], doc["error"]
    assert refused_s < 15, f"refused only after {refused_s:.1f} s"
    # `lab delete` must not pull the running lab's objects from under it either
    deleted = _kubetm("lab", "delete", "config", timeout=60)
    assert deleted.returncode != 0, deleted.stdout[-500:]
    assert _one_error_line(deleted).startswith("error: lab config is already running")
    assert "--force" in deleted.stderr and f"pid {first.pid} since" in deleted.stderr
    assert _ns_exists(ns)
    assert first.poll() is None, "the first run ended: the second must not have disturbed it"
    first.kill()  # kill -9 in the middle of the run
    first.wait()
    t = time.monotonic()
    again = _kubetm("lab", "run", "config", "-o", "json", timeout=400)
    again_s = time.monotonic() - t
    assert again.returncode == 0, again.stderr[-1500:]
    assert "took over the run lock from" in again.stderr and "(process gone)" in again.stderr
    assert _one_document(again.stdout)["ok"] is True
    assert not _ns_exists(ns), "namespace left after the run"
    _report(
        "lab config twice at once, then kill -9, then again",
        refused_after_s=round(refused_s, 1),
        refusal=doc["error"][:120],
        rerun_after_kill_s=round(again_s, 1),
    )


@pytest.mark.timeout(600)
@pytest.mark.shares(*demo_shares("blue-green"))
def test_kill_9_mid_demo_then_again(cluster):
    """kill -9 of `demo blue-green` once its objects exist; the same command at once takes the
    killed run's Lease over, clears what it left and shows the lesson (no failed request).
    (Blue-green, not rolling-update: the demos' phase's longest chain is rolling-update's.)"""
    ns = "kubetm-demo-blue-green"
    p = _start("demo", "blue-green", "-o", "json")
    _until("the demo's namespace exists", lambda: _ns_exists(ns), 60)
    time.sleep(3)
    p.kill()
    p.wait()
    t = time.monotonic()
    again = _kubetm("demo", "blue-green", "-o", "json")
    assert again.returncode == 0, again.stderr[-1500:]
    assert _one_document(again.stdout)["failures"] == 0
    assert not _ns_exists(ns)
    _report("kill -9 mid demo blue-green, then again", rerun_s=round(time.monotonic() - t, 1))


APPLY_NS = "kubetm-e2e-fault-apply"


def _apply_folder(tmp_path) -> str:
    """A folder of its own (no lab's namespace: other runs may use those): a Namespace, then 40
    files of one ConfigMap each, applied one file after another (kill -9 lands in the middle)."""
    folder = tmp_path / "apply"
    folder.mkdir()
    (folder / "00-namespace.yaml").write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {APPLY_NS}\n"
    )
    for i in range(40):
        (folder / f"{i + 10:02d}-cm.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n"
            f"  namespace: {APPLY_NS}\ndata:\n  i: '{i}'\n"
        )
    return str(folder)


@pytest.mark.timeout(300)
def test_kill_9_mid_apply_of_a_folder_then_again(cluster, tmp_path):
    folder = _apply_folder(tmp_path)
    p = _start("apply", "-f", folder)
    _until("the folder's namespace applied", lambda: _ns_exists(APPLY_NS), 60, every=0.1)
    p.kill()
    p.wait()
    cms = kubectl("-n", APPLY_NS, "get", "configmaps", "-o", "name").split()
    partial = len([c for c in cms if c.startswith("configmap/cm-")])
    t = time.monotonic()
    again = _kubetm("apply", "-f", folder)
    applied_s = time.monotonic() - t
    assert again.returncode == 0, again.stderr[-1500:]
    assert len(kubectl("-n", APPLY_NS, "get", "configmaps", "-o", "name").split()) >= 40
    gone = _kubetm("delete", "-f", folder)
    assert gone.returncode == 0, gone.stderr[-1500:]
    _until("the folder's namespace deleted", lambda: not _ns_exists(APPLY_NS), 120)
    _report(
        "kill -9 mid apply -f of a folder (41 objects), then again",
        configmaps_when_killed=partial,
        apply_again_s=round(applied_s, 1),
        deleted_within_s=round(time.monotonic() - t - applied_s, 1),
    )
