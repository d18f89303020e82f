"""kubetm/labs/volume.py: the PV/PVC binding checks on a dict-backed Kube (no cluster)."""

from __future__ import annotations

from kubetm.labs import volume

from .conftest import DictKube, _ctx


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
    return DictKube(objects)


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
