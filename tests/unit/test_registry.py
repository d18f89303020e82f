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


def test_status_keeps_the_tags_while_a_new_repository_is_being_pushed(fake, monkeypatch):
    """A repository whose layers are pushed but not yet its manifest is in the catalog while its
    tags list answers 404 NAME_UNKNOWN (measured on the local registry): the others keep their
    tags and the registry is not reported as not answering."""
    fake.containers[registry.NAME] = _registry_container()

    def get(port, path):
        if path == "/v2/_catalog?n=1000":
            return {"repositories": ["charts/mychart", "kubetm/hello"]}
        if path == "/v2/charts/mychart/tags/list":
            raise registry._HTTPStatus(404, path)
        return {"name": "kubetm/hello", "tags": ["1.0", "latest"]}

    monkeypatch.setattr(registry, "_get", get)
    st = registry.status()
    assert "error" not in st
    assert st["tags"] == {"charts/mychart": [], "kubetm/hello": ["1.0", "latest"]}


def test_status_says_the_registry_does_not_answer_on_other_errors(fake, monkeypatch):
    fake.containers[registry.NAME] = _registry_container()

    def get(port, path):
        if path == "/v2/_catalog?n=1000":
            return {"repositories": ["kubetm/hello"]}
        raise registry._HTTPStatus(500, path)

    monkeypatch.setattr(registry, "_get", get)
    st = registry.status()
    assert st["error"].startswith("registry does not answer on 127.0.0.1:5001: HTTP 500")
