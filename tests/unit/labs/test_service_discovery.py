"""kubetm/labs/service_discovery.py: its checks on a dict-backed kube (no cluster)."""

from __future__ import annotations

import pytest

from kubetm.labs import service_discovery as sd

from .conftest import DictKube, _ctx

NS = "kubetm-lab-service-discovery"


def pod(name, ip):
    return {
        "metadata": {"name": name},
        "status": {
            "podIP": ip,
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def svc(name, cluster_ip, **spec):
    return {"metadata": {"name": name}, "spec": {"clusterIP": cluster_ip, **spec}}


class DnsKube(DictKube):
    """exec answers dig with ``dns`` ({name: "tokens"}) and curl with ``http`` ({url: (code, body)})."""

    def __init__(self, objects, dns=None, http=None):
        super().__init__(objects)
        self.dns, self.http, self.cmds = dns or {}, http or {}, []

    def exec(self, pod_name, cmd, container=None, namespace=None, timeout=60, stdin=None):
        self.cmds.append(cmd)
        if cmd[0] == "sh":
            return 0, "".join(f"{n}|{self.dns.get(n, '')}\n" for n in cmd[4:]), ""
        code, body = self.http.get(cmd[-1], (0, ""))
        return (0 if code else 7), f"{body}\n{code:03d}", ""


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(sd, "ready_pod", lambda ctx, name, **_: ctx.kube.get("Pod", name))
    monkeypatch.setattr(sd, "OBSERVE_SECONDS", 0.0)


def base_objects():
    return {
        ("Pod", "request-pod"): pod("request-pod", "10.244.1.2"),
        ("Pod", "pod1"): pod("pod1", "10.244.1.3"),
        ("Pod", "pod4"): pod("pod4", "10.244.1.4"),
        ("Pod", "pod5"): pod("pod5", "10.244.2.5"),
        ("Service", "clusterip1"): svc("clusterip1", "10.96.0.50"),
        ("Service", "headless1"): svc("headless1", "None"),
    }


def test_parse_dig_splits_addresses_and_cname_chain():
    out = "a|10.96.0.50 \nb|c.ns.svc.cluster.local. 10.96.0.9 \nc|;; connection timed out; \n"
    seen = sd.parse_dig(out)
    assert seen["a"] == {"ips": ["10.96.0.50"], "cnames": []}
    assert seen["b"] == {"ips": ["10.96.0.9"], "cnames": ["c.ns.svc.cluster.local"]}
    assert seen["c"] == {"ips": [], "cnames": []}


def test_clusterip_dns_passes_on_short_name_and_fqdn():
    kube = DnsKube(
        base_objects(),
        dns={"clusterip1": "10.96.0.50", f"clusterip1.{NS}.svc.cluster.local.": "10.96.0.50"},
        http={"http://clusterip1/hostname": (200, "pod1")},
    )
    ok, detail = sd.clusterip_dns(_ctx(kube, "service-discovery"))
    assert ok, detail
    assert "clusterip1 -> 10.96.0.50" in detail and "-> 200 'pod1'" in detail


def test_clusterip_dns_fails_when_the_fqdn_does_not_resolve():
    kube = DnsKube(
        base_objects(),
        dns={"clusterip1": "10.96.0.50"},
        http={"http://clusterip1/hostname": (200, "pod1")},
    )
    ok, detail = sd.clusterip_dns(_ctx(kube, "service-discovery"))
    assert not ok
    assert f"clusterip1.{NS}.svc.cluster.local -> no address" in detail


def _headless_dns():
    return {
        "headless1": "10.244.2.5 10.244.1.4",
        "pod-a.headless1": "10.244.1.4",
        "pod-b.headless1": "10.244.2.5",
    }


def test_headless_dns_resolves_pods_and_hostname():
    kube = DnsKube(
        base_objects(),
        dns=_headless_dns(),
        http={"http://pod-a.headless1:8080/hostname": (200, "pod-a")},
    )
    ok, detail = sd.headless_dns(_ctx(kube, "service-discovery"))
    assert ok, detail
    assert "headless1 -> 10.244.1.4, 10.244.2.5" in detail


def test_headless_with_a_cluster_ip_fails_naming_it():
    objs = base_objects()
    objs[("Service", "headless1")] = svc("headless1", "10.96.7.7")
    kube = DnsKube(objs, dns={"headless1": "10.96.7.7"})
    ok, detail = sd.headless_dns(_ctx(kube, "service-discovery"))
    assert not ok
    assert detail.startswith("headless1 has clusterIP 10.96.7.7, a headless Service has None")


def test_endpoints_follow_selector_fails_when_the_selectorless_service_has_endpoints():
    objs = base_objects()
    objs[("Pod", "pod7")] = pod("pod7", "10.244.2.7")
    ep = {"subsets": [{"addresses": [{"ip": "10.244.2.7"}], "ports": [{"port": 8080}]}]}
    objs[("Endpoints", "endpoint1")] = ep
    kube = DnsKube(objs)
    ok, detail = sd.endpoints_follow_selector(_ctx(kube, "service-discovery"))
    assert ok, detail
    assert "Endpoints 10.244.2.7:8080 (pod7 is 10.244.2.7)" in detail
    objs[("Endpoints", "endpoint2")] = {"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}
    ok, detail = sd.endpoints_follow_selector(_ctx(kube, "service-discovery"))
    assert not ok and "Endpoints ['10.0.0.1']" in detail


def test_apply_endpoints_writes_pod_and_node_addresses():
    objs = base_objects()
    objs[("Pod", "pod9")] = pod("pod9", "10.244.1.9")
    objs[("Node", "cp")] = {
        "metadata": {"name": "cp", "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.2"}]},
    }
    kube = DnsKube(objs)
    got = sd.apply_endpoints(_ctx(kube, "service-discovery"))
    assert got == {"endpoint2": "10.244.1.9", "endpoint3": "172.18.0.2"}
    written = {o["metadata"]["name"]: sd.endpoint_addresses(o) for o in kube.applied}
    assert written == {"endpoint2": ["10.244.1.9:8080"], "endpoint3": ["172.18.0.2:6443"]}


def test_externalname_answers_with_a_cname():
    objs = base_objects()
    target = f"clusterip1.{NS}.svc.cluster.local"
    objs[("Service", "externalname1")] = {
        "metadata": {"name": "externalname1"},
        "spec": {"type": "ExternalName", "externalName": target},
    }
    name = f"externalname1.{NS}.svc.cluster.local."
    kube = DnsKube(
        objs,
        dns={name: f"{target}. 10.96.0.50"},
        http={"http://externalname1/hostname": (200, "pod1")},
    )
    ok, detail = sd.externalname_cname(_ctx(kube, "service-discovery"))
    assert ok, detail
    assert f"CNAME {target} -> 10.96.0.50" in detail
    kube.dns = {name: "10.96.0.50"}  # an A record, no CNAME: not what ExternalName does
    ok, detail = sd.externalname_cname(_ctx(kube, "service-discovery"))
    assert not ok and "CNAME none" in detail


def test_observe_stops_at_the_first_good_answer():
    from kubetm.labs.observe import observe_until

    answers = iter([1, 2, 3])
    assert observe_until(lambda: next(answers), lambda x: x == 2, seconds=10, pause=0) == 2
    answers = iter([1, 2, 3])
    assert observe_until(lambda: next(answers), lambda x: x == 9, seconds=0) == 1  # bounded
