"""Unit tests of the checks of the labs pod, service, volume, config, namespace (no cluster).

The checks themselves run for real in tests/e2e/test_labs.py; here the pure parts and the rules
that must never break (secret values hidden, refusals reported with the API's reason) are pinned.
"""

from __future__ import annotations

import base64
import http.server
import threading

import pytest

from kubetm.errors import Forbidden, KubetmError, Unreachable
from kubetm.labs import catalog, config, namespace, observe, pod, service, volume
from kubetm.labs.base import LabContext

MINE = ("pod", "service", "volume", "config", "namespace")


@pytest.mark.parametrize("name", MINE)
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


def test_namespace_lab_namespaces_cover_its_steps():
    lab = catalog.get("namespace")
    from kubetm import manifests

    used = {
        d.obj["metadata"].get("namespace") or d.obj["metadata"]["name"]
        for f in lab.manifest_files() + lab.step_files()
        for d in manifests.load_docs(f)
    }
    assert used <= set(lab.namespaces), (
        "lab delete must reach every namespace the lab or its steps use"
    )


@pytest.mark.parametrize(
    "value,expected",
    [
        ("100Mi", 100 * 2**20),
        ("1Gi", 2**30),
        ("500M", 5e8),
        (104857600, 104857600),
        ("0", 0),
        ("1.5Gi", 1.5 * 2**30),
    ],
)
def test_quantity_bytes(value, expected):
    assert observe.quantity_bytes(value) == expected


def test_quantity_bytes_refuses_garbage():
    with pytest.raises(ValueError):
        observe.quantity_bytes("lots")


def _cs(name, state=None, last=None):
    return {"name": name, "state": state or {"running": {}}, "lastState": last or {}}


@pytest.mark.parametrize("which", ["container1", "container2"])
def test_port_conflict_either_container_may_fail(which):
    bad = {"waiting": {"reason": "CrashLoopBackOff"}}
    statuses = [_cs("container1"), _cs("container2")]
    idx = 0 if which == "container1" else 1
    statuses[idx] = _cs(which, bad, {"terminated": {"exitCode": 1, "reason": "Error"}})
    found = pod._failed_container({"status": {"containerStatuses": statuses}})
    assert found["name"] == which
    assert (
        pod._failed_container(
            {"status": {"containerStatuses": [_cs("container1"), _cs("container2")]}}
        )
        is None
    )


def test_port_conflict_image_problem_stops_the_wait():
    p = {
        "status": {
            "containerStatuses": [_cs("container1", {"waiting": {"reason": "ImagePullBackOff"}})]
        }
    }
    with pytest.raises(KubetmError, match="ImagePullBackOff"):
        pod._failed_container(p)


def test_host_route_picks_most_specific(tmp_path):
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "br-kind\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
    )
    assert service._host_route("10.96.0.10", str(table)) == "0.0.0.0/0 dev eth0"
    assert service._host_route("172.18.0.3", str(table)) == "172.18.0.0/16 dev br-kind"
    assert service._host_route("10.96.0.10", str(tmp_path / "missing")) is None


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"pod-1"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_host_http_answer_loopback():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hostname"
        assert observe.host_http_answer(url, lambda s, b: b == "pod-1", attempts=1) == (
            True,
            "pod-1",
        )
        ok, last = observe.host_http_answer(url, lambda s, b: b == "pod-2", attempts=2, pause=0.01)
        assert not ok and "pod-1" in last
    finally:
        server.shutdown()
        server.server_close()
    ok, last = observe.host_http_answer(url, lambda s, b: True, attempts=1, timeout=0.5)
    assert not ok and last


# --------------------------------------------------------------------------- a tiny fake


class Kube:
    """get/list/exec/watch_until/apply/delete over a dict, enough for single checks."""

    def __init__(self, objects=None, exec_out=None):
        self.objects = objects or {}
        self.exec_out = exec_out or {}
        self.applied, self.deleted = [], []

    def get(self, kind, name, namespace=None, api_version=None):
        return self.objects.get((kind, name))

    def list(self, kind, namespace=None, selector=None, **_):
        return [o for (k, _n), o in self.objects.items() if k == kind]

    def exec(self, pod_name, cmd, container=None, namespace=None, timeout=60, stdin=None):
        return 0, self.exec_out.get(pod_name, ""), ""

    def watch_until(self, kind, name=None, predicate=None, **_):
        obj = self.get(kind, name) if name else self.list(kind)
        assert predicate(obj)
        return obj

    def apply(self, objs):
        self.applied.extend(objs)
        return []

    def delete(self, objs, **_):
        self.deleted.extend(objs)
        return []


def _ctx(kube, lab="config", **state):
    return LabContext(kube=kube, lab=catalog.get(lab), state=dict(state))


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _config_kube():
    pod1 = {
        "metadata": {"name": "pod-1"},
        "spec": {
            "containers": [
                {
                    "envFrom": [
                        {"configMapRef": {"name": "cm-dev"}},
                        {"secretRef": {"name": "sec-dev"}},
                    ]
                }
            ]
        },
    }
    podf = {
        "metadata": {"name": "pod-file"},
        "spec": {
            "containers": [
                {
                    "env": [
                        {
                            "name": "file-c",
                            "valueFrom": {
                                "configMapKeyRef": {"name": "cm-file", "key": "file-c.txt"}
                            },
                        },
                        {
                            "name": "file-s",
                            "valueFrom": {
                                "secretKeyRef": {"name": "sec-file", "key": "file-s.txt"}
                            },
                        },
                    ]
                }
            ]
        },
    }
    return Kube(
        objects={
            ("Pod", "pod-1"): pod1,
            ("Pod", "pod-file"): podf,
            ("ConfigMap", "cm-dev"): {"data": {"SSH": "False", "User": "dev"}},
            ("Secret", "sec-dev"): {"data": {"Key": _b64("s3cr3t-1234")}},
            ("ConfigMap", "cm-file"): {"data": {"file-c.txt": "cm content\n"}},
            ("Secret", "sec-file"): {"data": {"file-s.txt": _b64("very secret file\n")}},
        },
        exec_out={
            "pod-1": "PATH=/bin\0SSH=False\0User=dev\0Key=s3cr3t-1234\0",
            "pod-file": "file-c=cm content\n\0file-s=very secret file\n\0HOME=/root\0",
        },
    )


@pytest.fixture
def no_wait(monkeypatch):
    for module in (config, namespace, pod, service, volume):
        if hasattr(module, "ready_pod"):
            monkeypatch.setattr(
                module,
                "ready_pod",
                lambda ctx, name, namespace=None, timeout=None: ctx.kube.get("Pod", name),
            )


def test_config_env_checks_pass_and_hide_secrets(no_wait):
    kube = _config_kube()
    ok, detail = config.env_from_literals(_ctx(kube))
    assert ok, detail
    assert "SSH=False" in detail and "User=dev" in detail
    assert "s3cr3t" not in detail and "<hidden, 11 bytes>" in detail
    ok, detail = config.env_from_files(_ctx(kube))
    assert ok, detail
    assert "very secret" not in detail and "cm content" in detail


def test_config_show_secrets_reveals(no_wait):
    ok, detail = config.env_from_literals(_ctx(_config_kube(), show_secrets=True))
    assert ok and "s3cr3t-1234" in detail


def test_config_env_mismatch_fails_without_printing_the_secret(no_wait):
    kube = _config_kube()
    kube.exec_out["pod-1"] = "SSH=False\0User=dev\0Key=other-value\0"
    ok, detail = config.env_from_literals(_ctx(kube))
    assert not ok and "DIFFERS" in detail and "other-value" not in detail and "s3cr3t" not in detail


def _pv(name, size, modes, labels=None, phase="Available"):
    return {
        "metadata": {"name": f"kubetm-lab-volume-{name}", "labels": labels or {}},
        "spec": {"capacity": {"storage": size}, "accessModes": modes, "storageClassName": ""},
        "status": {"phase": phase},
    }


def _pvc(name, size, modes, volume_name, selector=None):
    spec = {
        "resources": {"requests": {"storage": size}},
        "accessModes": modes,
        "storageClassName": "",
        "volumeName": volume_name,
    }
    if selector:
        spec["selector"] = {"matchLabels": selector}
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": "Bound"}}


def _volume_kube(pvc01_to="pv-01"):
    pvs = [
        _pv("pv-01", "1Gi", ["ReadWriteOnce"], phase="Bound"),
        _pv("pv-02", "1Gi", ["ReadOnlyMany"], phase="Bound"),
        _pv("pv-03", "2Gi", ["ReadWriteOnce"]),
        _pv("pv-04", "1Gi", ["ReadWriteMany"], {"pv": "selected"}, "Bound"),
    ]
    if pvc01_to == "pv-03":
        pvs[0]["status"]["phase"], pvs[2]["status"]["phase"] = "Available", "Bound"
    objects = {("PersistentVolume", p["metadata"]["name"]): p for p in pvs}
    for c in (
        _pvc("pvc-01", "1Gi", ["ReadWriteOnce"], f"kubetm-lab-volume-{pvc01_to}"),
        _pvc("pvc-02", "1Gi", ["ReadOnlyMany"], "kubetm-lab-volume-pv-02"),
        _pvc("pvc-03", "1Gi", ["ReadWriteMany"], "kubetm-lab-volume-pv-04", {"pv": "selected"}),
    ):
        objects[("PersistentVolumeClaim", c["metadata"]["name"])] = c
    return Kube(objects)


def test_volume_binding_checks():
    ok, detail = volume.pvc_binds_by_size_and_mode(_ctx(_volume_kube(), "volume"))
    assert ok, detail
    assert "pvc-01 (1Gi RWO, storageClassName '') -> pv-01 (1Gi RWO)" in detail
    assert "pv-03 (2Gi RWO) also fits but stays Available" in detail
    ok, detail = volume.pvc_binds_by_label(_ctx(_volume_kube(), "volume"))
    assert ok and "pv=selected" in detail


def test_volume_binding_to_a_bigger_pv_while_a_smaller_fits_fails():
    ok, detail = volume.pvc_binds_by_size_and_mode(_ctx(_volume_kube("pv-03"), "volume"))
    assert not ok and "smaller fitting kubetm-lab-volume-pv-01 stayed Available" in detail


class _StepCtx:
    def __init__(self, error=None):
        self.error, self.deleted = error, []

    def apply_step(self, step):
        if self.error:
            raise self.error

    def delete_step(self, step, wait=True):
        self.deleted.append(step)


def test_refusal_shows_the_api_reason():
    msg = (
        'apply pod kubetm-lab-namespace-3/pod-over-quota: forbidden: pods "pod-over-quota" is forbidden: '
        "exceeded quota: rq-1, requested: requests.memory=450Mi, used: requests.memory=100Mi, "
        "limited: requests.memory=500Mi"
    )
    ok, detail = namespace._refused(
        _StepCtx(Forbidden(msg)), "pod-over-quota", "exceeded quota", "intro"
    )
    assert ok
    assert detail == (
        "intro: refused: exceeded quota: rq-1, requested: requests.memory=450Mi, "
        "used: requests.memory=100Mi, limited: requests.memory=500Mi"
    )


def test_an_unreachable_cluster_is_not_a_refusal():
    with pytest.raises(Unreachable):
        namespace._refused(
            _StepCtx(Unreachable("cannot reach the API server")), "pod-over-quota", "quota", "intro"
        )


def test_accepted_step_fails_and_is_cleaned_up():
    ctx = _StepCtx()
    ok, detail = namespace._refused(ctx, "pod-over-max", "maximum memory", "intro")
    assert not ok and "ACCEPTED" in detail and ctx.deleted == ["pod-over-max"]


def test_refusal_for_another_reason_fails():
    ok, detail = namespace._refused(
        _StepCtx(Forbidden('apply pod x: forbidden: pods "x" is forbidden: exceeded quota: rq-1')),
        "pod-over-max",
        "maximum memory",
        "i",
    )
    assert not ok and "exceeded quota" in detail
