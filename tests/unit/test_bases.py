"""kubetm.bases: the course images' public Node.js 22 base, pinned by digest in one place."""

from __future__ import annotations

import re

import pytest
from host.fake_docker import install

from kubetm import bases
from kubetm.host.offline import versions


@pytest.fixture
def fake(monkeypatch):
    return install(monkeypatch)


def test_node_base_is_node_22_slim_pinned_by_digest_and_the_dockerfiles_agree():
    pinned = versions()["NODEJS_IMAGE"]
    assert re.fullmatch(r"node:22-[a-z]+-slim@sha256:[0-9a-f]{64}", pinned)
    assert bases.BASES["nodejs"][0] == pinned
    for name in ("hello", "app", "ports"):
        text = (bases.images_dir() / name / "Dockerfile").read_text()
        assert f"ARG BASE={pinned}\n" in text, name


def test_online_builds_from_the_local_copy_when_docker_has_one(fake):
    pinned = versions()["NODEJS_IMAGE"]
    fake.present.add(pinned.split("@")[0])  # node:22-...-slim, not pulled by digest
    got, off, _ = bases.base_images({"nodejs"}, on_line=None)
    assert (got, off) == ({"nodejs": pinned.split("@")[0]}, False)
    assert not any(c[1] == "pull" for c in fake.calls)


def test_online_pulls_by_digest_when_nothing_is_local(fake):
    pinned = versions()["NODEJS_IMAGE"]
    fake.pull_ok = True
    got, off, _ = bases.base_images({"nodejs"}, on_line=None)
    assert (got, off) == ({"nodejs": pinned}, False)
    assert ["docker", "pull", pinned] in fake.calls  # streamed: progress, retries, deadline
