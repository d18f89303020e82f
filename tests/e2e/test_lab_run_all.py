"""e2e: `kubetm lab run all` — every lab of the catalogue in one run, side by side (the scheduler,
`--jobs`), as an instructor runs it before class: every lab passes, every check is there, labs
whose declared shares intersect never overlap in time, and labs really ran side by side.

This is where `make test` runs each lab (once): the per-lab rows of test_labs.py are run on purpose
only (marker ``each_lab``). Serial (it declares the whole cluster): replicaset stops a worker node and node-scheduling taints
one, so nothing else of the suite's main cluster may run beside it. The online rehearsal's
second cluster may, but only once the labs that declare the whole cluster begin: they run last,
each alone (node-scheduling: taints and labels, a NoExecute eviction measured at once and at
25-50 s; replicaset: a worker stopped, NotReady within 120 s, its pods recreated elsewhere), and
mostly wait (~10 % of 2 cores). In `make test` this test makes the hand-off ``lab-run-all-alone``
then (or when `lab run all` ends, whichever is first; conftest.py: ``KUBETM_E2E_HANDOFFS``) and
test_online.py waits for it before creating its cluster; ``lab-run-all-ended`` when it ends.
Side by side from the start, pod-lifecycle's readiness pod was once too slow to start while the
second cluster was being created (2026-12-02).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from kubetm.labs import catalog
from kubetm.labs.base import conflicts

from .conftest import CLUSTER, CONTEXT, hand_off
from .test_labs import REPO


def _run_all(timeout: float) -> tuple[subprocess.CompletedProcess, tuple[float, str] | None]:
    """`kubetm lab run all -o json`, its stderr read as it comes (every line starts with its
    lab's name): the hand-off file is created when the first lab that declares the whole cluster
    begins (those run last, each alone: every other lab has ended). Returns the result and
    (seconds until that moment, that lab), or None if it never came."""
    alone = {n for n in catalog.names() if CLUSTER in catalog.get(n).shares}
    assert alone, "no lab declares the whole cluster: nothing to hand off at"
    t0 = time.monotonic()
    p = subprocess.Popen(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, "lab", "run", "all", "-o", "json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    err: list[str] = []
    began: list[tuple[float, str]] = []

    def read_stderr() -> None:
        assert p.stderr is not None
        for line in p.stderr:
            err.append(line)
            lab = line.split(":", 1)[0]
            if not began and lab in alone:
                began.append((round(time.monotonic() - t0, 1), lab))
                hand_off(
                    "lab-run-all-alone",
                    f"lab run all: {lab} (whole cluster, alone) began after {began[0][0]} s",
                )

    out: list[str] = []
    readers = [
        threading.Thread(target=read_stderr, daemon=True),
        threading.Thread(
            target=lambda: out.append(p.stdout.read() if p.stdout else ""), daemon=True
        ),
    ]
    for r in readers:
        r.start()
    try:
        p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
        for r in readers:
            r.join(timeout=30)
        hand_off("lab-run-all-alone", "lab run all ended")
        hand_off("lab-run-all-ended", f"lab run all ended after {time.monotonic() - t0:.0f} s")
    return subprocess.CompletedProcess(p.args, p.returncode, "".join(out), "".join(err)), (
        began[0] if began else None
    )


@pytest.mark.shares("cluster")
@pytest.mark.timeout(2400)
def test_lab_run_all_passes_every_lab_side_by_side(cluster):
    t0 = time.monotonic()
    cp, last = _run_all(timeout=2300)
    wall = time.monotonic() - t0
    try:
        results = json.loads(cp.stdout)
    except ValueError:
        pytest.fail(f"lab run all: exit {cp.returncode}, no JSON; stderr: {cp.stderr[-1500:]}")
    assert isinstance(results, list), results
    by_lab = {r["lab"]: r for r in results}
    assert list(by_lab) == catalog.names()  # in course order, none missing
    failing = [
        f"{r['lab']}: {c['name']} ({c['seconds']}s): {c['detail']}"
        for r in results
        for c in r["checks"]
        if not c["ok"]
    ] + [f"{r['lab']}: {r['error']}" for r in results if r.get("error")]
    for name, r in by_lab.items():
        expected = [c.name for c in catalog.get(name).checks]
        assert [c["name"] for c in r["checks"]] == expected, name
    assert cp.returncode == 0 and all(r["ok"] for r in results), "\n".join(failing)
    # the scheduler: declared shares never overlap in time; something did run side by side
    spans = {n: (r["start_s"], r["end_s"]) for n, r in by_lab.items()}
    overlapping = 0
    for a in spans:
        for b in spans:
            if a >= b:
                continue
            (s1, e1), (s2, e2) = spans[a], spans[b]
            overlap = min(e1, e2) - max(s1, s2)
            if overlap > 0:
                overlapping += 1
                assert not conflicts(catalog.get(a).shares, catalog.get(b).shares), (a, b)
    assert overlapping > 0, spans
    # the hand-off's premise: when the first lab that declares the whole cluster began, every
    # other lab had ended (the online rehearsal's cluster is made beside those labs only)
    assert last is not None, "no lab that declares the whole cluster began"
    began_s = by_lab[last[1]]["start_s"]
    shared = [n for n in by_lab if CLUSTER not in catalog.get(n).shares]
    assert all(by_lab[n]["end_s"] <= began_s for n in shared), (last, spans)
    checks = sum(len(r["checks"]) for r in results)
    print(
        f"\nlab run all: {len(results)} labs, {checks} checks passed in {wall:.0f} s "
        f"(labs alone would take {sum(e - s for s, e in spans.values()):.0f} s); "
        f"{overlapping} pairs of labs overlapped; the first lab alone ({last[1]}) began after "
        f"{last[0]} s"
    )
