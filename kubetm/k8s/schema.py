"""The server's OpenAPI v3 schema, read only to name the closest valid field of a misspelt one.

Example:
    closest_field(kube, pod_resource, "spec.affinity.nodeAffinity.requiredDuringSchedulingIngnoredDuringExecution")
    # -> "requiredDuringSchedulingIgnoredDuringExecution"
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from kubetm.errors import KubetmError

if TYPE_CHECKING:
    from kubetm.k8s.client import Kube

__all__ = ["closest_field", "field_names_at", "split_path"]


def split_path(path: str) -> list[str]:
    """``spec.containers[name="c"].imagee`` -> ``["spec", "containers", "[]", "imagee"]``."""
    flat = re.sub(r"\[[^\]]*\]", ".[]", path.lstrip("."))
    return [p for p in flat.split(".") if p]


def _resolve(schemas: dict, node: Any) -> dict:
    seen = 0
    while isinstance(node, dict) and seen < 20:
        seen += 1
        ref = node.get("$ref")
        if ref is None and len(node.get("allOf") or []) == 1:
            ref = node["allOf"][0].get("$ref")
        if not ref:
            return node
        node = schemas.get(ref.rsplit("/", 1)[-1])
    return node if isinstance(node, dict) else {}


def field_names_at(
    document: dict, group: str, version: str, kind: str, parents: list[str]
) -> list[str]:
    """The property names of the object at ``parents`` inside ``kind``'s schema ([] if unknown)."""
    schemas = ((document or {}).get("components") or {}).get("schemas") or {}
    node = None
    for schema in schemas.values():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) == (
                group,
                version,
                kind,
            ):
                node = schema
                break
        if node is not None:
            break
    node = _resolve(schemas, node)
    for part in parents:
        if part == "[]":
            node = _resolve(schemas, node.get("items"))
        else:
            node = _resolve(schemas, (node.get("properties") or {}).get(part))
        if not node:
            return []
    return sorted((node.get("properties") or {}).keys())


def closest_field(kube: Kube, resource: Any, path: str) -> str | None:
    """The valid field name closest to the last part of ``path`` (difflib), or None. Never raises:
    a missing schema only means no suggestion."""
    parts = split_path(path)
    if not parts or parts[-1] == "[]":
        return None
    gv = resource.group_version
    group, version = gv.rsplit("/", 1) if "/" in gv else ("", gv)
    key = f"apis/{gv}" if group else f"api/{version}"
    try:
        index = kube.get_json("/openapi/v3", what="OpenAPI index") or {}
        url = ((index.get("paths") or {}).get(key) or {}).get(
            "serverRelativeURL"
        ) or f"/openapi/v3/{key}"
        document = kube.get_json(url, what=f"OpenAPI schema of {gv}")
    except (KubetmError, ValueError):
        return None
    names = field_names_at(document, group, version, resource.kind, parts[:-1])
    match = difflib.get_close_matches(parts[-1], names, n=1, cutoff=0.6)
    return match[0] if match else None
