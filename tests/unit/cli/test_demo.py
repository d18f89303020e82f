"""`kubetm demo ...`: bad knobs refused before any API call, knobs passed through, defined once."""

from __future__ import annotations

import pytest

from kubetm.demos import runner

from .run import run_main


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "rolling-update", "--rate", "0"],
        ["demo", "recreate", "--replicas", "-2"],
        ["demo", "blue-green", "--to", "no:pe"],
        ["demo", "compare", "--duration", "-1"],
        ["demo", "compare", "--max-surge", "0"],
        ["demo", "run", "rolling-update", "--min-ready-seconds", "-1"],
        ["demo", "rolling-update", "--plot", "out.gif"],
        ["demo", "run", "canary"],
    ],
)
def test_cli_refuses_bad_values_before_any_api_call(args, capsys, no_cluster):
    code, out, err = run_main(args, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert no_cluster.calls == []


def test_cli_passes_knobs(monkeypatch, capsys, no_cluster):
    seen = {}

    def fake_run_demo(kube, name, opts, *, registry=None, keep=False, note=None, wait_lock=False):
        seen[name] = (opts, keep, registry)
        return {
            "strategy": name,
            "requests": 10,
            "failures": 0,
            "downtime_ms": 0.0,
            "overlap_ms": 50.0,
            "first_new_ms": 1.0,
            "last_old_ms": 51.0,
            "rollout_seconds": 3.2,
            "timeline": [],
        }

    monkeypatch.setattr(runner, "run_demo", fake_run_demo)
    code, out, _ = run_main(
        [
            "--registry",
            "reg:5000",
            "demo",
            "rolling-update",
            "--replicas",
            "3",
            "--from",
            "v2",
            "--to",
            "v3",
            "--max-surge",
            "25%",
            "--rate",
            "40",
            "--keep",
            "-o",
            "json",
        ],
        capsys,
    )
    assert code == 0 and '"overlap_ms": 50.0' in out
    opts, keep, registry = seen["rolling-update"]
    assert (opts.replicas, opts.from_tag, opts.to_tag, opts.max_surge, opts.rate) == (
        3,
        "v2",
        "v3",
        "25%",
        40.0,
    )
    assert keep and registry == "reg:5000"
    seen.clear()
    code, out, _ = run_main(["demo", "compare", "--max-unavailable", "1", "-o", "json"], capsys)
    import json

    assert code == 0 and [r["strategy"] for r in json.loads(out)["runs"]] == [
        "recreate",
        "rolling-update",
    ]
    assert (
        seen["recreate"][0].max_unavailable is None
        and seen["rolling-update"][0].max_unavailable == 1
    )
    code, out, _ = run_main(["demo", "compare"], capsys)
    assert (
        code == 0
        and "recreate" in out
        and "rolling-update" in out
        and "lesson" not in out.splitlines()[0]
    )
