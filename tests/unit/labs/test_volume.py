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


# ------------------------------------------------------------------------- hostPath types


def _pending(name, path, reason="ContainerCreating"):
    return {
        "metadata": {"name": name},
        "spec": {"volumes": [{"name": "host-path", "hostPath": {"path": path}}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": [{"name": "container", "state": {"waiting": {"reason": reason}}}],
        },
    }


def _failed_mount(pod, path, kind="directory"):
    return {
        "reason": "FailedMount",
        "involvedObject": {"name": pod},
        "message": f'MountVolume.SetUp failed for volume "host-path" : hostPath type check failed: {path} is not a {kind}',
    }


def _missing_kube(reason="ContainerCreating"):
    d, f = "/tmp/kubetm-lab-volume/missing-directory", "/tmp/kubetm-lab-volume/missing-file.txt"
    return DictKube(
        {
            ("Pod", "pod-hostpath-directory"): _pending("pod-hostpath-directory", d, reason),
            ("Pod", "pod-hostpath-file"): _pending("pod-hostpath-file", f, reason),
            ("Event", "e1"): _failed_mount("pod-hostpath-directory", d),
            ("Event", "e2"): _failed_mount("pod-hostpath-file", f, "file"),
            ("Event", "e3"): {
                "reason": "Scheduled",
                "involvedObject": {"name": "pod-hostpath-file"},
            },
        }
    )


def test_hostpath_type_on_a_missing_path_fails_the_mount():
    kube = _missing_kube()
    ok, detail = volume.hostpath_type_missing(_ctx(kube, "volume"))
    assert ok, detail
    assert (
        "pod-hostpath-directory (type Directory, /tmp/kubetm-lab-volume/missing-directory): Pending/ContainerCreating"
        in detail
    )
    assert "missing-file.txt is not a file" in detail
    names = {o["metadata"]["name"] for o in kube.applied}
    assert names == {"pod-hostpath-directory", "pod-hostpath-file"}
    assert {o["metadata"]["name"] for o in kube.deleted} == names, "the step is deleted again"


def test_hostpath_type_missing_fails_when_the_pod_starts_anyway():
    kube = _missing_kube(reason="CrashLoopBackOff")
    ok, detail = volume.hostpath_type_missing(_ctx(kube, "volume"))
    assert not ok and "Pending/CrashLoopBackOff" in detail


def test_failed_mounts_only_counts_the_steps_pods():
    evs = [_failed_mount("pod-volume-3", "/x"), _failed_mount("pod-hostpath-file", "/y", "file")]
    assert list(volume._failed_mounts(evs)) == ["pod-hostpath-file"]


class _FileKube(DictKube):
    def __init__(self, creates=True):
        super().__init__()
        self.creates, self.node_files, self.cmds = creates, set(), []

    def apply(self, objs):
        super().apply(objs)
        for o in objs:
            for v in o["spec"]["volumes"]:
                if v["hostPath"]["type"] == "FileOrCreate" and self.creates:
                    self.node_files.add(v["hostPath"]["path"].rsplit("/", 1)[1])
            self.objects[("Pod", o["metadata"]["name"])] = {
                **o,
                "spec": {**o["spec"], "nodeName": "kubetm-worker"},
            }
        return []

    def exec(self, pod, cmd, **_):
        self.cmds.append(cmd)
        if cmd[0] == "rm":
            self.node_files.discard(cmd[-1].rsplit("/", 1)[1])
            return 0, "", ""
        name = cmd[-1]
        return (0, name + "\n", "") if name in self.node_files else (1, "", "")


def test_fileorcreate_creates_a_file_named_for_the_run(monkeypatch):
    monkeypatch.setattr(volume, "ready_pod", lambda ctx, name, **_: ctx.kube.get("Pod", name))
    kube = _FileKube()
    ok, detail = volume.hostpath_fileorcreate(_ctx(kube, "volume"))
    path = kube.applied[0]["spec"]["volumes"][0]["hostPath"]["path"]
    assert ok and path.startswith("/tmp/kubetm-lab-volume/node-v/created-") and path in detail
    assert kube.node_files == set(), "the created file is removed"
    assert kube.deleted, "the pod is deleted"
    ok, detail = volume.hostpath_fileorcreate(_ctx(_FileKube(creates=False), "volume"))
    assert not ok and "is not a file in /node-v" in detail
