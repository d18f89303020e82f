"""The page in a real headless browser, without a cluster: `kubetm demo view RUN.json` shows a
saved run with the same numbers and marks as its -o json; a page that reloads mid-run gets the
state so far. Screenshots are kept (see browser_support)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from browser_support import (
    finish,
    mark_counts,
    page_numbers,
    screenshot,
    start_kubetm,
    wait_url,
)

from kubetm.demos.prober import Sample
from kubetm.demos.timeline import render_table, summarize
from kubetm.web import LivePage

KEYS = (
    "requests",
    "failures",
    "downtime_ms",
    "overlap_ms",
    "first_new_ms",
    "last_old_ms",
    "rollout_seconds",
)


def saved_run(strategy: str, gap: bool) -> dict:
    out = []
    for i in range(240):
        t = i * 50.0
        if gap and 4000 <= t < 6500:
            out.append(Sample(t, False, None, 1000.0, "refused"))
        else:
            v = "v1" if t < 4000 or (not gap and t < 8000 and i % 2) else "v2"
            out.append(Sample(t, True, v, 2.0))
    s = summarize(out, strategy=strategy, update_start_ms=3000.0, rollout_seconds=7.25)
    timeline = s.pop("timeline")
    return {
        **s,
        "from": "v1",
        "to": "v2",
        "replicas": 2,
        "rate": 20.0,
        "lesson": f"the {strategy} lesson",
        "namespace": f"kubetm-demo-{strategy}",
        "timeline": timeline,
    }


def table_cells(run: dict) -> list[str]:
    return render_table([run]).splitlines()[1].split()


def test_demo_view_renders_a_saved_compare_like_its_json(browser, artifacts, tmp_path):
    data = {"runs": [saved_run("recreate", gap=True), saved_run("rolling-update", gap=False)]}
    path = tmp_path / "compare.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    proc = start_kubetm("demo", "view", str(path), "--no-browser")
    try:
        url, _ = wait_url(proc, within=30)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        page.goto(url)
        page.wait_for_selector("body[data-done=true]", timeout=15000)
        for i, run in enumerate(data["runs"]):
            shown = page_numbers(page, i)
            for key in KEYS:
                value = None if shown[key][1] == "null" else float(shown[key][1])
                assert value == run[key], (run["strategy"], key, shown[key])
            # the same text as the CLI's table (kubetm demo ... prints it)
            cells = table_cells(run)
            assert [shown[k][0] for k in KEYS] == cells[1:], (shown, cells)
            marks = mark_counts(page, i)
            want: dict[str, int] = {}
            for p in run["timeline"]:
                key = p["version"] if p["ok"] else "failed"
                want[key] = want.get(key, 0) + 1
            assert marks == want
            assert (
                page.locator(f'article.run[data-run="{i}"] .lesson-text').inner_text()
                == run["lesson"]
            )
        assert data["runs"][0]["failures"] == 50 and data["runs"][1]["failures"] == 0
        assert page.locator('article.run[data-run="0"] dd[data-key=failures]').inner_text() == "50"
        assert page.locator('article.run[data-run="1"] dd[data-key=failures]').inner_text() == "0"
        assert page.locator("#status").get_attribute("data-state") == "finished"
        screenshot(page, artifacts, "demo-view-compare.png")
        page.close()
        out, err = finish(proc, timeout=20)  # the page had everything: the server stops by itself
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "recreate" in out and "rolling-update" in out and "downtime" in out


def test_a_page_that_reloads_mid_run_gets_the_state_so_far(browser):
    with LivePage(port=0, browser=False) as live:
        obs = live.demo_observer()
        obs.event(
            "run",
            {
                "strategy": "recreate",
                "lesson": "L",
                "from": "v1",
                "to": "v2",
                "replicas": 2,
                "rate": 20.0,
                "namespace": "kubetm-demo-recreate",
            },
        )
        obs.event(
            "nodes",
            {
                "nodes": [
                    {"metadata": {"name": f"kubetm-{n}", "labels": lab}}
                    for n, lab in (
                        ("control-plane", {"node-role.kubernetes.io/control-plane": ""}),
                        ("worker", {"kubetm.io/course-node": "k8s-node1"}),
                        ("worker2", {"kubetm.io/course-node": "k8s-node2"}),
                    )
                ]
            },
        )
        obs.event("probing", {"steady_ms": 0.0})
        samples = [Sample(i * 50.0, True, "v1", 2.0) for i in range(40)]
        obs.update(samples, 2000.0)
        page = live_page = browser.new_page(bypass_csp=True)
        live_page.goto(live.url)
        live_page.wait_for_function(
            "window.kubetm.runs[0] && window.kubetm.runs[0].points.length === 40"
        )
        assert page_numbers(live_page)["requests"][0] == "40"
        assert (
            live_page.locator(".node").count() == 3
            and "k8s-node1" in live_page.locator("#nodes").inner_text()
        )
        live_page.reload()  # a reconnecting page: everything so far, once
        live_page.wait_for_function(
            "window.kubetm.runs[0] && window.kubetm.runs[0].points.length === 40"
        )
        samples += [Sample(2000.0 + i * 50.0, False, None, 1000.0, "refused") for i in range(10)]
        obs.event("update", {"update_ms": 2000.0})
        obs.update(samples, 2500.0)  # live events after the reload still arrive
        live_page.wait_for_function("window.kubetm.runs[0].points.length === 50")
        assert page_numbers(live_page)["failures"][0] == "10"
        assert live_page.locator("#status").get_attribute("data-state") == "live"
        live.finish({"ok": True}, wait=5)
        live_page.wait_for_selector("body[data-done=true]", timeout=5000)
        page.close()


def test_lab_checks_show_as_they_start_pass_and_fail(browser, artifacts):
    from kubetm.labs.base import CheckResult
    from kubetm.web.observe import lab_plan

    with LivePage(port=0, browser=False, kind="lab", title="pod") as live:
        plan = lab_plan(["pod"])
        live.publish({"type": "labs", "labs": plan})
        on_event = live.lab_observer()
        checks = [c["name"] for c in plan[0]["checks"]]
        on_event("apply", "pod", "5 objects")
        on_event("check", "pod", checks[0])
        page = browser.new_page(viewport={"width": 1200, "height": 800}, bypass_csp=True)
        page.goto(live.url)
        first = page.locator(f'li.check[data-check="{checks[0]}"]')
        first.wait_for()
        page.wait_for_function("document.querySelector('li.check').dataset.state === 'running'")
        assert (
            page.locator("article.lab h2").inner_text().startswith("파드 — Pod")
        )  # the course's Korean title
        on_event(
            "checked",
            "pod",
            CheckResult(checks[0], True, "both containers answer on localhost", 1.5),
        )
        on_event("check", "pod", checks[1])
        on_event("checked", "pod", CheckResult(checks[1], False, "expected a port conflict", 2.25))
        page.wait_for_function(
            "document.querySelectorAll('li.check[data-state=failed]').length === 1"
        )
        assert first.get_attribute("data-state") == "passed" and "1.5s" in first.inner_text()
        failed = page.locator("li.check[data-state=failed]")
        assert "expected a port conflict" in failed.inner_text()
        assert page.locator("article.lab").get_attribute("data-state") == "failed"
        assert (
            page.locator(f'li.check[data-check="{checks[2]}"]').get_attribute("data-state")
            == "pending"
        )
        live.finish([{"lab": "pod", "ok": False}], wait=5, passed=False)
        page.wait_for_selector("body[data-done=true]")
        assert page.locator("#status").get_attribute("data-state") == "failed"
        screenshot(page, artifacts, "lab-run-pod.png")
        page.close()


def test_live_cluster_panel_shows_pods_on_the_three_nodes(browser, artifacts):
    def pod(name, node, version, ready=True, deleting=False):
        return {
            "metadata": {
                "name": name,
                "ownerReferences": [{"name": name.rsplit("-", 1)[0]}],
                **({"deletionTimestamp": "now"} if deleting else {}),
            },
            "spec": {
                "nodeName": node,
                "containers": [{"image": f"localhost:5001/kubetm/app:{version}"}],
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]},
        }

    def rs(name, version, want, ready):
        return {
            "metadata": {"name": name, "creationTimestamp": name},
            "spec": {
                "replicas": want,
                "template": {
                    "spec": {"containers": [{"image": f"localhost:5001/kubetm/app:{version}"}]}
                },
            },
            "status": {"replicas": want, "readyReplicas": ready},
        }

    with LivePage(port=0, browser=False) as live:
        obs = live.demo_observer()
        obs.event(
            "run",
            {
                "strategy": "rolling-update",
                "lesson": "RollingUpdate: no request fails.",
                "from": "v1",
                "to": "v2",
                "replicas": 2,
                "rate": 20.0,
                "namespace": "kubetm-demo-rolling-update",
            },
        )
        obs.event(
            "nodes",
            {
                "nodes": [
                    {"metadata": {"name": f"kubetm-{n}", "labels": lab}}
                    for n, lab in (
                        ("control-plane", {"node-role.kubernetes.io/control-plane": ""}),
                        ("worker", {"kubetm.io/course-node": "k8s-node1"}),
                        ("worker2", {"kubetm.io/course-node": "k8s-node2"}),
                    )
                ]
            },
        )
        obs.event(
            "step",
            {"text": "applying namespace/kubetm-demo-rolling-update, deployment/app, service/app"},
        )
        obs.event(
            "cluster",
            {
                "pods": [
                    pod("app-a1-x1", "kubetm-worker", "v1"),
                    pod("app-a1-x2", "kubetm-worker2", "v1", deleting=True),
                    pod("app-b2-y1", "kubetm-worker2", "v2"),
                    pod("app-b2-y2", "kubetm-worker", "v2", ready=False),
                ],
                "replicasets": [rs("app-a1", "v1", 1, 1), rs("app-b2", "v2", 2, 1)],
                "line": "",
            },
        )
        obs.event("probing", {"steady_ms": 0.0})
        obs.event("update", {"update_ms": 1000.0})
        samples = [
            Sample(i * 50.0, True, "v1" if i < 40 or (i < 70 and i % 2) else "v2", 2.0)
            for i in range(80)
        ]
        obs.update(samples, 4000.0)
        page = browser.new_page(viewport={"width": 1400, "height": 800}, bypass_csp=True)
        page.goto(live.url)
        page.wait_for_function(
            "window.kubetm.runs[0] && window.kubetm.runs[0].points.length === 80"
        )
        nodes = page.locator(".node")
        assert nodes.count() == 3
        assert page.locator('.node[data-node="kubetm-worker"] .pod').count() == 2
        assert page.locator(".pod.deleting").count() == 1
        assert "k8s-node1" in page.locator("#nodes").inner_text()
        assert page.locator('dd[data-key="overlap_ms"]').get_attribute("data-value") != "0"
        screenshot(page, artifacts, "demo-live-rolling-update.png")
        live.finish({"ok": True}, wait=5)
        page.close()
