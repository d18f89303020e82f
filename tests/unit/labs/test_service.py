"""kubetm/labs/service.py: the host's route to a service address (no cluster)."""

from __future__ import annotations

from kubetm.labs import service


def test_host_route_picks_most_specific(tmp_path):
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "br-kind\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
    )
    assert service._host_route("10.96.0.10", str(table)) == "0.0.0.0/0 dev eth0"
    assert service._host_route("172.18.0.3", str(table)) == "172.18.0.0/16 dev br-kind"
    assert service._host_route("10.96.0.10", str(tmp_path / "missing")) is None
