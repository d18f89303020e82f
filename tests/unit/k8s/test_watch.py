"""kubetm/k8s/watch.py: read first, watch from the resourceVersion, re-list on 410, time out with
the last state, let predicates abort."""

from __future__ import annotations

import pytest

from kubetm.errors import KubetmError
from kubetm.k8s.conditions import pod_ready

from .conftest import _ev


def test_watch_until_reads_first(fake):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3, ready=True)["raw_object"]
    assert k.watch_until("Pod", "p", pod_ready, timeout=5)["metadata"]["name"] == "p"
    assert dyn.watch_calls == []  # satisfied by the initial read, no watch opened


def test_watch_until_relists_after_410_gone(fake, api_error):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3)["raw_object"]
    dyn.watch_script = [
        [_ev("MODIFIED", "p", 11)],
        api_error(410, "too old resource version"),
        [_ev("MODIFIED", "p", 13, ready=True)],
    ]
    got = k.watch_until("Pod", "p", pod_ready, timeout=5)
    assert got["metadata"]["resourceVersion"] == "13"
    assert dyn.watch_calls[0] == "10" and len(dyn.watch_calls) == 3


def test_watch_until_times_out_with_state_hint(fake):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3)["raw_object"]
    with pytest.raises(KubetmError) as e:
        k.watch_until("Pod", "p", pod_ready, timeout=0.2)
    assert (
        e.value.exit_code == 3 and "timed out" in e.value.message and "Ready=False" in e.value.hint
    )


def test_watch_predicate_can_abort(fake):
    k, dyn = fake
    pod = _ev("ADDED", "p", 3)["raw_object"]
    pod["status"]["containerStatuses"] = [
        {"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
    ]
    dyn.objs["p"] = pod
    with pytest.raises(KubetmError) as e:
        k.watch_until("Pod", "p", pod_ready, timeout=5)
    assert "ImagePullBackOff" in e.value.message and "kubetm image push" in e.value.hint


def test_progress_gets_one_status_line_and_the_client_prints_nothing(fake, capsys):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3, ready=True)["raw_object"]
    lines: list[str] = []
    k.watch_until("Pod", "p", pod_ready, timeout=5, progress=lines.append)
    k.watch_until("Pod", "p", pod_ready, timeout=5, what="pod p to be Ready", progress=lines.append)
    k.watch_until("Pod", "p", pod_ready, timeout=5)
    assert lines == ["waiting for pod default/p", "waiting for pod p to be Ready"]
    assert capsys.readouterr() == ("", "")


def test_a_timeout_is_typed_and_names_what_it_waited_for(fake):
    from kubetm.errors import Timeout

    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3)["raw_object"]
    with pytest.raises(Timeout) as e:
        k.watch_until("Pod", "p", pod_ready, timeout=0.2, what="pod p to be Ready")
    assert (
        e.value.message == "timed out after 0.2s waiting for pod p to be Ready"
        and e.value.exit_code == 3
    )
