"""Timeline metrics, table, live view and plot from synthetic sample sequences (no cluster)."""

from __future__ import annotations

import io
import json
import random
import sys

import pytest

from kubetm.demos.live import LiveView, window_stats
from kubetm.demos.prober import Sample
from kubetm.demos.timeline import (
    RunningMetrics,
    downtime_ms,
    failure_spans,
    render_table,
    summarize,
)
from kubetm.errors import KubetmError

RATE = 20.0
IV = 1000.0 / RATE  # probe interval, ms
UPDATE_AT = 2000.0
FIELDS = {
    "strategy",
    "requests",
    "failures",
    "downtime_ms",
    "overlap_ms",
    "first_new_ms",
    "last_old_ms",
    "rollout_seconds",
    "timeline",
}


def ok(t: float, v: str) -> Sample:
    return Sample(t, True, v, 1.5)


def fail(t: float) -> Sample:
    return Sample(t, False, None, 500.0, "timeout")


def recreate() -> list[Sample]:
    """v1 until 2.4 s, nothing answers until 4.0 s, then v2."""
    out = []
    for i in range(160):
        t = i * IV
        out.append(ok(t, "v1") if t < 2400 else fail(t) if t < 4000 else ok(t, "v2"))
    return out


def rolling() -> list[Sample]:
    """v1, then a mix of v1 and v2 from 2.5 s to 5.5 s, then v2; never a failure."""
    rnd = random.Random(1)
    out = []
    for i in range(160):
        t = i * IV
        if 2500 <= t <= 5500:
            v = "v2" if t == 2500 or (t != 5500 and rnd.random() < 0.5) else "v1"
        else:
            v = "v1" if t < 2500 else "v2"
        out.append(ok(t, v))
    return out


def blue_green(interleave: bool = False) -> list[Sample]:
    """Selector switch at 3.0 s; with interleave one in-flight old answer lands after the first new."""
    out = [ok(i * IV, "v1" if i * IV < 3000 else "v2") for i in range(160)]
    if interleave:
        out[60] = ok(out[60].t_ms, "v1")  # t=3000 still old ...
        out[59] = ok(out[59].t_ms, "v2")  # ... while t=2950 was already new
    return out


def test_downtime_lasts_until_the_first_success_after_a_failed_run_was_answered() -> None:
    """Requests that waited for the outage (TCP retried their SYN after 1 s) are answered, but
    the outage lasted until they were: downtime ends at the first success's answer, not its send;
    a slow answer with no failure around it is no downtime at all."""
    samples = [ok(0, "v1"), fail(50), fail(100), Sample(150, True, "v2", 1020.0), ok(200, "v2")]
    assert downtime_ms(samples) == pytest.approx(150 + 1020 - 0)
    assert summarize(samples, strategy="recreate")["downtime_ms"] == pytest.approx(1170)
    assert RunningMetrics().update(samples)["downtime_ms"] == pytest.approx(1170)
    timeline = summarize(samples, strategy="recreate")["timeline"]
    assert failure_spans(timeline) == [(0, pytest.approx(1170))]
    slow = [ok(0, "v1"), Sample(50, True, "v1", 1900.0), ok(100, "v2")]
    assert downtime_ms(slow) == 0 and summarize(slow, strategy="rolling-update")["failures"] == 0


def test_recreate_has_gap_and_no_overlap() -> None:
    s = summarize(recreate(), strategy="recreate", update_start_ms=UPDATE_AT, rollout_seconds=3.21)
    assert set(s) == FIELDS
    assert s["requests"] == 160 and s["failures"] == 32
    # last success sent at 2350, first success after sent at 4000, answered 1.5 ms later
    assert s["downtime_ms"] == pytest.approx(4000 + 1.5 - 2350)
    assert s["overlap_ms"] == 0
    assert s["first_new_ms"] == pytest.approx(4000 - UPDATE_AT)
    assert s["last_old_ms"] == pytest.approx(2350 - UPDATE_AT)
    assert s["rollout_seconds"] == 3.21


def test_rolling_update_no_failures_and_overlap() -> None:
    s = summarize(rolling(), strategy="rolling-update", update_start_ms=UPDATE_AT)
    assert s["failures"] == 0 and s["downtime_ms"] == 0
    assert s["first_new_ms"] == pytest.approx(2500 - UPDATE_AT)
    assert s["last_old_ms"] == pytest.approx(5500 - UPDATE_AT)
    assert s["overlap_ms"] == pytest.approx(3000)


@pytest.mark.parametrize("interleave", [False, True])
def test_blue_green_switches_at_once(interleave: bool) -> None:
    s = summarize(blue_green(interleave), strategy="blue-green", update_start_ms=UPDATE_AT)
    assert s["failures"] == 0 and s["downtime_ms"] == 0
    assert s["overlap_ms"] <= IV
    assert s["first_new_ms"] is not None and s["last_old_ms"] is not None


def test_downtime_edges() -> None:
    assert downtime_ms([]) == 0
    assert downtime_ms([ok(0, "v1"), ok(50, "v1")]) == 0
    # failures to the end: from the last success to the last sample
    assert downtime_ms([ok(0, "v1"), fail(50), fail(100), fail(150)]) == 150
    # failures from the start: from the first sample to the first success's answer (1.5 ms)
    assert downtime_ms([fail(0), fail(50), ok(100, "v1")]) == 101.5
    # the longest of several runs
    seq = [ok(0, "v1"), fail(50), ok(100, "v1"), fail(150), fail(200), fail(250), ok(300, "v1")]
    assert downtime_ms(seq) == 201.5
    assert downtime_ms([fail(0)]) == 0  # a single failed sample spans nothing


def test_versions_inferred_or_given() -> None:
    s = summarize([ok(0, "v1"), ok(50, "v1")], strategy="x")
    assert s["first_new_ms"] is None and s["overlap_ms"] == 0 and s["last_old_ms"] == 50
    given = summarize(rolling(), strategy="x", old="v2", new="v1")  # swapped on purpose
    assert given["first_new_ms"] == 0


def test_timeline_points_relative_to_update_and_json_ready() -> None:
    samples = list(reversed(recreate()))  # order does not matter
    s = summarize(samples, strategy="recreate", update_start_ms=UPDATE_AT)
    assert s["timeline"][0] == {"t_ms": -UPDATE_AT, "ok": True, "version": "v1", "latency_ms": 1.5}
    assert [p["t_ms"] for p in s["timeline"]] == sorted(p["t_ms"] for p in s["timeline"])
    assert json.loads(json.dumps(s)) == s


def test_a_failed_point_says_why() -> None:
    samples = [
        Sample(0.0, True, "v1", 2.0),
        Sample(50.0, False, None, 1000.0, "timeout"),
        Sample(100.0, False, None, 1.0),  # a sample that does not know why
    ]
    points = summarize(samples, strategy="rolling-update", update_start_ms=0.0)["timeline"]
    assert "error" not in points[0] and "error" not in points[2]
    assert points[1]["error"] == "timeout"


def test_render_table() -> None:
    runs = [
        summarize(recreate(), strategy="recreate", update_start_ms=UPDATE_AT, rollout_seconds=4.0),
        summarize(rolling(), strategy="rolling-update", update_start_ms=UPDATE_AT),
    ]
    lines = render_table(runs).splitlines()
    assert lines[0].split() == [
        "strategy",
        "requests",
        "failures",
        "downtime",
        "overlap",
        "first",
        "new",
        "last",
        "old",
        "rollout",
    ]
    assert lines[1].split() == [
        "recreate",
        "160",
        "32",
        "1.65s",
        "0.00s",
        "+2.00s",
        "+0.35s",
        "4.0s",
    ]
    assert lines[2].split()[-1] == "-"
    assert len({len(line) for line in lines}) == 1  # aligned


def test_window_stats_counts_last_second() -> None:
    samples = rolling()[:100]  # up to t=4950
    st = window_stats(samples, now_ms=4950.0)
    assert st.requests == 100 and st.failures == 0
    assert st.rate == pytest.approx(20.0)
    assert sum(st.versions.values()) == 20 and set(st.versions) == {"v1", "v2"}
    st = window_stats(recreate()[:60], now_ms=2950.0)
    assert st.window_failures == 12 and st.versions == {"v1": 8}


def test_live_view_renders_without_terminal() -> None:
    from rich.console import Console

    buf = io.StringIO()
    with LiveView(
        "rolling-update", console=Console(file=buf, width=80, force_terminal=False)
    ) as view:
        view.update(recreate()[:60], 2950.0, "pods per ReplicaSet: app-v1 0/2, app-v2 0/0")
    out = buf.getvalue()
    assert "rolling-update" in out and "app-v1 0/2" in out and "failed 12" in out


def test_plot_png_and_svg(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from kubetm.demos.plot import plot_runs

    runs = [
        summarize(recreate(), strategy="recreate", update_start_ms=UPDATE_AT),
        summarize(rolling(), strategy="rolling-update", update_start_ms=UPDATE_AT),
    ]
    png = plot_runs(runs, tmp_path / "runs.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_runs(runs[:1], tmp_path / "runs.svg")
    assert b"<svg" in svg.read_bytes()[:2000]
    with pytest.raises(KubetmError, match="unknown format"):
        plot_runs(runs, tmp_path / "runs.gif")


def test_plot_without_matplotlib(monkeypatch, tmp_path) -> None:
    from kubetm.demos.plot import plot_runs

    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(KubetmError) as err:
        plot_runs([summarize(rolling(), strategy="x")], tmp_path / "x.png")
    assert "pip install 'kubetm[plot]'" in str(err.value)


def test_running_metrics_equal_metrics_at_every_step_also_with_late_samples():
    """RunningMetrics (the live page's numbers) == metrics() of each snapshot, whatever arrives late."""
    from kubetm.demos.timeline import RunningMetrics, metrics

    rnd = random.Random(11)
    for trial in range(30):
        running = RunningMetrics(settle_ms=rnd.choice([0.0, 200.0, 3000.0]))
        recorded: list[Sample] = []
        pending: list[tuple[float, Sample]] = []
        versions = ["v1", "v2", "v3"][: rnd.randint(1, 3)]
        for i in range(rnd.randint(0, 300)):
            t = i * 20.0
            phase = min(len(versions) - 1, int(t / 2000))
            ok = rnd.random() > (0.5 if 1500 < t < 2500 else 0.05)
            v = rnd.choice(versions[max(0, phase - 1) : phase + 1]) if ok else None
            delay = rnd.choice([1.0, 1.0, 1.0, 500.0, 1000.0, 5000.0])  # some are very late
            pending.append((t + delay, Sample(t, ok, v, delay)))
            recorded += [s for d, s in pending if d <= t]
            pending = [(d, s) for d, s in pending if d > t]
            if i % rnd.randint(1, 7) == 0:
                snap = sorted(recorded, key=lambda s: s.t_ms)
                origin = rnd.choice([0.0, 1000.0])
                assert running.update(snap, update_start_ms=origin) == metrics(
                    snap, update_start_ms=origin
                ), trial
        snap = sorted(recorded + [s for _, s in pending], key=lambda s: s.t_ms)
        assert running.update(snap, update_start_ms=2000.0) == metrics(snap, update_start_ms=2000.0)
