"""`kubetm lab ...`: the progress lines on stderr come from typed events (LabEvent), not strings."""

from __future__ import annotations

import pytest

from kubetm.cli.lab import event_line
from kubetm.labs.events import LabEvent


class Outcome:
    def line(self) -> str:
        return "PASS  pod is Ready  (0.4s)"


@pytest.mark.parametrize(
    "event, data, expect",
    [
        (LabEvent.APPLY, "3 objects", "pod: apply 3 objects"),
        (LabEvent.CHECK, "pod is Ready", "pod: check pod is Ready"),
        (LabEvent.DELETE, None, "pod: delete"),
        (LabEvent.CHECKED, Outcome(), "pod: PASS  pod is Ready  (0.4s)"),
        (LabEvent.ERROR, "apply failed", "pod: apply failed"),
        (LabEvent.LOG, "waiting for 2 pods", "pod: waiting for 2 pods"),
        (LabEvent.APPLIED, ["configmap/c created"], None),  # the command prints the results itself
        (LabEvent.DELETED, ["pod/p deleted"], None),
    ],
)
def test_event_lines(event, data, expect):
    assert event_line(event, "pod", data) == expect


def test_every_event_has_a_decision():
    """A new LabEvent must be handled here (a line or None on purpose), never fall through silently."""
    handled = {
        LabEvent.APPLY,
        LabEvent.CHECK,
        LabEvent.DELETE,
        LabEvent.CHECKED,
        LabEvent.ERROR,
        LabEvent.LOG,
        LabEvent.APPLIED,
        LabEvent.DELETED,
    }
    assert set(LabEvent) == handled


def test_events_are_their_old_strings():
    """Listeners written against the plain strings keep working."""
    assert LabEvent.CHECKED == "checked" and str(LabEvent.APPLY) == "apply"
    assert event_line("checked", "pod", Outcome()) == "pod: PASS  pod is Ready  (0.4s)"
    with pytest.raises(ValueError):
        event_line("exploded", "pod", None)


@pytest.mark.parametrize("args, jobs", [([], None), (["--jobs", "2"], 2), (["-j", "1"], 1)])
def test_lab_run_hands_jobs_to_the_scheduler(monkeypatch, capsys, args, jobs):
    from kubetm.labs import runner
    from kubetm.labs.base import LabResult

    from .run import run_main

    seen = {}

    def fake_run(kube, selection, **kw):
        seen.update(kw, selection=selection)
        return [LabResult("pod")]  # no checks: not ok, exit 4

    monkeypatch.setattr(runner, "run", fake_run)
    code, _, _ = run_main(["lab", "run", "all", *args], capsys)
    assert code == 4 and seen["selection"] == "all"
    assert seen["jobs"] == (runner.DEFAULT_JOBS if jobs is None else jobs)


def test_lab_run_refuses_zero_jobs(capsys):
    from .run import run_main

    code, _, err = run_main(["lab", "run", "all", "--jobs", "0"], capsys)
    assert code == 2 and "--jobs" in err
