"""kubetm/labs/probes.py: which pods an EndpointSlice serves (no cluster)."""

from __future__ import annotations

from kubetm.labs import probes


def test_endpoint_state_reads_ready_conditions_per_pod():
    slices = [
        {
            "endpoints": [
                {"targetRef": {"kind": "Pod", "name": "a"}, "conditions": {"ready": True}},
                {"targetRef": {"kind": "Pod", "name": "b"}, "conditions": {"ready": False}},
                {"targetRef": {"kind": "Pod", "name": "c"}, "conditions": {}},  # unset means ready
            ]
        },
        {"endpoints": None},
    ]
    assert probes.endpoint_state(slices) == {"a": True, "b": False, "c": True}
    assert probes._serving(probes.endpoint_state(slices)) == ["a", "c"]
