"""kubetm.registry without Docker: the docker CLI is replaced by a fake (tests/unit/host/fake_docker.py)."""

from __future__ import annotations

import pytest
from host.fake_docker import install

from kubetm import registry
from kubetm.errors import KubetmError
from kubetm.host import net


@pytest.fixture
def fake(monkeypatch):
    return install(monkeypatch)


def _registry_container(networks=("bridge",), port="5001", managed="kubetm"):
    return {
        "Config": {"Labels": {"app.kubernetes.io/managed-by": managed}, "Image": registry.IMAGE},
        "Image": "sha256:" + "1" * 64,
        "State": {"Running": True},
        "HostConfig": {"PortBindings": {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": port}]}},
        "NetworkSettings": {"Networks": {n: {} for n in networks}},
    }


def test_registry_port_taken_by_something_else_is_one_clear_line(fake, monkeypatch):
    monkeypatch.setattr(net, "port_free", lambda port, host="127.0.0.1": False)
    with pytest.raises(KubetmError) as e:
        registry.ensure()
    assert e.value.message == (
        "port 127.0.0.1:5001 for the local registry is already in use by container someone-else"
    )


def test_registry_refuses_a_foreign_container_with_its_name(fake):
    fake.containers[registry.NAME] = _registry_container(managed="")
    with pytest.raises(KubetmError, match="not created by kubetm"):
        registry.ensure()


def test_connect_is_idempotent(fake):
    fake.containers[registry.NAME] = _registry_container(networks=("bridge", "kind"))
    fake.networks.add("kind")
    assert registry.connect("kind") is True
    assert not any(c[1:3] == ["network", "connect"] for c in fake.calls)
    del fake.containers[registry.NAME]["NetworkSettings"]["Networks"]["kind"]
    assert registry.connect("kind") is True
    assert ["docker", "network", "connect", "kind", registry.NAME] in fake.calls


def test_connect_without_the_network_is_false(fake):
    assert registry.connect("kind") is False


def test_status_reads_the_catalog(fake, monkeypatch):
    fake.containers[registry.NAME] = _registry_container()
    answers = {
        "/v2/_catalog?n=1000": {"repositories": ["kubetm/hello"]},
        "/v2/kubetm/hello/tags/list": {"name": "kubetm/hello", "tags": ["1.0"]},
    }
    monkeypatch.setattr(registry, "_get", lambda port, path: answers[path])
    st = registry.status()
    assert (
        st["running"]
        and st["catalog"] == ["kubetm/hello"]
        and st["tags"] == {"kubetm/hello": ["1.0"]}
    )
    assert registry._published_port(fake.containers[registry.NAME]) == 5001
