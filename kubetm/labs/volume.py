"""Lab `volume` — 볼륨 (Volume): emptyDir, hostPath, PersistentVolume / PersistentVolumeClaim.

manifests/volume/: pod-volume-1 (emptyDir, 2 containers), pod-volume-3 (hostPath on k8s-node1),
PVs kubetm-lab-volume-pv-01..04 (cluster-scoped, labelled kubetm.io/lab=volume), pvc-01..03,
pod-volume-pvc; steps/hostpath-recreate.yaml (pod-volume-4).
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="volume",
    title="볼륨 — Volume",
    lesson="emptyDir, hostPath, PV/PVC: storage shared inside a pod, kept on a node, or claimed from an admin's volumes",
    checks=(
        Check("emptydir-shared", not_implemented(),
              "a file written in container1:/mount1 of pod-volume-1 is read in container2:/mount2", timeout=90),
        Check("hostpath-outlives-pod", not_implemented(),
              "a file written through pod-volume-3 is read by steps/hostpath-recreate's pod-volume-4 on k8s-node1", timeout=120),
        Check("pvc-binds-by-size-and-mode", not_implemented(),
              "pvc-01 binds pv-01 (smallest fitting RWO), pvc-02 binds pv-02 (ROX); pv-03 stays Available", timeout=60),
        Check("pvc-binds-by-label", not_implemented(),
              "pvc-03 binds pv-04 through its label selector pv=selected", timeout=60),
        Check("pod-writes-through-pvc", not_implemented(),
              "pod-volume-pvc runs on k8s-node1 (the PV's nodeAffinity) and its file is in /mount3", timeout=90),
    ),
)
