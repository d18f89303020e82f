package main

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name string, ready bool, labels map[string]string) v1.Node {
	st := v1.ConditionFalse
	if ready {
		st = v1.ConditionTrue
	}
	return v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status:     v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: st}}},
	}
}

func pv(name, node, size string) v1.PersistentVolume {
	return v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annNode: node}},
		Spec:       v1.PersistentVolumeSpec{Capacity: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
	}
}

func TestEligibleNodesSkipsControlPlaneNotReadyAndCordoned(t *testing.T) {
	cordoned := node("w3", true, nil)
	cordoned.Spec.Unschedulable = true
	got := eligibleNodes([]v1.Node{
		node("w2", true, nil), node("cp", true, map[string]string{"node-role.kubernetes.io/control-plane": ""}),
		node("w1", true, nil), node("down", false, nil), cordoned,
	})
	if strings.Join(got, ",") != "w1,w2" {
		t.Fatalf("eligible = %v, want [w1 w2]", got)
	}
}

func TestUsageCountsOnlyOurVolumesPerNode(t *testing.T) {
	static := pv("static", "", "5Gi")
	static.Annotations = nil
	used := usage([]v1.PersistentVolume{pv("a", "w1", "1Gi"), pv("b", "w1", "2Gi"), pv("c", "w2", "1G"), static})
	if q := used["w1"]; q.Cmp(resource.MustParse("3Gi")) != 0 {
		t.Fatalf("w1 used %s, want 3Gi", q.String())
	}
	if q := used["w2"]; q.Cmp(resource.MustParse("1G")) != 0 {
		t.Fatalf("w2 used %s, want 1G", q.String())
	}
	if len(used) != 2 {
		t.Fatalf("used has %d nodes, want 2 (the static PV is not ours)", len(used))
	}
}

func TestPickNodeTakesTheMostRoomThenTheName(t *testing.T) {
	capacity := resource.MustParse("10Gi")
	used := map[string]resource.Quantity{"w1": resource.MustParse("4Gi")}
	n, err := pickNode([]string{"w1", "w2"}, used, capacity, resource.MustParse("1G"), "")
	if err != nil || n != "w2" {
		t.Fatalf("pick = %q, %v; want w2", n, err)
	}
	n, err = pickNode([]string{"w1", "w2"}, nil, capacity, resource.MustParse("1G"), "")
	if err != nil || n != "w1" {
		t.Fatalf("tie pick = %q, %v; want w1", n, err)
	}
}

func TestPickNodeHonoursTheSchedulersChoice(t *testing.T) {
	n, err := pickNode([]string{"w1", "w2"}, nil, resource.MustParse("10Gi"), resource.MustParse("1G"), "w2")
	if err != nil || n != "w2" {
		t.Fatalf("pick = %q, %v; want w2", n, err)
	}
}

func TestPickNodeRefusesTooBigAClaimNamingEveryNode(t *testing.T) {
	used := map[string]resource.Quantity{"w2": resource.MustParse("3Gi")}
	_, err := pickNode([]string{"w1", "w2"}, used, resource.MustParse("10Gi"), resource.MustParse("20Gi"), "")
	if err == nil {
		t.Fatal("a 20Gi claim on 10Gi nodes was placed")
	}
	for _, want := range []string{"not enough room", "20Gi", "each node holds 10Gi", "w1 10Gi free", "w2 7Gi free"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	if _, err := pickNode(nil, nil, resource.MustParse("1Gi"), resource.MustParse("1Mi"), ""); err == nil {
		t.Fatal("placed a volume with no node")
	}
}

func TestCapacityOfReadsTheClassParameter(t *testing.T) {
	def := resource.MustParse("10Gi")
	if q, err := capacityOf(map[string]string{ParamCapacity: "5Gi"}, def); err != nil || q.String() != "5Gi" {
		t.Fatalf("capacity = %s, %v", q.String(), err)
	}
	if q, err := capacityOf(nil, def); err != nil || q.String() != "10Gi" {
		t.Fatalf("default capacity = %s, %v", q.String(), err)
	}
	if _, err := capacityOf(map[string]string{ParamCapacity: "lots"}, def); err == nil {
		t.Fatal("accepted a capacity that is not a quantity")
	}
	if _, err := capacityOf(map[string]string{"numberOfReplicas": "3"}, def); err == nil || !strings.Contains(err.Error(), "numberOfReplicas") {
		t.Fatalf("unknown parameter: %v", err)
	}
}

func TestBuildPVPinsTheDirectoryToItsNode(t *testing.T) {
	cfg := Config{BaseDir: "/var/lib/kubetm-provisioner"}
	claim := &v1.PersistentVolumeClaim{Spec: v1.PersistentVolumeClaimSpec{
		AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
		Resources:   v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1G")}},
	}}
	got := buildPV(cfg, "pvc-1", "w2", claim, v1.PersistentVolumeReclaimRetain, "fast")
	if got.Spec.HostPath.Path != "/var/lib/kubetm-provisioner/pvc-1" || *got.Spec.HostPath.Type != v1.HostPathDirectoryOrCreate {
		t.Fatalf("hostPath = %+v", got.Spec.HostPath)
	}
	term := got.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0]
	if term.Key != "kubernetes.io/hostname" || term.Values[0] != "w2" {
		t.Fatalf("node affinity = %+v", term)
	}
	if got.Annotations[annNode] != "w2" || got.Spec.StorageClassName != "fast" || got.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimRetain {
		t.Fatalf("pv = %+v", got)
	}
	size := got.Spec.Capacity[v1.ResourceStorage]
	if size.String() != "1G" {
		t.Fatalf("capacity = %s", size.String())
	}
}

func TestHelperPodRemovesOnlyTheVolumesOwnDirectory(t *testing.T) {
	cfg := Config{BaseDir: "/var/lib/kubetm-provisioner", HelperImage: "img", Namespace: "ns"}
	claim := &v1.PersistentVolumeClaim{}
	vol := buildPV(cfg, "pvc-1", "w1", claim, v1.PersistentVolumeReclaimDelete, "fast")
	pod, err := helperPod(cfg, vol, actionDelete)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.NodeName != "w1" || pod.Namespace != "ns" || pod.Spec.Volumes[0].HostPath.Path != cfg.BaseDir {
		t.Fatalf("pod = %+v", pod.Spec)
	}
	if got := strings.Join(pod.Spec.Containers[0].Command, " "); got != "rm -rf --one-file-system /base/pvc-1" {
		t.Fatalf("command = %q", got)
	}
	vol.Spec.HostPath.Path = "/etc"
	if _, err := helperPod(cfg, vol, actionDelete); err == nil {
		t.Fatal("would remove /etc")
	}
	static := pv("static", "", "1Gi")
	static.Annotations = nil
	if _, err := helperPod(cfg, &static, actionDelete); err == nil {
		t.Fatal("would remove a PV it did not make")
	}
}

func TestHelperPodMakesTheDirectoryWritableByAnyUser(t *testing.T) {
	cfg := Config{BaseDir: "/var/lib/kubetm-provisioner", HelperImage: "img", Namespace: "ns"}
	vol := buildPV(cfg, "pvc-2", "w2", &v1.PersistentVolumeClaim{}, v1.PersistentVolumeReclaimDelete, "fast")
	pod, err := helperPod(cfg, vol, actionCreate)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Name != "create-pvc-2" || pod.Spec.NodeName != "w2" {
		t.Fatalf("pod %s on %s", pod.Name, pod.Spec.NodeName)
	}
	want := "sh -c mkdir -p /base/pvc-2 && chmod 0777 /base/pvc-2"
	if got := strings.Join(pod.Spec.Containers[0].Command, " "); got != want {
		t.Fatalf("command = %q, want %q", got, want)
	}
}
