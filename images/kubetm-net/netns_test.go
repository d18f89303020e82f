//go:build netns

// Integration test against the real kernel, for a throwaway network namespace only:
//
//	go test -c -tags netns -o /tmp/kubetm-net.test && unshare -n /tmp/kubetm-net.test -test.v
//
// It refuses to run unless KUBETM_NET_NETNS_TEST=1, so it never touches a real node's network.
package main

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func requireNetns(t *testing.T) {
	if os.Getenv("KUBETM_NET_NETNS_TEST") != "1" {
		t.Skip("set KUBETM_NET_NETNS_TEST=1 and run inside `unshare -n` (or a throwaway container)")
	}
}

func TestNetnsRoutes(t *testing.T) {
	requireNetns(t)
	lo, _ := netlink.LinkByName("lo")
	_ = netlink.LinkSetUp(lo)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth9", MTU: 1400}, PeerName: "eth9peer"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	l, _ := netlink.LinkByName("eth9")
	addr, _ := netlink.ParseAddr("172.18.0.2/16")
	if err := netlink.AddrAdd(l, addr); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	peer, _ := netlink.LinkByName("eth9peer")
	_ = netlink.LinkSetUp(peer) // carrier, so routes via eth9 are usable
	if mtu, name := detectMTU(net.ParseIP("172.18.0.2")); mtu != 1400 || name != "eth9" {
		t.Errorf("detectMTU = %d %q", mtu, name)
	}
	// A route that is not ours must survive.
	foreign := &netlink.Route{Dst: cidr(t, "10.99.0.0/24"), Gw: net.ParseIP("172.18.0.99")}
	if err := netlink.RouteAdd(foreign); err != nil {
		t.Fatal(err)
	}
	s := &syncer{nodeName: "w1"}
	nodes := []nodeInfo{
		node(t, "w1", []string{"10.244.1.0/24"}, "172.18.0.2"),
		node(t, "w2", []string{"10.244.2.0/24"}, "172.18.0.3"),
		node(t, "cp", []string{"10.244.0.0/24"}, "172.18.0.4"),
	}
	if err := s.syncRoutes(nodes); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "route", "show", "proto", "77").CombinedOutput()
	t.Logf("ip route show proto 77:\n%s", out)
	got, _ := listOwnRoutes()
	if len(got) != 2 {
		t.Fatalf("own routes %v", got)
	}
	// Node cp deleted, w2 moved: one removal, one gateway swap, foreign route kept.
	nodes = []nodeInfo{nodes[0], node(t, "w2", []string{"10.244.2.0/24"}, "172.18.0.5")}
	if err := s.syncRoutes(nodes); err != nil {
		t.Fatal(err)
	}
	got, _ = listOwnRoutes()
	if len(got) != 1 || got[0].Dst.String() != "10.244.2.0/24" || got[0].Gw.String() != "172.18.0.5" {
		t.Fatalf("own routes after change %v", got)
	}
	all, _ := netlink.RouteList(nil, netlink.FAMILY_V4)
	kept := false
	for _, r := range all {
		if r.Dst != nil && r.Dst.String() == "10.99.0.0/24" {
			kept = true
		}
	}
	if !kept {
		t.Error("foreign route removed")
	}
}

func TestNetnsMasq(t *testing.T) {
	requireNetns(t)
	rules := masqRules(cidrs(t, "10.244.0.0/16", "172.18.0.2/32"), cidrs(t, "10.244.1.0/24"))
	for _, mode := range []string{"legacy", "nft"} {
		r := runner{mode: mode}
		changed, err := r.syncMasq(true, rules)
		if err != nil || !changed {
			t.Fatalf("%s first sync: changed=%v err=%v", mode, changed, err)
		}
		changed, err = r.syncMasq(true, rules)
		if err != nil || changed {
			t.Fatalf("%s second sync must be a no-op: changed=%v err=%v", mode, changed, err)
		}
		fewer := rules[1:]
		if changed, err = r.syncMasq(true, fewer); err != nil || !changed {
			t.Fatalf("%s shrink: changed=%v err=%v", mode, changed, err)
		}
		out, _ := exec.Command("iptables-"+mode+"-save", "-t", "nat").CombinedOutput()
		t.Logf("iptables-%s-save -t nat:\n%s", mode, out)
		if n := strings.Count(string(out), "-j "+masqChain); n != 1 {
			t.Errorf("%s: %d jumps to %s, want 1", mode, n, masqChain)
		}
		if got := chainRules(string(out)); strings.Join(got, "\n") != strings.Join(fewer, "\n") {
			t.Errorf("%s: chain holds %q", mode, got)
		}
		// IPv6 too (ip6tables -S prints compressed addresses like net.IPNet.String()).
		rules6 := masqRules(cidrs(t, "fd00:10:244::/56", "fc00:f853:ccd:e793::2/128"), cidrs(t, "fd00:10:244:1::/64"))
		if _, err := r.syncMasq(false, rules6); err != nil {
			t.Fatalf("%s v6: %v", mode, err)
		}
		if changed, err := r.syncMasq(false, rules6); err != nil || changed {
			t.Errorf("%s v6 second sync must be a no-op: changed=%v err=%v", mode, changed, err)
		}
	}
	// Both backends now hold rules; detection must work on real save output.
	mode, reason := detectBackend()
	t.Logf("detectBackend: %s (%s)", mode, reason)
}

func TestNetnsConflist(t *testing.T) {
	requireNetns(t)
	dir := t.TempDir()
	s := &syncer{nodeName: "w1", confDir: dir, mtu: 1400}
	if err := s.syncConflist(cidrs(t, "10.244.1.0/24")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(dir + "/" + conflistName)
	t.Logf("%s", data)
}

// TestNetnsNodeSync runs one full sync (CNI config, routes, masquerade) as node
// $KUBETM_NET_NODE of a two-node cluster; hack-style data-plane checks drive it (see README).
func TestNetnsNodeSync(t *testing.T) {
	requireNetns(t)
	self := os.Getenv("KUBETM_NET_NODE")
	if self == "" {
		t.Skip("KUBETM_NET_NODE not set")
	}
	mk := func(name, podCIDR, ip string) *corev1.Node {
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.NodeSpec{PodCIDR: podCIDR, PodCIDRs: []string{podCIDR}},
			Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}},
		}
	}
	nodes := []*corev1.Node{mk("a", "10.244.1.0/24", "172.18.0.2"), mk("b", "10.244.2.0/24", "172.18.0.3")}
	mode, _ := detectBackend()
	s := &syncer{nodeName: self, confDir: t.TempDir(), podSubnets: cidrs(t, "10.244.0.0/16"), ipt: runner{mode: mode}}
	if err := s.sync(nodes); err != nil {
		t.Fatal(err)
	}
}
