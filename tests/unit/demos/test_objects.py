"""Pure transforms of the demo objects (image tags, copies that keep every other field)."""

from __future__ import annotations

import copy

import pytest

from kubetm.demos import objects
from kubetm.demos.options import DemoOptions
from kubetm.demos.strategies import build_objects


def _deployments(objs):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}


def test_with_image_keeps_the_rest():
    dep = _deployments(build_objects("rolling-update", DemoOptions()))["app"]
    new = objects.with_image(dep, "v2", "rolling-update")
    assert (
        new["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost:5001/kubetm/app:v2"
    )
    assert (
        dep["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost:5001/kubetm/app:v1"
    )
    a, b = copy.deepcopy(new), copy.deepcopy(dep)
    for o in (
        a,
        b,
    ):  # only the image and the change-cause differ: server-side apply keeps every field
        o["spec"]["template"]["spec"]["containers"][0].pop("image")
        o["metadata"]["annotations"].pop("kubernetes.io/change-cause")
    assert a == b


@pytest.mark.parametrize(
    "image, tag, expect",
    [
        ("localhost:5001/kubetm/app:v1", "v2", "localhost:5001/kubetm/app:v2"),
        ("localhost:5001/kubetm/app", "v2", "localhost:5001/kubetm/app:v2"),
        ("app:v1", "v3", "app:v3"),
        ("reg:5000/kubetm/app:v1@sha256:abc", "v2", "reg:5000/kubetm/app:v2"),
    ],
)
def test_set_image_tag(image, tag, expect):
    assert objects.set_image_tag(image, tag) == expect
    assert objects.image_tag(expect) == tag
    assert objects.image_tag("localhost:5001/kubetm/app") is None
