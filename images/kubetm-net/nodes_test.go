package main

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNodeInfoFrom(t *testing.T) {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "kubetm-worker"},
		Spec:       corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24", "fd00:10:244:1::/64", "junk"}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeHostName, Address: "kubetm-worker"},
			{Type: corev1.NodeInternalIP, Address: "172.18.0.2"},
			{Type: corev1.NodeExternalIP, Address: "1.2.3.4"},
		}},
	}
	info, errs := nodeInfoFrom(n)
	if got := fmt.Sprint(info.PodCIDRs, info.InternalIPs); got != "[10.244.1.0/24 fd00:10:244:1::/64] [172.18.0.2]" {
		t.Errorf("got %s", got)
	}
	if len(errs) != 1 {
		t.Errorf("errors %v, want one for the bad CIDR", errs)
	}
	// Only the legacy singular field set.
	n.Spec.PodCIDRs = nil
	info, _ = nodeInfoFrom(n)
	if got := fmt.Sprint(info.PodCIDRs); got != "[10.244.1.0/24]" {
		t.Errorf("podCIDR fallback: %s", got)
	}
}

func TestParseCIDRList(t *testing.T) {
	got, err := parseCIDRList(" 10.244.0.0/16, fd00:10:244::/56 ,")
	if err != nil || fmt.Sprint(got) != "[10.244.0.0/16 fd00:10:244::/56]" {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := parseCIDRList("10.244.0.0"); err == nil {
		t.Error("want an error for a missing prefix length")
	}
}
