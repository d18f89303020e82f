"""e2e: `kubetm lab run all` — every lab of the catalogue in one run, side by side (the scheduler,
`--jobs`), as an instructor runs it before class: every lab passes, every check is there, labs
whose declared shares intersect never overlap in time, and labs really ran side by side.

This is where `make test` runs each lab (once): the per-lab rows of test_labs.py are run on purpose
only (marker ``each_lab``). Serial (it declares the whole cluster): replicaset stops a worker node and node-scheduling taints
one, so nothing else of the suite may run beside it (not even the online rehearsal's second
cluster: tried, and pod-lifecycle's readiness pod was once too slow to start beside it).
"""

from __future__ import annotations

import json
import time

import pytest

from kubetm.labs import catalog
from kubetm.labs.base import conflicts

from .test_labs import kubetm


@pytest.mark.shares("cluster")
@pytest.mark.timeout(2400)
def test_lab_run_all_passes_every_lab_side_by_side(cluster):
    t0 = time.monotonic()
    cp = kubetm("lab", "run", "all", "-o", "json", timeout=2300)
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
    checks = sum(len(r["checks"]) for r in results)
    print(
        f"\nlab run all: {len(results)} labs, {checks} checks passed in {wall:.0f} s "
        f"(labs alone would take {sum(e - s for s, e in spans.values()):.0f} s); "
        f"{overlapping} pairs of labs overlapped"
    )
