"""`-o json` prints ONE document on failure too: ok false, the error line, what was measured."""

from __future__ import annotations

import json

import pytest

from kubetm.cli import wants_json
from kubetm.demos import runner
from kubetm.errors import KubetmError

from .run import run_main


@pytest.mark.parametrize(
    "args,expected",
    [
        (["demo", "recreate", "-o", "json"], True),
        (["demo", "recreate", "-ojson"], True),
        (["demo", "recreate", "--output=json"], True),
        (["--output", "JSON", "lab", "run", "pod"], True),
        (["demo", "recreate"], False),
        (["demo", "recreate", "-o", "text"], False),
        (["apply", "-f", "x", "--", "-o", "json"], False),
    ],
)
def test_wants_json(args, expected):
    assert wants_json(args) is expected


def _failing_demo(partial):
    def fake_run_demo(kube, name, opts, **_):
        exc = KubetmError("pod app-1 will not become Ready: ErrImagePull", hint="push it")
        exc.partial = partial
        raise exc

    return fake_run_demo


def test_failed_demo_prints_one_document_with_the_partial_timeline(monkeypatch, capsys, no_cluster):
    partial = {"strategy": "rolling-update", "requests": 40, "failures": 0, "timeline": [1, 2]}
    monkeypatch.setattr(runner, "run_demo", _failing_demo(partial))
    code, out, err = run_main(["demo", "rolling-update", "--to", "v9", "-o", "json"], capsys)
    assert code == 1
    doc = json.loads(out)  # exactly one document
    assert doc["ok"] is False and doc["exit_code"] == 1
    assert doc["error"] == "pod app-1 will not become Ready: ErrImagePull (push it)"
    assert doc["requests"] == 40 and doc["timeline"] == [1, 2]
    assert err.count("error: ") == 1


def test_failed_demo_without_json_prints_nothing_on_stdout(monkeypatch, capsys, no_cluster):
    monkeypatch.setattr(runner, "run_demo", _failing_demo({"requests": 1}))
    code, out, err = run_main(["demo", "rolling-update"], capsys)
    assert code == 1 and out == "" and err.startswith("error: pod app-1")


def test_compare_failure_carries_the_runs_so_far(monkeypatch, capsys, no_cluster):
    calls = []

    def fake_run_demo(kube, name, opts, **_):
        calls.append(name)
        if name == "recreate":
            return {"strategy": "recreate", "requests": 5, "timeline": []}
        exc = KubetmError("boom")
        exc.partial = {"strategy": "rolling-update", "requests": 2}
        raise exc

    monkeypatch.setattr(runner, "run_demo", fake_run_demo)
    code, out, _ = run_main(["demo", "compare", "-o", "json"], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert [r["strategy"] for r in doc["runs"]] == ["recreate", "rolling-update"]


def test_interrupted_command_prints_its_document(monkeypatch, capsys, no_cluster):
    def interrupted(kube, name, opts, **_):
        exc = KeyboardInterrupt()
        exc.partial = {"strategy": name, "requests": 3}
        raise exc

    monkeypatch.setattr(runner, "run_demo", interrupted)
    code, out, _ = run_main(["demo", "recreate", "-o", "json"], capsys)
    doc = json.loads(out)
    assert code == 130 and doc == {
        "ok": False,
        "error": "interrupted",
        "exit_code": 130,
        "strategy": "recreate",
        "requests": 3,
    }


def test_a_command_that_printed_its_document_gets_no_second_one(monkeypatch, capsys, no_cluster):
    from kubetm import output

    monkeypatch.setattr(output, "_json_written", False)

    def printed_then_failed(kube, name, opts, **_):
        output.emit({"strategy": name}, "json")
        raise KubetmError("after printing")

    monkeypatch.setattr(runner, "run_demo", printed_then_failed)
    code, out, _ = run_main(["demo", "recreate", "-o", "json"], capsys)
    assert code == 1 and json.loads(out) == {"strategy": "recreate"}
