"""Safe manifest loading, per-cluster substitution and ordering. Pure functions, no API calls.

Manifests stay plain kubectl-applicable YAML (see docs/DESIGN.md). kubetm only:
  * loads them safely (``yaml.SafeLoader``, alias/size limits, ``file:line`` errors),
  * rewrites the image prefix ``localhost:5001/`` to the configured registry
    (``--registry`` / ``KUBETM_REGISTRY``),
  * orders them: Namespaces, then CRDs, then everything else (stable).

Example:
    objs = load("manifests/getting-started", registry="registry.example:5000")
    kube.apply(objs)
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetm.errors import KubetmError, register_secret_object

__all__ = [
    "Doc",
    "load",
    "load_docs",
    "loads_docs",
    "substitute",
    "substitute_images",
    "order",
    "registry_from_env",
    "DEFAULT_REGISTRY",
    "manifest_root",
    "manifest_dir",
    "describe",
]

DEFAULT_REGISTRY = "localhost:5001"
COURSE_PREFIX = "localhost:5001/"

# Limits that keep a hostile or broken file from eating the machine.
MAX_FILE_BYTES = 4 * 1024 * 1024  # one manifest file
MAX_ALIASES = 100  # YAML aliases (*ref) per document
MAX_NODES = 200_000  # nodes per document once aliases are expanded


# Repository folder holding the course manifests (manifests/<lab>/*.yaml).
def manifest_root() -> Path:
    """manifests/ of the checkout, or the installed wheel's copy (override: $KUBETM_MANIFESTS)."""
    from kubetm.resources import data_dir

    return data_dir("manifests")


_ORDER = {"Namespace": 0, "CustomResourceDefinition": 1}
_CONTAINER_KEYS = ("containers", "initContainers", "ephemeralContainers")


@dataclass
class Doc:
    """One Kubernetes object as loaded, with where it came from (``file:line``)."""

    obj: dict
    source: str

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]


def manifest_dir(name: str) -> Path:
    """Path of a course manifest folder, e.g. ``manifest_dir("getting-started")``."""
    path = manifest_root() / name
    if not path.is_dir():
        raise KubetmError(
            f"manifest folder {path} not found",
            hint="set KUBETM_MANIFESTS to the repository's manifests/ folder",
        )
    return path


def registry_from_env(registry: str | None = None) -> str:
    """The registry to substitute: explicit value, else $KUBETM_REGISTRY, else localhost:5001."""
    value = (registry or os.environ.get("KUBETM_REGISTRY") or DEFAULT_REGISTRY).strip()
    value = value.removeprefix("http://").removeprefix("https://").rstrip("/")
    if "@" in value.split("/", 1)[0]:  # user:password@host: never take credentials (nor echo them)
        raise KubetmError(
            "the registry must not contain credentials (user:password@)",
            hint="log in with `docker login HOST` instead: kubetm never takes credentials",
        )
    if not value or any(c.isspace() for c in value):
        raise KubetmError(
            f"invalid registry {registry!r}", hint="expected host:port[/path], e.g. localhost:5001"
        )
    return value


# ----------------------------------------------------------------------------------- loading


def load(path: str | os.PathLike, registry: str | None = None) -> list[dict]:
    """Load a file or folder, substitute per-cluster values and order the objects.

    Returns deep-copied plain dicts ready for ``Kube.apply``.
    """
    docs = load_docs(path)
    return order(substitute([d.obj for d in docs], registry=registry))


def load_docs(path: str | os.PathLike) -> list[Doc]:
    """Load every object of a file, or of a folder's ``*.yaml``/``*.yml`` files (sorted by name)."""
    p = Path(path)
    if not p.exists():
        raise KubetmError(f"{p}: no such file or directory")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in (".yaml", ".yml"))
        if not files:
            raise KubetmError(f"{p}: folder holds no *.yaml or *.yml files")
        docs: list[Doc] = []
        for f in files:
            docs.extend(_load_file(f))
        _check_duplicates(docs)
        return docs
    docs = _load_file(p)
    _check_duplicates(docs)
    return docs


def _load_file(path: Path) -> list[Doc]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise KubetmError(
                f"{path}: file is too large for a manifest ({size} bytes > {MAX_FILE_BYTES})"
            )
        data = path.read_bytes()
    except OSError as e:
        raise KubetmError(f"{path}: cannot read: {e.strerror or e}") from None
    return loads_docs(data, str(path))


def loads_docs(data: bytes | str, name: str = "<string>") -> list[Doc]:
    """Parse YAML text (one or many documents) into validated ``Doc`` objects."""
    text = _decode(data, name)
    if not text.strip():
        raise KubetmError(f"{name}: empty file, no Kubernetes objects")

    import yaml  # lazy: not needed for `kubetm --help`

    loader = _loader_class()(text)
    docs: list[Doc] = []
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            index += 1
            if node is None:
                continue
            _check_size(node, name)
            line = node.start_mark.line + 1
            obj = loader.construct_document(node)
            if obj is None:  # an empty document between two '---'
                continue
            docs.extend(_validate(obj, node, name, line, index))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = e.problem or e.context or "invalid YAML"
        if "python/" in problem and "constructor for the tag" in problem:
            tag = problem.split("tag", 1)[-1].split("'")[1] if "'" in problem else "python/..."
            problem = f"refusing YAML tag {tag.replace('tag:yaml.org,2002:', '!!')}: kubetm never builds Python objects"
        elif (
            e.problem
            and e.context
            and e.context_mark is not None
            and e.context_mark is not mark
            and e.context_mark.line != getattr(mark, "line", None)
        ):
            problem = f"{problem} ({e.context} started at line {e.context_mark.line + 1})"
        raise KubetmError(f"{where}: {problem}") from None
    except yaml.YAMLError as e:
        raise KubetmError(f"{name}: invalid YAML: {e}") from None
    finally:
        loader.dispose()
    if not docs:
        raise KubetmError(f"{name}: no Kubernetes objects (only empty documents)")
    return docs


def _decode(data: bytes | str, name: str) -> str:
    if isinstance(data, str):
        text = data
    else:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise KubetmError(f"{name}: file is UTF-16 encoded", hint="save it as UTF-8")
        head = data[:8192]
        if (
            len(head) >= 8
            and head.count(b"\x00") * 3 >= len(head)
            and (
                head[1::2].count(0) * 2 >= len(head) // 2
                or head[0::2].count(0) * 2 >= len(head) // 2
            )
        ):
            raise KubetmError(
                f"{name}: file looks UTF-16 encoded (no byte order mark)", hint="save it as UTF-8"
            )
        if b"\x00" in head:
            raise KubetmError(f"{name}: binary file, not YAML text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise KubetmError(
                f"{name}:{line}: not valid UTF-8 text (byte 0x{data[e.start]:02x})",
                hint="save it as UTF-8",
            ) from None
    bad = next((c for c in text if c < " " and c not in "\t\n\r"), None)
    if bad is not None:
        line = text[: text.index(bad)].count("\n") + 1
        raise KubetmError(f"{name}:{line}: control character {bad!r} in YAML text (binary junk?)")
    return text


_LOADER = None


def _loader_class():
    """A SafeLoader that counts aliases so 'billion laughs' documents are refused early."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class _Loader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self._aliases = 0

        def compose_document(self):
            self._aliases = 0
            return super().compose_document()

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    mark = self.peek_event().start_mark
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"too many YAML aliases (more than {MAX_ALIASES} in one document)",
                        mark,
                    )
            return super().compose_node(parent, index)

    _LOADER = _Loader
    return _Loader


def _check_size(root: Any, name: str) -> None:
    """Count nodes with aliases expanded; stop as soon as the limit is exceeded."""
    import yaml

    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise KubetmError(
                f"{name}:{root.start_mark.line + 1}: document expands to more than "
                f"{MAX_NODES} YAML nodes (alias bomb?)"
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append(k)
                stack.append(v)


def _value_line(node: Any, key: str, default: int) -> int:
    """Line (1-based) of ``key``'s value inside a mapping node, else ``default``."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == key:
                return v.start_mark.line + 1
    return default


def _key_line(node: Any, key: str, default: int) -> int:
    """Line (1-based) of ``key:`` itself inside a mapping node, else ``default``."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if getattr(k, "value", None) == key:
                return k.start_mark.line + 1
    return default


def _child(node: Any, key: str) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == key:
                return v
    return None


def _validate(obj: Any, node: Any, name: str, line: int, index: int) -> list[Doc]:
    where = f"{name}:{line}"
    if not isinstance(obj, dict):
        raise KubetmError(
            f"{where}: document {index} is a {_type_name(obj)}, expected a mapping "
            f"with apiVersion, kind and metadata"
        )
    for key in ("apiVersion", "kind"):
        if key not in obj:
            raise KubetmError(f"{where}: document {index} has no {key}")
        if not isinstance(obj[key], str) or not obj[key].strip():
            raise KubetmError(
                f"{name}:{_value_line(node, key, line)}: {key} must be a non-empty string"
            )
    if obj["kind"].endswith("List") and isinstance(obj.get("items"), list):
        items_node = _child(node, "items")
        out: list[Doc] = []
        for i, item in enumerate(obj["items"]):
            item_node = items_node.value[i] if items_node is not None else None
            item_line = item_node.start_mark.line + 1 if item_node is not None else line
            out.extend(_validate(item, item_node, name, item_line, index))
        return out
    meta = obj.get("metadata")
    if meta is None:
        raise KubetmError(f"{where}: {obj['kind']} has no metadata.name")
    meta_node = _child(node, "metadata")
    meta_line = _key_line(node, "metadata", line)
    if not isinstance(meta, dict):
        raise KubetmError(f"{name}:{meta_line}: metadata must be a mapping")
    obj_name = meta.get("name")
    if not isinstance(obj_name, str) or not obj_name.strip():
        raise KubetmError(
            f"{name}:{_value_line(meta_node, 'name', meta_line)}: "
            f"{obj['kind']} needs metadata.name (a non-empty string)"
        )
    for key in ("labels", "annotations"):
        if key in meta and meta[key] is not None:
            if not isinstance(meta[key], dict) or not all(
                isinstance(v, str) for v in meta[key].values()
            ):
                raise KubetmError(
                    f"{name}:{_value_line(meta_node, key, meta_line)}: metadata.{key} "
                    f"must map names to strings (quote numbers and booleans)"
                )
    if "namespace" in meta and (
        not isinstance(meta["namespace"], str) or not meta["namespace"].strip()
    ):
        raise KubetmError(
            f"{name}:{_value_line(meta_node, 'namespace', meta_line)}: "
            f"metadata.namespace must be a non-empty string"
        )
    _check_types(obj, node, name, line)
    register_secret_object(obj)  # its values never appear in an error message from here on
    return [Doc(obj, where)]


# Fields whose type the API server would reject anyway: refusing them here names file:line and
# keeps a multi-object apply from writing the objects before the broken one.
_STRING_MAPS = {"ConfigMap": ("data", "binaryData"), "Secret": ("data", "stringData")}
_REPLICATED = {"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"}
_POD_TEMPLATED = _REPLICATED | {"DaemonSet", "Job"}


# The docker/distribution reference grammar: [domain[:port]/]path[:tag][@digest].
_IMAGE_REF = __import__("re").compile(
    r"(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)


def _image_line(root: Any, image: str, default: int) -> int:
    """Line of the first scalar node whose value is ``image`` (the container's image:)."""
    import yaml

    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode) and node.value == image:
            return node.start_mark.line + 1
        if isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for k, v in reversed(node.value):
                stack.extend([v, k])
    return default


def _check_types(obj: dict, node: Any, name: str, line: int) -> None:
    kind = obj["kind"]

    def at(path: tuple[str, ...]) -> int:
        cur, found = node, line
        for key in path:
            nxt = _child(cur, key)
            if nxt is None:
                break
            found, cur = nxt.start_mark.line + 1, nxt
        return found

    def fail(path: tuple[str, ...], problem: str) -> None:
        raise KubetmError(f"{name}:{at(path)}: {kind} {'.'.join(path)} {problem}")

    spec = obj.get("spec")
    if "spec" in obj and spec is not None and not isinstance(spec, dict):
        fail(("spec",), f"must be a mapping, not a {_type_name(spec)}")
    for key in _STRING_MAPS.get(kind, ()):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            fail((key,), f"must be a mapping, not a {_type_name(value)}")
        for k, v in value.items():
            if not isinstance(v, str):  # the value itself is never printed (it may be secret)
                raise KubetmError(
                    f"{name}:{_value_line(_child(node, key), k, line)}: {kind} {key}.{k} must be "
                    f"a string, not a {_type_name(v)} (quote it)"
                )
    if not isinstance(spec, dict):
        return
    if kind in _REPLICATED and "replicas" in spec:
        r = spec["replicas"]
        if not isinstance(r, int) or isinstance(r, bool) or r < 0:
            fail(("spec", "replicas"), f"must be a whole number >= 0, got {r!r:.40}")
    pod_specs: list[tuple[tuple[str, ...], Any]] = []
    if kind == "Pod":
        pod_specs.append((("spec",), spec))
    elif kind in _POD_TEMPLATED:
        tmpl = spec.get("template")
        if isinstance(tmpl, dict):
            pod_specs.append((("spec", "template", "spec"), tmpl.get("spec")))
    for path, pspec in pod_specs:
        if not isinstance(pspec, dict):
            continue
        for key in ("containers", "initContainers"):
            cs = pspec.get(key)
            if cs is None:
                continue
            if not isinstance(cs, list) or not all(isinstance(c, dict) for c in cs):
                fail(
                    path + (key,),
                    "must be a list of containers (each a mapping with name and image)",
                )
            for c in cs:
                for field in ("name", "image"):
                    if field in c and not isinstance(c[field], str):
                        fail(
                            path + (key,),
                            f"has a container {field} that is a {_type_name(c[field])}, "
                            f"not a string",
                        )
                image = c.get("image")
                if isinstance(image, str) and not _IMAGE_REF.fullmatch(image):
                    raise KubetmError(
                        f"{name}:{_image_line(node, image, line)}: {kind} container "
                        f"{c.get('name', '?')!s:.60}: invalid image reference {image!r:.120}",
                        hint="expected [registry[:port]/]name[:tag][@sha256:digest], lower-case name",
                    )


def _type_name(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _check_duplicates(docs: list[Doc]) -> None:
    seen: dict[tuple, str] = {}
    for d in docs:
        key = (
            d.obj["apiVersion"].split("/")[0] if "/" in d.obj["apiVersion"] else "",
            d.kind,
            d.obj["metadata"].get("namespace"),
            d.name,
        )
        if key in seen:
            raise KubetmError(
                f"{d.source}: {d.kind} {d.name} is defined twice (first at {seen[key]})"
            )
        seen[key] = d.source


# ------------------------------------------------------------------------------ substitution


def substitute(objs: Iterable[dict], registry: str | None = None) -> list[dict]:
    """Apply every per-cluster substitution to deep copies of ``objs`` (inputs are not changed)."""
    reg = registry_from_env(registry)
    return [substitute_images(copy.deepcopy(o), reg) for o in objs]


def substitute_images(obj: dict, registry: str) -> dict:
    """Rewrite ``localhost:5001/`` image prefixes in every (init/ephemeral) container, in place.

    Works for Pods, workload templates and CronJob job templates alike: it walks the whole object
    and rewrites the ``image`` of each entry of any ``containers``/``initContainers`` list.
    """
    registry = registry.rstrip("/")
    if registry == DEFAULT_REGISTRY:
        return obj
    stack: list[Any] = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for key, value in cur.items():
                if key in _CONTAINER_KEYS and isinstance(value, list):
                    for c in value:
                        if (
                            isinstance(c, dict)
                            and isinstance(c.get("image"), str)
                            and c["image"].startswith(COURSE_PREFIX)
                        ):
                            c["image"] = f"{registry}/{c['image'][len(COURSE_PREFIX) :]}"
                if isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(cur, list):
            stack.extend(v for v in cur if isinstance(v, (dict, list)))
    return obj


# ---------------------------------------------------------------------------------- ordering


def order(objs: Iterable[Any]) -> list[Any]:
    """Namespaces first, then CustomResourceDefinitions, then the rest in their original order.

    Accepts dicts or ``Doc`` objects.
    """
    items = list(objs)

    def rank(o: Any) -> int:
        kind = o.obj["kind"] if isinstance(o, Doc) else o.get("kind")
        return _ORDER.get(kind, 2)

    return sorted(items, key=rank)  # sorted() is stable


def describe(obj: dict) -> str:
    """``kind/name`` (with ``ns/`` prefix when namespaced), for messages."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    base = f"{obj.get('kind', '?')}/{meta.get('name', '?')}"
    return f"{ns}/{base}" if ns else base
