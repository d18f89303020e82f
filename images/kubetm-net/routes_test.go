package main

import (
	"net"
	"reflect"
	"testing"
)

func routeStrings(rs []routeSpec) []string {
	var out []string
	for _, r := range rs {
		if r.Unreachable {
			out = append(out, "unreachable "+r.Dst.String())
			continue
		}
		out = append(out, r.Dst.String()+" via "+r.Gw.String())
	}
	return out
}

func TestDesiredRoutes(t *testing.T) {
	nodes := []nodeInfo{
		node(t, "kubetm-worker2", []string{"10.244.2.0/24"}, "172.18.0.4"),
		node(t, "kubetm-control-plane", []string{"10.244.0.0/24"}, "172.18.0.3"),
		node(t, "kubetm-worker", []string{"10.244.1.0/24"}, "172.18.0.2"),
		node(t, "no-cidr-yet", nil, "172.18.0.5"),
		node(t, "no-ip-yet", []string{"10.244.9.0/24"}),
		node(t, "dual", []string{"10.244.3.0/24", "fd00:10:244:3::/64"}, "fd00::6", "172.18.0.6"),
		node(t, "v4-only-ip", []string{"fd00:10:244:4::/64"}, "172.18.0.7"), // no IPv6 address: no route
		node(t, "steals-mine", []string{"10.244.1.0/24"}, "172.18.0.8"),
	}
	got := routeStrings(desiredRoutes("kubetm-worker", nodes))
	want := []string{
		"10.244.0.0/24 via 172.18.0.3",
		"10.244.2.0/24 via 172.18.0.4",
		"10.244.3.0/24 via 172.18.0.6",
		"fd00:10:244:3::/64 via fd00::6",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes:\n%v\nwant\n%v", got, want)
	}
}

func TestDesiredRoutesDuplicateCIDRFirstNodeWins(t *testing.T) {
	nodes := []nodeInfo{
		node(t, "b", []string{"10.244.5.0/24"}, "172.18.0.11"),
		node(t, "a", []string{"10.244.5.0/24"}, "172.18.0.10"),
	}
	got := routeStrings(desiredRoutes("self", nodes))
	if want := []string{"10.244.5.0/24 via 172.18.0.10"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDiffRoutes(t *testing.T) {
	r := func(dst, gw string) routeSpec { return routeSpec{Dst: cidr(t, dst), Gw: net.ParseIP(gw)} }
	desired := []routeSpec{
		r("10.244.0.0/24", "172.18.0.3"), // present, same gateway: untouched
		r("10.244.2.0/24", "172.18.0.9"), // present with another gateway: replaced
		r("10.244.3.0/24", "172.18.0.6"), // new node: added
	}
	current := []routeSpec{
		r("10.244.0.0/24", "172.18.0.3"),
		r("10.244.2.0/24", "172.18.0.4"),
		r("10.244.7.0/24", "172.18.0.7"), // deleted node: removed
	}
	replace, remove := diffRoutes(desired, current)
	if got, want := routeStrings(replace), []string{"10.244.2.0/24 via 172.18.0.9", "10.244.3.0/24 via 172.18.0.6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("replace %v, want %v", got, want)
	}
	if got, want := routeStrings(remove), []string{"10.244.7.0/24 via 172.18.0.7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("remove %v, want %v", got, want)
	}
	replace, remove = diffRoutes(desired, desired)
	if len(replace)+len(remove) != 0 {
		t.Errorf("in sync but replace=%v remove=%v", replace, remove)
	}
	_, remove = diffRoutes(nil, current)
	if len(remove) != 3 {
		t.Errorf("no nodes left: remove %v", remove)
	}
}
