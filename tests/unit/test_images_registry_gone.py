"""A registry that lost its images (volume removed): the course images a lab or demo uses are
pushed again before the apply, not found as an image pull error in a pod minutes later."""

from __future__ import annotations

import pytest

from kubetm import images
from kubetm import registry as local_registry
from kubetm.errors import KubetmError

OBJS = [
    {"kind": "Pod", "spec": {"containers": [{"image": "localhost:5001/kubetm/app:v1"}]}},
    {
        "kind": "Deployment",
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"image": "localhost:5001/kubetm/init:1.0"}],
                    "containers": [{"image": "localhost:5001/kubetm/app:v1"}, {"image": "busybox"}],
                }
            }
        },
    },
]


@pytest.fixture
def registry_state(monkeypatch):
    state = {"tags": {("kubetm/app", "v1")}, "built": True, "pushed": []}
    monkeypatch.setattr(local_registry, "has_tag", lambda repo, tag: (repo, tag) in state["tags"])
    monkeypatch.setattr(images.docker, "image_present", lambda ref: state["built"])

    def push(names, registry, tag, progress):
        state["pushed"].append((names[0], tag))
        return [{"image": images.ref(names[0], tag, registry)}]

    monkeypatch.setattr(images, "push", push)
    return state


def test_images_in_finds_every_image_once():
    found = images.images_in(OBJS)
    assert sorted(found) == [
        "busybox",
        "localhost:5001/kubetm/app:v1",
        "localhost:5001/kubetm/init:1.0",
    ]
    assert len(found) == 3


def test_missing_course_images_are_pushed_again(registry_state):
    pushed = images.ensure_pushed(OBJS)
    assert registry_state["pushed"] == [("init", "1.0")]  # app:v1 is there, busybox not ours
    assert pushed == [{"image": "localhost:5001/kubetm/init:1.0"}]


def test_missing_and_not_built_is_one_line(registry_state):
    registry_state["built"] = False
    with pytest.raises(KubetmError, match=r"localhost:5001/kubetm/init:1.0 is not in the registry"):
        images.ensure_pushed(OBJS)


def test_another_registry_is_left_alone(registry_state):
    assert images.ensure_pushed(OBJS, registry="reg.example:5000") == []
    assert registry_state["pushed"] == []


def test_only_kind_clusters_are_checked(registry_state):
    class Real:
        configuration = object()

        def __init__(self, context):
            self.context = context

    assert images.push_missing(object(), OBJS, None) == []  # an in-memory kube
    assert images.push_missing(Real("prod"), OBJS, None) == []
    assert images.push_missing(Real("kind-kubetm"), OBJS, None) == [
        "localhost:5001/kubetm/init:1.0 was missing from the registry: pushed again"
    ]
