"""kubetm.nodes: the port scheme (where the host reaches each node's NodePorts), on node lists."""

from __future__ import annotations

import pytest

from kubetm import nodes
from kubetm.errors import KubetmError


def _node(name, control_plane=False, kind=True, annotations=None, addresses=()):
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    return {
        "metadata": {"name": name, "labels": labels, "annotations": annotations or {}},
        "spec": {"providerID": f"kind://docker/c/{name}"} if kind else {},
        "status": {"addresses": [{"type": t, "address": a} for t, a in addresses]},
    }


def _cluster(scheme, offset=0, prefix="c"):
    names = [f"{prefix}-control-plane", f"{prefix}-worker", f"{prefix}-worker2"]
    out = []
    for i, name in enumerate(names):
        ports = {p: nodes.published(scheme, i, p, offset) for p in nodes.PUBLISHED_PORTS}
        out.append(
            _node(
                name,
                control_plane=i == 0,
                annotations={nodes.HOST_PORTS: nodes.host_ports_annotation(ports)},
            )
        )
    return out


def test_loopback_scheme_keeps_ports_and_gives_each_node_its_address():
    assert [nodes.published("loopback", i, 30001) for i in range(3)] == [
        ("127.0.0.1", 30001),
        ("127.0.0.2", 30001),
        ("127.0.0.3", 30001),
    ]


def test_localhost_scheme_shifts_ports_by_node_and_the_control_plane_keeps_today_s():
    assert [nodes.published("localhost", i, 30001) for i in range(3)] == [
        ("127.0.0.1", 30001),
        ("127.0.0.1", 30101),
        ("127.0.0.1", 30201),
    ]
    assert nodes.published("localhost", 2, 18080) == ("127.0.0.1", 18280)
    assert nodes.published("localhost", 1, 30000, offset=1000) == ("127.0.0.1", 31100)


def test_no_two_published_ports_collide_in_either_scheme_or_between_offsets_0_and_1000():
    seen = set()
    for scheme, offset in (("localhost", 0), ("localhost", 1000)):
        for i in range(3):
            for p in nodes.PUBLISHED_PORTS:
                ep = nodes.published(scheme, i, p, offset)
                assert ep not in seen
                seen.add(ep)
    loopback = {nodes.published("loopback", i, p) for i in range(3) for p in nodes.PUBLISHED_PORTS}
    assert not loopback & {e for e in seen if e[1] >= 31000 or e[1] >= 19080 and e[1] < 30000}


@pytest.mark.parametrize("scheme", ["loopback", "localhost"])
def test_host_endpoint_reads_the_recorded_scheme(scheme):
    listed = _cluster(scheme, offset=1000)
    got = {
        n["metadata"]["name"]: nodes.host_endpoint_from(listed, n["metadata"]["name"], 30004)
        for n in listed
    }
    if scheme == "loopback":
        assert got == {
            "c-control-plane": "127.0.0.1:31004",
            "c-worker": "127.0.0.2:31004",
            "c-worker2": "127.0.0.3:31004",
        }
    else:
        assert got == {
            "c-control-plane": "127.0.0.1:31004",
            "c-worker": "127.0.0.1:31104",
            "c-worker2": "127.0.0.1:31204",
        }
    assert nodes.host_address_from(listed, "c-worker") == (
        "127.0.0.2" if scheme == "loopback" else "127.0.0.1"
    )


def test_an_unpublished_port_is_an_error_or_none():
    listed = _cluster("localhost")
    with pytest.raises(KubetmError, match="does not publish port 8080"):
        nodes.host_endpoint_from(listed, "c-worker", 8080)
    assert nodes.host_endpoint_from(listed, "c-worker", 8080, required=False) is None


def test_a_kind_node_without_the_annotation_is_read_as_loopback():
    listed = [_node("k-control-plane", control_plane=True), _node("k-worker"), _node("k-worker2")]
    assert nodes.host_endpoint_from(listed, "k-worker2", 30000) == "127.0.0.3:30000"


def test_other_clusters_use_the_node_address_and_the_port_itself():
    listed = [
        _node(
            "n1", kind=False, addresses=[("InternalIP", "10.0.0.5"), ("ExternalIP", "203.0.113.9")]
        )
    ]
    assert nodes.host_endpoint_from(listed, "n1", 30001) == "203.0.113.9:30001"
    with pytest.raises(KubetmError, match="not found"):
        nodes.host_endpoint_from(listed, "n2", 30001)


def test_host_endpoint_asks_the_cluster():
    class Kube:
        def list(self, kind):
            assert kind == "Node"
            return _cluster("localhost")

    assert nodes.host_endpoint(Kube(), "c-worker2", 30000) == "127.0.0.1:30200"


def test_scheme_is_forced_by_the_environment_or_follows_the_host():
    assert nodes.port_scheme(lambda a: True, env={}) == ("loopback", "node i on 127.0.0.(i+1)")
    scheme, why = nodes.port_scheme(lambda a: a != "127.0.0.3", env={})
    assert scheme == "localhost" and why.startswith("127.0.0.3 cannot be bound")
    assert (
        nodes.port_scheme(lambda a: True, env={"KUBETM_PORT_SCHEME": "localhost"})[0] == "localhost"
    )
    with pytest.raises(KubetmError, match="is not a port scheme") as e:
        nodes.port_scheme(lambda a: True, env={"KUBETM_PORT_SCHEME": "127.0.0.9"})
    assert e.value.exit_code == 2


def test_port_offset_is_validated():
    assert nodes.port_offset({}) == 0
    assert nodes.port_offset({"KUBETM_HOST_PORT_OFFSET": "1000"}) == 1000
    for bad in ("-5", "x", "40000"):
        with pytest.raises(KubetmError, match="KUBETM_HOST_PORT_OFFSET"):
            nodes.port_offset({"KUBETM_HOST_PORT_OFFSET": bad})


def test_annotate_host_ports_patches_each_node():
    calls = []

    class Kube:
        core = type("Core", (), {"patch_node": "patch_node"})()

        def call(self, fn, name, body, what):
            calls.append((name, body))

    nodes.annotate_host_ports(Kube(), {"c-worker": {30000: ("127.0.0.1", 30100)}})
    assert calls == [
        (
            "c-worker",
            {"metadata": {"annotations": {nodes.HOST_PORTS: '{"30000":"127.0.0.1:30100"}'}}},
        )
    ]
