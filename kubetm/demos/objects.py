"""The demo objects, as data: image tags and the copies of a Deployment or Service a step applies.

Pure functions (no cluster); a strategy (kubetm/demos/strategies.py) combines them.

    with_image(dep, "v2", "rolling-update")      # app container at :v2, change-cause set
    with_selector_color(svc, "green")
"""

from __future__ import annotations

import copy

from kubetm.errors import KubetmError

__all__ = [
    "APP_IMAGE",
    "CHANGE_CAUSE",
    "image_tag",
    "set_image_tag",
    "with_image",
    "with_replicas",
    "with_selector_color",
    "find",
]

APP_IMAGE = "kubetm/app"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def image_tag(image: str) -> str | None:
    """``localhost:5001/kubetm/app:v1`` -> ``v1`` (None without a tag)."""
    name = image.rsplit("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def set_image_tag(image: str, tag: str) -> str:
    """Replace (or add) the tag of an image reference; digests are dropped."""
    name = image.rsplit("@", 1)[0]
    head, _, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}:{tag}" if head else f"{last}:{tag}"


def _containers(dep: dict) -> list[dict]:
    return dep["spec"]["template"]["spec"]["containers"]


def with_image(dep: dict, tag: str, strategy: str) -> dict:
    """A copy of the Deployment with the app container's image at ``tag`` and a matching change-cause."""
    out = copy.deepcopy(dep)
    for c in _containers(out):
        if APP_IMAGE in c.get("image", ""):
            c["image"] = set_image_tag(c["image"], tag)
    meta = out.setdefault("metadata", {})
    meta.setdefault("annotations", {})[CHANGE_CAUSE] = (
        f"kubetm demo {strategy}: image {APP_IMAGE}:{tag}"
    )
    return out


def with_replicas(dep: dict, replicas: int) -> dict:
    out = copy.deepcopy(dep)
    out["spec"]["replicas"] = replicas
    return out


def with_selector_color(svc: dict, color: str) -> dict:
    out = copy.deepcopy(svc)
    out["spec"]["selector"]["color"] = color
    return out


def find(objs: list[dict], kind: str, name: str | None = None) -> dict:
    for o in objs:
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name):
            return o
    raise KubetmError(f"demo manifest has no {kind}{' ' + name if name else ''}")
