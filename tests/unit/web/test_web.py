"""kubetm/web without a browser: event bus replay, the 127.0.0.1 server, the demo observer's
points and numbers (== timeline.summarize), bad input of `demo view` and `--port`."""

from __future__ import annotations

import json
import random
import socket
import threading
import urllib.error
import urllib.request

import pytest

from kubetm import cli
from kubetm.demos.prober import Sample
from kubetm.demos.timeline import metrics, summarize
from kubetm.errors import KubetmError
from kubetm.web import LivePage, load_run, replay_events
from kubetm.web.bus import EventBus
from kubetm.web.observe import DemoObserver, LabObserver, compact_pod
from kubetm.web.server import WebServer, check_port


def run_main(args, capsys):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def saved_run(strategy: str = "recreate") -> dict:
    samples = [
        Sample(
            t,
            t < 3000 or t >= 5000,
            "v1" if t < 3000 else ("v2" if t >= 5000 else None),
            2.0 if t < 3000 or t >= 5000 else 1000.0,
            None,
        )
        for t in range(0, 10000, 50)
    ]
    s = summarize(samples, strategy=strategy, update_start_ms=2000.0, rollout_seconds=6.5)
    timeline = s.pop("timeline")
    return {
        **s,
        "from": "v1",
        "to": "v2",
        "replicas": 2,
        "rate": 20.0,
        "lesson": "a lesson",
        "namespace": f"kubetm-demo-{strategy}",
        "timeline": timeline,
    }


# ------------------------------------------------------------------------------------ bus


def test_bus_replays_everything_to_a_late_reader_and_resumes_after_an_id():
    bus = EventBus()
    for i in range(5):
        bus.publish({"type": "step", "i": i})
    bus.close()
    stop = threading.Event()
    got = [i for batch in bus.follow(0, stop) for i, _ in batch]
    assert got == [0, 1, 2, 3, 4] and bus.wait_delivered(0)
    resumed = [json.loads(t)["i"] for batch in bus.follow(3, stop) for _, t in batch]
    assert resumed == [3, 4]  # Last-Event-ID 2 -> from 3 on, nothing twice


def test_bus_live_reader_gets_events_as_they_come_and_ends_on_close():
    bus = EventBus()
    got: list[int] = []
    stop = threading.Event()

    def read():
        for batch in bus.follow(0, stop, keepalive=0.05):
            got.extend(i for i, _ in batch)

    t = threading.Thread(target=read)
    t.start()
    bus.publish({"type": "a"})
    bus.publish({"type": "b"})
    assert not bus.wait_delivered(0.1)  # not closed yet: not delivered
    bus.close()
    t.join(5)
    assert not t.is_alive() and got == [0, 1] and bus.wait_delivered(0)
    assert bus.publish({"type": "late"}) == 1 and len(bus) == 2  # ignored after close


# ------------------------------------------------------------------------------- observer


def test_demo_observer_publishes_each_sample_once_and_the_numbers_of_summarize():
    """Samples are recorded when their request ends (a timed-out one late), the snapshot is
    sorted by send time: every point is published exactly once, the numbers equal summarize's."""
    rnd = random.Random(7)
    events: list[dict] = []
    obs = DemoObserver(events.append)
    obs.event("run", {"strategy": "recreate", "lesson": "x"})
    recorded: list[Sample] = []
    steady, update = 500.0, 2000.0
    pending: list[tuple[float, Sample]] = []
    for i in range(400):
        t = i * 25.0
        ok = not (3000 <= t < 4500) and rnd.random() > 0.02
        s = Sample(t, ok, ("v1" if t < 3500 else "v2") if ok else None, 2.0 if ok else 1000.0)
        pending.append((t + (1000.0 if not ok else 2.0), s))  # failures are recorded 1 s late
        now = t
        recorded += [s for done, s in pending if done <= now]
        pending = [(d, s) for d, s in pending if d > now]
        if i == 30:
            obs.event("probing", {"steady_ms": steady})
        if i == 80:
            obs.event("update", {"update_ms": update})
        if i % 10 == 0:
            obs.update(sorted(recorded, key=lambda x: x.t_ms), now)
    recorded += [s for _, s in pending]
    final = sorted(recorded, key=lambda x: x.t_ms)
    obs.update(final, 10_000.0)
    points = [p for e in events if e["type"] == "points" for p in e["points"]]
    counted = [s for s in final if s.t_ms >= steady]
    assert sorted(p["t_ms"] for p in points) == [round(s.t_ms, 1) for s in counted]
    numbers = [e for e in events if e["type"] == "numbers"][-1]
    want = metrics(counted, update_start_ms=update)
    assert {k: numbers[k] for k in want} == want
    summary = summarize(counted, strategy="recreate", update_start_ms=update)
    assert all(numbers[k] == summary[k] for k in want)  # the page and -o json: one definition
    assert numbers["failures"] > 0 and numbers["downtime_ms"] > 1000


def test_compact_pod_and_lab_events():
    pod = {
        "metadata": {
            "name": "app-5f4b8-x2k9q",
            "ownerReferences": [{"name": "app-5f4b8"}],
            "labels": {"app": "app"},
        },
        "spec": {
            "nodeName": "kubetm-worker",
            "containers": [{"image": "localhost:5001/kubetm/app:v2"}],
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert compact_pod(pod) == {
        "name": "app-5f4b8-x2k9q",
        "node": "kubetm-worker",
        "phase": "Running",
        "ready": True,
        "version": "v2",
        "owner": "app-5f4b8",
        "color": None,
        "deleting": False,
    }
    from kubetm.labs.base import CheckResult

    events: list[dict] = []
    LabObserver(events.append)("checked", "pod", CheckResult("shared localhost", True, "ok", 1.234))
    assert events == [
        {
            "type": "lab",
            "event": "checked",
            "lab": "pod",
            "data": {"name": "shared localhost", "ok": True, "detail": "ok", "seconds": 1.23},
        }
    ]


# --------------------------------------------------------------------------------- server


def _get(url: str, headers: dict | None = None) -> tuple[int, str, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_server_serves_only_its_files_and_the_stream_on_loopback():
    before = threading.active_count()
    bus = EventBus()
    with WebServer(bus, 0) as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        assert srv._httpd.server_address[0] == "127.0.0.1"
        status, body, headers = _get(srv.url)
        assert (
            status == 200
            and "app.js" in body
            and "default-src 'self'" in headers["Content-Security-Policy"]
        )
        assert _get(srv.url + "app.js")[0] == 200 and _get(srv.url + "style.css")[0] == 200
        for path in (
            "../pyproject.toml",
            "%2e%2e/kubetm/cli.py",
            "static/app.js",
            "bus.py",
            "etc/passwd",
        ):
            assert _get(srv.url + path)[0] == 404, path
        assert _get(srv.url, {"Host": "attacker.example:80"})[0] == 403  # DNS rebinding
        bus.publish({"type": "step", "text": "one"})
        bus.publish({"type": "step", "text": "two"})
        bus.close()
        status, body, _ = _get(srv.url + "events", {"Last-Event-ID": "0"})
        assert status == 200 and "id: 1\n" in body and "id: 0\n" not in body and '"two"' in body
    assert threading.active_count() <= before  # every handler and the server thread joined


def test_busy_port_is_one_line(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(KubetmError, match=f"127.0.0.1:{port}: the port is in use"):
            WebServer(EventBus(), port).start()
        code, out, err = run_main(
            ["demo", "view", "--no-browser", "--port", str(port), _write(saved_run())], capsys
        )
    assert (
        code == 1
        and out == ""
        and err.count("\n") == 1
        and err.startswith("error: ")
        and "in use" in err
    )


@pytest.mark.parametrize("bad", [-1, 65536, True])
def test_port_range(bad):
    with pytest.raises(KubetmError) as e:
        check_port(bad)
    assert e.value.exit_code == 2


_TMP: list = []


def _write(data, name: str = "run.json") -> str:
    import tempfile
    from pathlib import Path

    d = tempfile.mkdtemp()
    _TMP.append(d)
    p = Path(d) / name
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(p)


@pytest.mark.parametrize(
    "content, words",
    [
        ("not json at all", "not JSON"),
        ('{"runs": []}', "not a kubetm demo run"),
        ("[1, 2]", "not a kubetm demo run"),
        (
            '{"strategy": "recreate", "requests": "many", "failures": 0, "downtime_ms": 0, "overlap_ms": 0, '
            '"timeline": []}',
            "not a kubetm demo run",
        ),
        ('{"kind": "Pod", "apiVersion": "v1"}', "not a kubetm demo run"),
    ],
)
def test_view_of_something_that_is_not_a_run_is_one_line(capsys, content, words):
    path = _write(content)
    with pytest.raises(KubetmError, match=words):
        load_run(path)
    code, out, err = run_main(["demo", "view", "--no-browser", path], capsys)
    assert (
        code == 2
        and out == ""
        and err.count("\n") == 1
        and err.startswith("error: ")
        and words in err
    )


def test_view_of_a_missing_file_is_one_line(capsys, tmp_path):
    code, out, err = run_main(["demo", "view", "--no-browser", str(tmp_path / "nope.json")], capsys)
    assert code == 2 and err.count("\n") == 1 and "no such file" in err


def test_replay_events_of_a_compare():
    runs = {"runs": [saved_run("recreate"), saved_run("rolling-update")]}
    events = replay_events(load_run(_write(runs)))
    assert [(e["type"], e["run"]) for e in events] == [
        ("run", 0),
        ("result", 0),
        ("run", 1),
        ("result", 1),
    ]
    assert events[1]["summary"]["timeline"] == runs["runs"][0]["timeline"]


def test_live_page_finish_without_a_reader_does_not_wait():
    import time

    with LivePage(port=0, browser=False) as page:
        page.publish({"type": "step", "text": "x"})
        t = time.monotonic()
        assert page.finish({"ok": True}, wait=30) is False  # nobody connected: no lingering
        assert time.monotonic() - t < 10  # not the 30 s it may wait for a reader
    assert not page.server.running


def test_ctrl_c_stops_the_server_and_frees_the_port(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "run.json"
    path.write_text(json.dumps(saved_run()), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubetm", "demo", "view", "--no-browser", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # `live view: URL`: it now waits for a page
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # nothing is left listening


def test_lab_run_web_serves_the_run_and_prints_the_url(monkeypatch, capsys):
    """`lab run pod --web`: the runner's events reach the page's bus; the CLI's output is unchanged."""
    from kubetm.labs import runner
    from kubetm.labs.base import CheckResult, LabResult
    from kubetm.web import LivePage

    seen: list[dict] = []
    real_finish = LivePage.finish

    def spy_finish(self, *a, **kw):
        seen.extend(self.bus.events())
        return real_finish(self, *a, **kw)

    def fake_run(kube, selection, keep=False, registry_name=None, on_event=None, **_):
        on_event("check", "pod", "containers-share-localhost")
        check = CheckResult("containers-share-localhost", True, "ok", 0.5)
        on_event("checked", "pod", check)
        return [LabResult("pod", [check])]

    monkeypatch.setattr(runner, "run", fake_run)
    monkeypatch.setattr(LivePage, "finish", spy_finish)
    code, out, err = run_main(["lab", "run", "pod", "--web", "--no-browser"], capsys)
    assert code == 0 and "containers-share-localhost" in out
    assert "live view: http://127.0.0.1:" in err
    types = [(e["type"], e.get("event")) for e in seen]
    assert types[:2] == [("hello", None), ("labs", None)]
    assert ("lab", "check") in types and ("lab", "checked") in types
    assert seen[1]["labs"][0]["title"].startswith("파드")


def test_a_broken_event_never_breaks_the_demo():
    events: list[dict] = []
    obs = DemoObserver(events.append)
    obs.event("probing", {"steady_ms": 0.0})
    obs.event("cluster", {"pods": [{"no": "metadata"}]})
    obs.update([object()], 1.0)  # not samples
    obs.event("probing", {})  # no steady_ms
    assert obs.errors == 3
