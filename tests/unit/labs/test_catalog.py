"""kubetm/labs/catalog.py: which labs exist, in course order, unknown names refused; and what every
catalogued lab defines: its checks, the step files they name, its manifests (valid Kubernetes YAML
that follows the conventions). No cluster."""

from __future__ import annotations

import pytest
import yaml
from fakekube import FakeKube

from kubetm import labs
from kubetm.errors import KubetmError
from kubetm.labs import catalog

from .conftest import MANIFESTS, REPO

COURSE_IMAGES = {
    f"localhost:5001/kubetm/{i}"
    for i in ("hello:1.0", "app:v1", "app:v2", "app:v3", "init:1.0", "ports:1.0")
}
RESERVED_NODEPORTS = {
    30001: "service",
    30002: "service",
    30009: "namespace",
}  # docs/DESIGN.md: ports lab manifests may use

LAB_NAMES = [
    "pod",
    "service",
    "volume",
    "config",
    "namespace",
    "replicaset",
    "deployment",
    "daemonset-job-cronjob",
    "pod-lifecycle",
    "probes",
    "qos",
    "node-scheduling",
    "dynamic-provisioning",
    "autoscaling",
    "service-discovery",
    "statefulset",
    "authentication",
    "authorization",
    "helm-basics",
    "helm-templates",
    "helm-hooks",
]

# The labs of the course's "Object" chapter (Pod; Service; Volume; ConfigMap, Secret; Namespace,
# ResourceQuota, LimitRange).
OBJECT_LABS = ("pod", "service", "volume", "config", "namespace")


def test_registry_lists_the_course_labs_in_order():
    assert labs.names() == LAB_NAMES
    rows = labs.list_labs()
    assert [r["name"] for r in rows] == LAB_NAMES
    assert {r["name"] for r in rows if r["exclusive"]} == {"replicaset", "node-scheduling"}


def test_declared_shares_keep_apart_exactly_the_labs_that_collide():
    """What each course lab shares (issue 13): replicaset stops a node (alone); volume and
    helm-templates both put class-"" PVs in play; daemonset-job-cronjob holds nodes and hostPort
    18080 but runs beside labs that leave nodes alone."""
    from kubetm.labs.base import conflicts

    def apart(a: str, b: str) -> bool:
        return conflicts(catalog.get(a).shares, catalog.get(b).shares)

    assert catalog.get("daemonset-job-cronjob").shares == ("hostport:18080", "nodes")
    assert apart("volume", "helm-templates")
    assert all(apart("replicaset", other) for other in LAB_NAMES if other != "replicaset")
    for a, b in [
        ("daemonset-job-cronjob", "pod"),
        ("service", "probes"),
        ("autoscaling", "volume"),
    ]:
        assert not apart(a, b), (a, b)


def test_unknown_lab_lists_valid_names():
    with pytest.raises(KubetmError) as err:
        labs.show("pods")
    assert "unknown lab 'pods'" in err.value.message
    assert "pod, service, volume" in err.value.hint
    for fn in (
        lambda: labs.run(FakeKube(), ["pod", "nope"]),
        lambda: labs.verify(FakeKube(), "nope"),
        lambda: labs.apply(FakeKube(), "nope"),
        lambda: labs.delete(FakeKube(), "nope"),
    ):
        with pytest.raises(KubetmError, match="unknown lab 'nope'"):
            fn()
    with pytest.raises(KubetmError):
        labs.run(FakeKube(), ["all", "pod"])


@pytest.mark.parametrize("name", OBJECT_LABS)
def test_no_placeholder_left(name):
    lab = catalog.get(name)
    assert lab.checks
    assert not [c.name for c in lab.checks if getattr(c.fn, "not_implemented", False)]


def test_steps_named_by_checks_exist():
    for name, steps in {
        "pod": ["port-conflict"],
        "volume": ["hostpath-recreate"],
        "namespace": [
            "pod-over-quota",
            "pod-over-max",
            "pod-over-ratio",
            "pod-no-resources",
            "namespace-delete",
        ],
    }.items():
        lab = catalog.get(name)
        for step in steps:
            assert lab.step_path(step).is_file(), f"{name}: steps/{step}.yaml"


# ------------------------------------------------------------------------- manifests


def _manifest_files():
    return sorted(p for name in catalog.names() for p in (MANIFESTS / name).rglob("*.yaml"))


def _docs(path):
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _schema_errors(value, typ, path, models):
    """Unknown fields and wrong shapes against the kubernetes client's OpenAPI models."""
    errors = []
    typ = typ.replace("List[", "list[").replace(
        "Dict[", "dict("
    )  # newer clients write typing names
    if typ.startswith("dict(") and typ.endswith("]"):
        typ = typ[:-1] + ")"
    if typ.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        for i, v in enumerate(value):
            errors += _schema_errors(v, typ[5:-1], f"{path}[{i}]", models)
    elif typ.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping"]
        inner = typ[5:-1].split(", ", 1)[1]
        for k, v in value.items():
            errors += _schema_errors(v, inner, f"{path}.{k}", models)
    elif typ == "str":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {value!r} (quote it)")
    elif typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: expected an integer, got {value!r}")
    elif typ == "bool":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected true/false, got {value!r}")
    elif typ in ("object", "float", "datetime", "date"):
        pass
    else:
        cls = getattr(models, typ)
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping ({typ})"]
        json_to_attr = {v: k for k, v in cls.attribute_map.items()}
        for k, v in value.items():
            if k not in json_to_attr:
                errors.append(f"{path}.{k}: unknown field of {typ}")
                continue
            errors += _schema_errors(v, cls.openapi_types[json_to_attr[k]], f"{path}.{k}", models)
    return errors


def test_every_manifest_is_plain_valid_kubernetes_yaml():
    from kubernetes.client import models

    files = _manifest_files()
    assert len(files) >= 40
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# 강의:"), f"{path}: first line names the lesson"
        for doc in _docs(path):
            assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), path
            version = doc["apiVersion"].split("/")[-1]
            cls_name = version[0].upper() + version[1:] + doc["kind"]
            errors = _schema_errors(
                doc,
                cls_name,
                f"{path.relative_to(REPO)}:{doc['kind']}/{doc['metadata']['name']}",
                models,
            )
            assert not errors, "\n".join(errors)


def test_manifests_follow_the_conventions():
    seen_nodeports: dict[int, str] = {}
    for path in _manifest_files():
        lab = path.relative_to(MANIFESTS).parts[0]
        for doc in _docs(path):
            meta = doc["metadata"]
            where = f"{path.relative_to(REPO)} {doc['kind']}/{meta['name']}"
            labels = meta.get("labels") or {}
            assert labels.get("app.kubernetes.io/managed-by") == "kubetm", where
            assert labels.get("kubetm.io/lab") == lab, where
            if doc["kind"] in ("Namespace", "PersistentVolume"):
                assert "namespace" not in meta, where
                assert meta["name"].startswith(f"kubetm-lab-{lab}"), where
            elif f"object:{doc['kind']}/{meta['name']}" in catalog.get(lab).shares:
                assert "namespace" not in meta, where  # cluster-scoped, the course's own name
            else:
                assert meta.get("namespace", "").startswith(f"kubetm-lab-{lab}"), where
            if doc["kind"] == "PersistentVolume":
                terms = doc["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
                assert terms[0]["matchExpressions"][0]["key"] == "kubetm.io/course-node", where
            for port in (doc.get("spec") or {}).get("ports") or []:
                if "nodePort" in port:
                    assert RESERVED_NODEPORTS.get(port["nodePort"]) == lab, where
                    # a lab may ask for its own port twice (a step the API must refuse), never
                    # another lab's
                    assert seen_nodeports.get(port["nodePort"], lab) == lab, where
                    assert f"nodeport:{port['nodePort']}" in catalog.get(lab).shares, (
                        f"{where}: lab {lab} must declare nodeport:{port['nodePort']} in shares"
                    )
                    seen_nodeports[port["nodePort"]] = lab
            _check_pod_specs(doc, where)


def _check_pod_specs(obj, where):
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for key in ("containers", "initContainers"):
                for c in cur.get(key) or []:
                    assert c["image"] in COURSE_IMAGES, (
                        f"{where}: image {c['image']} is not a course image"
                    )
            sel = cur.get("nodeSelector")
            if isinstance(sel, dict) and "kubetm.io/course-node" in sel:
                assert sel["kubetm.io/course-node"] in ("k8s-node1", "k8s-node2"), where
            if "hostPort" in cur:
                assert cur["hostPort"] == 18080, where
            stack.extend(v for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            stack.extend(cur)


def test_manifests_load_through_kubetm_manifests():
    from kubetm import manifests

    for name in catalog.names():
        objs = manifests.load(MANIFESTS / name)
        assert objs[0]["kind"] == "Namespace"
        assert not any(
            o["metadata"]["name"] in ("pod-port-conflict", "load", "replica-1", "pod-volume-4")
            for o in objs
        ), "step objects must not be applied with the lab"


# The course pages (kubetm.github.io/<page>/) of the labs that were built first; the site's
# sections: k8s/03-04 = 초급, k8s/06-08 = 중급, helm/ = Helm.
COURSE_PAGES = {
    "pod": "k8s/03-beginner-basic-resource/pod",
    "service": "k8s/03-beginner-basic-resource/service",
    "volume": "k8s/03-beginner-basic-resource/volume",
    "config": "k8s/03-beginner-basic-resource/configmap",
    "namespace": "k8s/03-beginner-basic-resource/namespace",
    "replicaset": "k8s/04-beginner-controller/replicaset",
    "daemonset-job-cronjob": "k8s/04-beginner-controller/daemonset",
    "probes": "k8s/06-intermediate-pod/probe",
    "autoscaling": "k8s/08-intermediate-controller/hpa",
    "helm-basics": "helm/04-topic/tip",
    "helm-templates": "helm/02-template-guide/step_1",
    "helm-hooks": "helm/04-topic/topic1",
}


@pytest.mark.parametrize("name", sorted(COURSE_PAGES))
def test_lab_names_its_course_page_and_part(name):
    lab = catalog.get(name)
    assert lab.page == COURSE_PAGES[name]
    section = lab.page.split("/")[1][:2] if lab.page.startswith("k8s/") else None
    want = "Helm" if section is None else ("초급" if section in ("03", "04") else "중급")
    assert lab.part == want, f"{name}: page {lab.page} is in part {want}, the lab says {lab.part}"
