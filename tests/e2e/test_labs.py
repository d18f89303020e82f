"""e2e: every course lab through the real CLI on the kind cluster (context kind-kubetm).

One test per lab (all labs of the registry): `python -m kubetm --context kind-kubetm lab run <lab>
-o json` must exit 0, report "ok": true and every check of the lab passed. Plus the CLI's errors:
verify of a lab that is not applied, and an unknown lab name.

Each test declares its lab's shares (`lab_shares`): under pytest-xdist, tests of labs whose
declarations intersect never overlap; each `lab run` deletes what it created.

`make test` runs every lab ONCE: in its serial phase's `lab run all` (test_lab_run_all.py), which
asserts the same for every lab (exit 0, ok, every check of the lab present and passed) with the
labs side by side. The per-lab rows here (marker ``each_lab``) repeated that work in the parallel
phase (~1,100 s of the ~2,500 s of e2e work there); they stay for one lab at a time:
``pytest -m each_lab tests/e2e/test_labs.py -k LAB``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from kubetm.labs import catalog

from .conftest import CONTEXT, holding, kubectl, lab_shares

REPO = Path(__file__).resolve().parents[2]
LABS = catalog.names()


def kubetm(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _budget(lab: str) -> float:
    """Every check's own timeout, plus apply and delete (pods, namespaces, PVs)."""
    return sum(c.timeout for c in catalog.get(lab).checks) + 420


@pytest.mark.each_lab
@pytest.mark.timeout(1200)  # the subprocess has its own, per-lab budget (_budget): no earlier cut
@pytest.mark.parametrize(
    "lab",
    [pytest.param(lab, marks=pytest.mark.shares(*lab_shares(lab))) for lab in LABS],
)
def test_lab_run_passes_every_check(cluster, lab):
    expected = [c.name for c in catalog.get(lab).checks]
    cp = kubetm("lab", "run", lab, "-o", "json", timeout=_budget(lab))
    try:
        payload = json.loads(cp.stdout)
    except ValueError:
        pytest.fail(
            f"lab run {lab}: exit {cp.returncode}, no JSON on stdout; stderr: {cp.stderr[-1500:]}"
        )
    checks = {c["name"]: c for c in payload.get("checks", [])}
    failing = [
        f"{c['name']} ({c['seconds']}s): {c['detail']}"
        for c in payload.get("checks", [])
        if not c["ok"]
    ]
    missing = [n for n in expected if n not in checks]
    report = "\n  ".join(failing + [f"{n}: missing from the result" for n in missing])
    error = f"\n  error: {payload['error']}" if payload.get("error") else ""
    assert cp.returncode == 0 and payload.get("ok") is True and not failing and not missing, (
        f"lab run {lab}: exit {cp.returncode}, ok={payload.get('ok')}{error}\n  {report}"
    )
    assert payload["lab"] == lab
    assert all(checks[n]["ok"] is True for n in expected)


def _not_applied_lab(stack: ExitStack) -> str:
    """A lab whose namespaces are absent, held (its `lab:` lock) so no test applies it meanwhile."""
    for lab in reversed(LABS):
        try:
            stack.enter_context(holding(f"lab:{lab}", wait=False))
        except BlockingIOError:
            continue  # another test runs it now
        present = set(kubectl("get", "namespaces", "-o", "name").split())
        if not any(f"namespace/{ns}" in present for ns in catalog.get(lab).namespaces):
            return lab
        stack.close()
    pytest.fail(
        f"every lab is applied on {CONTEXT}; cannot test verify of a lab that is not applied"
    )


def test_verify_of_a_lab_not_applied_fails_with_one_line(cluster):
    with ExitStack() as stack:
        lab = _not_applied_lab(stack)
        cp = kubetm("lab", "verify", lab, timeout=120)
    lines = cp.stderr.strip().splitlines()
    assert cp.returncode != 0, cp.stdout
    assert len(lines) == 1, cp.stderr
    assert lines[0].startswith("error: ") and f"lab {lab} is not applied" in lines[0], lines[0]
    assert "Traceback" not in cp.stderr


def test_unknown_lab_lists_the_valid_ones(cluster):
    cp = kubetm("lab", "run", "nope", timeout=60)
    lines = cp.stderr.strip().splitlines()
    assert cp.returncode == 2, cp.stderr  # a usage error, like an unknown demo
    assert len(lines) == 1 and "unknown lab 'nope'" in lines[0], cp.stderr
    for lab in LABS:
        assert lab in lines[0], f"{lab} missing from: {lines[0]}"


@pytest.mark.timeout(1200)
@pytest.mark.shares(*lab_shares("service"), *lab_shares("probes"))
def test_two_lab_runs_at_the_same_time_both_succeed(cluster):
    """Two `kubetm lab run` processes, different labs, started together: each passes on its own."""
    pair = ("service", "probes")
    procs = {
        lab: subprocess.Popen(
            [sys.executable, "-m", "kubetm", "--context", CONTEXT, "lab", "run", lab, "-o", "json"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lab in pair
    }
    outcomes = {}
    try:
        for lab, p in procs.items():
            out, err = p.communicate(timeout=_budget(lab))
            outcomes[lab] = (p.returncode, out, err)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    for lab, (code, out, err) in outcomes.items():
        assert code == 0, (
            f"lab run {lab} (beside {[x for x in pair if x != lab][0]}): exit {code}\n{err[-1500:]}"
        )
        payload = json.loads(out)
        assert payload["ok"] is True and len(payload["checks"]) == len(catalog.get(lab).checks)
    present = set(kubectl("get", "namespaces", "-o", "name").split())
    for lab in pair:
        for ns in catalog.get(lab).namespaces:
            assert f"namespace/{ns}" not in present, f"{ns} left behind"
