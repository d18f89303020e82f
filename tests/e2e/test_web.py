"""e2e: `kubetm demo <strategy> --web` on the real cluster, watched by a real headless browser.

The page must receive events while the rollout runs (points, the update mark, pods on the nodes),
end with the same numbers as the run's own `-o json`, and show what the lesson is about: failed
requests for recreate, none for rolling-update. A screenshot of each page is kept as a test
artifact ($KUBETM_ARTIFACTS, else the test's tmp folder; the path is printed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import browser_support
from browser_support import (
    finish,
    mark_counts,
    page_numbers,
    screenshot,
    start_kubetm,
    wait_url,
)

from .conftest import CONTEXT, demo_shares

browser, artifacts = browser_support.browser, browser_support.artifacts  # the fixtures

KEYS = (
    "requests",
    "failures",
    "downtime_ms",
    "overlap_ms",
    "first_new_ms",
    "last_old_ms",
    "rollout_seconds",
)
pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param(s, marks=pytest.mark.shares(*demo_shares(s)))
        for s in ("rolling-update", "recreate")
    ],
)
def test_demo_web_page_follows_the_rollout_and_ends_with_its_json(
    cluster, browser, artifacts, strategy
):
    proc = start_kubetm(
        "--context", CONTEXT, "demo", strategy, "--web", "--no-browser", "-o", "json"
    )
    try:
        url, _ = wait_url(proc, within=60)  # printed before the demo touches the cluster
        page = browser.new_page(viewport={"width": 1400, "height": 950}, bypass_csp=True)
        page.goto(url)
        # live, before the end: the update mark, probe points and pods on the nodes
        page.wait_for_function(
            "() => { const r = window.kubetm.runs[0]; return r && r.updateMs !== null "
            "&& r.points.length > 0 && document.querySelectorAll('.pod').length > 0; }",
            timeout=300_000,
        )
        live = page.evaluate(
            "() => ({done: window.kubetm.done, points: window.kubetm.runs[0].points.length, "
            "nodes: document.querySelectorAll('.node').length, "
            "pods: [...document.querySelectorAll('.pod')].map(p => p.dataset.version)})"
        )
        assert live["done"] is False and live["points"] > 0, live
        assert live["nodes"] >= 3 and set(live["pods"]) <= {"v1", "v2"}, live
        assert page.locator("#status").get_attribute("data-state") == "live"
        page.wait_for_selector("body[data-done=true]", timeout=300_000)
        shot = screenshot(page, artifacts, f"demo-{strategy}-web.png")
        shown = page_numbers(page)
        marks = mark_counts(page)
        status = page.locator("#status").get_attribute("data-state")
        page.close()
        out, err = finish(proc, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    run = json.loads(out)
    assert status == "finished" and shot.stat().st_size > 10_000
    for key in KEYS:
        value = None if shown[key][1] == "null" else float(shown[key][1])
        assert value == run[key], (key, shown[key], run[key])
    want: dict[str, int] = {}
    for p in run["timeline"]:
        k = p["version"] if p["ok"] else "failed"
        want[k] = want.get(k, 0) + 1
    assert marks == want  # one mark per probe request, per version / failed
    if strategy == "recreate":
        assert (
            run["failures"] > 0
            and int(shown["failures"][0]) == run["failures"]
            and marks.get("failed", 0) > 0
        )
    else:
        failed = [(p["t_ms"], p.get("error")) for p in run["timeline"] if not p["ok"]]
        assert run["failures"] == 0 and shown["failures"][0] == "0" and "failed" not in marks, (
            failed
        )
