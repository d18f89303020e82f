package main

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestContainRoutes(t *testing.T) {
	subnets := cidrs(t, "10.244.0.0/16", "fd00:10:244::/56", "10.244.0.0/16", "10.244.3.0/24", "10.250.0.0/16")
	gateways := []routeSpec{
		{Dst: cidr(t, "10.244.1.0/24"), Gw: net.ParseIP("172.18.0.2")}, // more specific: both stay
		{Dst: cidr(t, "10.250.0.0/16"), Gw: net.ParseIP("172.18.0.9")}, // same destination: the gateway route wins
		{Dst: cidr(t, "fd00:10:244::/56"), Unreachable: true},          // an unreachable route does not block one
	}
	got := routeStrings(containRoutes(subnets, gateways))
	// Duplicates and subnets inside another one need no route of their own.
	want := []string{"unreachable 10.244.0.0/16", "unreachable fd00:10:244::/56"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := containRoutes(nil, gateways); len(got) != 0 {
		t.Errorf("no POD_SUBNET: %v", got)
	}
	if s := (routeSpec{Dst: cidr(t, "10.244.0.0/16"), Unreachable: true}).String(); s != "unreachable 10.244.0.0/16" {
		t.Errorf("String() = %q", s)
	}
}

// The unreachable routes carry routeProtocol like the gateway routes and come back from
// listOwnRoutes: a sync must neither remove them nor add them again.
func TestDiffRoutesWithContainment(t *testing.T) {
	gw := func(dst, via string) routeSpec { return routeSpec{Dst: cidr(t, dst), Gw: net.ParseIP(via)} }
	unreach := func(dst string) routeSpec { return routeSpec{Dst: cidr(t, dst), Unreachable: true} }
	gateways := []routeSpec{gw("10.244.1.0/24", "172.18.0.2")}
	desired := append(gateways, containRoutes(cidrs(t, "10.244.0.0/16"), gateways)...)

	replace, remove := diffRoutes(desired, []routeSpec{gw("10.244.1.0/24", "172.18.0.2"), unreach("10.244.0.0/16")})
	if len(replace)+len(remove) != 0 {
		t.Errorf("in sync but replace=%v remove=%v", replace, remove)
	}
	// First sync: only the gateway route is ours (an older kubetm's proto boot route is not listed).
	replace, remove = diffRoutes(desired, []routeSpec{gw("10.244.1.0/24", "172.18.0.2")})
	if got := routeStrings(replace); !reflect.DeepEqual(got, []string{"unreachable 10.244.0.0/16"}) || len(remove) != 0 {
		t.Errorf("first sync: replace %v remove %v", got, remove)
	}
	// A pod subnet that is no longer one, and a route of ours of the wrong kind.
	replace, remove = diffRoutes(desired, []routeSpec{
		{Dst: cidr(t, "10.244.0.0/16")}, // proto 77 but neither unreachable nor via a gateway
		gw("10.244.1.0/24", "172.18.0.2"),
		unreach("10.99.0.0/16"),
	})
	if got := routeStrings(replace); !reflect.DeepEqual(got, []string{"unreachable 10.244.0.0/16"}) {
		t.Errorf("replace %v", got)
	}
	if got := routeStrings(remove); !reflect.DeepEqual(got, []string{"unreachable 10.99.0.0/16"}) {
		t.Errorf("remove %v", got)
	}
	// The other way round: a pod CIDR route to a node must replace an unreachable route.
	replace, _ = diffRoutes(gateways, []routeSpec{unreach("10.244.1.0/24")})
	if got := routeStrings(replace); !reflect.DeepEqual(got, []string{"10.244.1.0/24 via 172.18.0.2"}) {
		t.Errorf("gateway over unreachable: replace %v", got)
	}
}

func TestContainRulesAndChain(t *testing.T) {
	subnets := cidrs(t, "10.96.0.0/16", "fd00:10:96::/112", "10.96.0.0/16", "10.96.1.0/24")
	got := containRules(true, subnets)
	want := []string{"-A KUBETM-NET-CONTAIN -d 10.96.0.0/16 -j REJECT --reject-with icmp-port-unreachable"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IPv4 rules %q", got)
	}
	if got := containRules(false, subnets); !reflect.DeepEqual(got, []string{"-A KUBETM-NET-CONTAIN -d fd00:10:96::/112 -j REJECT --reject-with icmp6-port-unreachable"}) {
		t.Errorf("IPv6 rules %q", got)
	}
	if got := containRules(false, subnets[:1]); len(got) != 0 {
		t.Errorf("no IPv6 Service subnet: %q", got)
	}
	// What `iptables -t filter -S KUBETM-NET-CONTAIN` prints for that chain.
	listing := "-N KUBETM-NET-CONTAIN\n" + want[0] + "\n"
	if got := chainRules(containChain, listing); !reflect.DeepEqual(got, want) {
		t.Errorf("chainRules %q", got)
	}
	if got := chainRules(masqChain, listing); len(got) != 0 {
		t.Errorf("chainRules of another chain %q", got)
	}
	if input := restoreInput(containSpec, want); input != "*filter\n:KUBETM-NET-CONTAIN - [0:0]\n"+want[0]+"\nCOMMIT\n" {
		t.Errorf("restore input:\n%s", input)
	}
	// Jumps from OUTPUT (the node's own connections) and FORWARD (pods), at the top.
	if !containSpec.insert || len(containSpec.jumps) != 2 || containSpec.jumps[0][0] != "OUTPUT" || containSpec.jumps[1][0] != "FORWARD" {
		t.Errorf("jumps %q insert %v", containSpec.jumps, containSpec.insert)
	}
	for _, j := range containSpec.jumps {
		if j[len(j)-1] != containChain || !strings.Contains(strings.Join(j, " "), "--comment") {
			t.Errorf("jump %q", j)
		}
	}
	if masqSpec.insert {
		t.Error("the masquerade jump is appended to POSTROUTING, not inserted")
	}
}

func TestCIDRListEnv(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"", "[]"},
		{"{{ .ServiceSubnet }}", "[]"}, // not rendered by kind
		{"10.96.0.0/16,bogus", "[]"},
		{"10.96.0.0/16, fd00:10:96::/112", "[10.96.0.0/16 fd00:10:96::/112]"},
	} {
		t.Setenv("KUBETM_NET_TEST_SUBNET", tc.value)
		if got := cidrListEnv("KUBETM_NET_TEST_SUBNET"); fmt.Sprint(got) != tc.want {
			t.Errorf("%q: got %s, want %s", tc.value, fmt.Sprint(got), tc.want)
		}
	}
}
