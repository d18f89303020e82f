//go:build netns

// Integration test against the real kernel, for a throwaway network namespace only:
//
//	go test -c -tags netns -o /tmp/kubetm-net.test && unshare -n /tmp/kubetm-net.test -test.v
//
// It refuses to run unless KUBETM_NET_NETNS_TEST=1, so it never touches a real node's network.
package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

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
		if got := chainRules(masqChain, string(out)); strings.Join(got, "\n") != strings.Join(fewer, "\n") {
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

// TestNetnsContain checks the address containment against the real kernel: unreachable routes
// for the pod subnets next to the node routes, kept across syncs, and the Service REJECT in
// both iptables backends, with connections that would otherwise leave by the default route.
func TestNetnsContain(t *testing.T) {
	requireNetns(t)
	lo, _ := netlink.LinkByName("lo")
	_ = netlink.LinkSetUp(lo)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth8"}, PeerName: "eth8peer"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	l, _ := netlink.LinkByName("eth8")
	addr, _ := netlink.ParseAddr("172.19.0.2/16")
	if err := netlink.AddrAdd(l, addr); err != nil {
		t.Fatal(err)
	}
	_ = netlink.LinkSetUp(l)
	peer, _ := netlink.LinkByName("eth8peer")
	_ = netlink.LinkSetUp(peer)
	// Nothing answers behind the default route: without containment a connection hangs.
	if err := netlink.RouteAdd(&netlink.Route{Gw: net.ParseIP("172.19.0.1")}); err != nil {
		t.Fatal(err)
	}
	defer netlink.RouteDel(&netlink.Route{Gw: net.ParseIP("172.19.0.1")})
	// What an older kubetm did with `ip route replace unreachable 10.244.0.0/16` (proto boot).
	if err := netlink.RouteAdd(&netlink.Route{Dst: cidr(t, "10.244.0.0/16"), Type: syscall.RTN_UNREACHABLE}); err != nil {
		t.Fatal(err)
	}
	if err := (&syncer{}).syncRoutes(nil); err != nil { // earlier tests' routes
		t.Fatal(err)
	}
	mode, _ := detectBackend()
	s := &syncer{nodeName: "w1", podSubnets: cidrs(t, "10.244.0.0/16", "fd00:10:244::/56"),
		serviceSubnets: cidrs(t, "10.96.0.0/16", "fd00:10:96::/112"), ipt: runner{mode: mode}}
	own := func() []string {
		got, err := listOwnRoutes()
		if err != nil {
			t.Fatal(err)
		}
		out := routeStrings(got)
		sort.Strings(out)
		return out
	}
	if err := s.containEarly(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(own(), ","); got != "unreachable 10.244.0.0/16,unreachable fd00:10:244::/56" {
		t.Fatalf("own routes after containEarly: %s", got)
	}
	if all, _ := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: cidr(t, "10.244.0.0/16")}, netlink.RT_FILTER_DST); len(all) != 1 {
		t.Errorf("routes to 10.244.0.0/16: %v, want only ours (the proto boot one replaced)", all)
	}
	nodes := []nodeInfo{
		node(t, "w1", []string{"10.244.1.0/24"}, "172.19.0.2"),
		node(t, "w2", []string{"10.244.2.0/24"}, "172.19.0.3"),
	}
	if err := s.syncRoutes(nodes); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "route", "show", "proto", "77").CombinedOutput()
	t.Logf("ip route show proto 77:\n%s", out)
	current, _ := listOwnRoutes()
	gateways := desiredRoutes(s.nodeName, nodes)
	if replace, remove := diffRoutes(append(gateways, containRoutes(s.podSubnets, gateways)...), current); len(replace)+len(remove) != 0 {
		t.Errorf("not in sync after syncRoutes: replace %v remove %v (own %v)", replace, remove, routeStrings(current))
	}
	if err := s.syncRoutes(nodes); err != nil { // again: nothing removed
		t.Fatal(err)
	}
	if got := len(own()); got != 3 {
		t.Errorf("%d own routes after a second sync, want 3: %v", got, own())
	}
	if r, err := netlink.RouteGet(net.ParseIP("10.244.2.5")); err != nil || !r[0].Gw.Equal(net.ParseIP("172.19.0.3")) {
		t.Errorf("10.244.2.5 must go via node w2: %v %v", r, err)
	}
	dial := func(addr string) error {
		c, err := net.DialTimeout("tcp", addr, time.Second) // shorter than a failed ARP (about 3 s)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial("10.244.9.9:80"); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("unassigned pod address: %v, want no route to host", err)
	}

	for _, mode := range []string{"legacy", "nft"} {
		ipt := "iptables-" + mode
		_ = exec.Command(ipt, "-A", "OUTPUT", "-d", "192.0.2.1", "-j", "ACCEPT").Run() // someone else's rule
		s.ipt = runner{mode: mode}
		if err := s.syncServiceReject(); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		rules := containRules(true, s.serviceSubnets)
		for _, v4 := range []bool{true, false} {
			if changed, err := s.ipt.syncChain(v4, containSpec, containRules(v4, s.serviceSubnets)); err != nil || changed {
				t.Errorf("%s %s second sync must be a no-op: changed=%v err=%v", mode, familyName(v4), changed, err)
			}
		}
		out, _ := exec.Command(ipt+"-save", "-t", "filter").CombinedOutput()
		t.Logf("%s-save -t filter:\n%s", ipt, out)
		for _, chain := range []string{"OUTPUT", "FORWARD"} {
			listing, _ := exec.Command(ipt, "-S", chain).CombinedOutput()
			var lines []string // without nft's "# Warning: iptables-legacy tables present"
			for _, line := range strings.Split(strings.TrimSpace(string(listing)), "\n") {
				if !strings.HasPrefix(line, "#") {
					lines = append(lines, line)
				}
			}
			if len(lines) < 2 || !strings.HasSuffix(lines[1], "-j "+containChain) || strings.Count(string(listing), containChain) != 1 {
				t.Errorf("%s %s: want one jump to %s, first:\n%s", mode, chain, containChain, listing)
			}
		}
		if got := chainRules(containChain, string(out)); strings.Join(got, "\n") != strings.Join(rules, "\n") {
			t.Errorf("%s: chain holds %q", mode, got)
		}
		if err := dial("10.96.0.10:443"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s: unprogrammed Service address: %v, want connection refused", mode, err)
		}
		// Clear this backend so the next one is checked on its own (throwaway namespace).
		for _, bin := range []string{ipt, "ip6tables-" + mode} {
			_ = exec.Command(bin, "-F").Run()
			_ = exec.Command(bin, "-X").Run()
		}
	}

	// A subnet that is no longer a pod subnet loses its route; routes not ours stay.
	s.podSubnets = cidrs(t, "10.244.0.0/16")
	if err := s.syncRoutes(nodes); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(own(), ","); got != "10.244.2.0/24 via 172.19.0.3,unreachable 10.244.0.0/16" {
		t.Errorf("own routes after dropping the IPv6 subnet: %s", got)
	}
	// Leave no routes of ours behind for the other tests in this namespace.
	if err := s.syncRoutes(nil); err != nil {
		t.Fatal(err)
	}
	s.podSubnets = nil
	if err := s.syncRoutes(nil); err != nil || len(own()) != 0 {
		t.Errorf("cleanup: %v %v", err, own())
	}
}

// TestNetnsNodeSync runs one full sync (CNI config, routes, masquerade, containment) as node
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
	s := &syncer{nodeName: self, confDir: t.TempDir(), podSubnets: cidrs(t, "10.244.0.0/16"),
		serviceSubnets: cidrs(t, "10.96.0.0/16"), ipt: runner{mode: mode}}
	if err := s.sync(nodes); err != nil {
		t.Fatal(err)
	}
}
