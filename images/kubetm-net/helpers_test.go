package main

import (
	"net"
	"testing"
)

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cidrs(t *testing.T, ss ...string) []*net.IPNet {
	var out []*net.IPNet
	for _, s := range ss {
		out = append(out, cidr(t, s))
	}
	return out
}

func node(t *testing.T, name string, podCIDRs []string, ips ...string) nodeInfo {
	n := nodeInfo{Name: name, PodCIDRs: cidrs(t, podCIDRs...)}
	for _, ip := range ips {
		n.InternalIPs = append(n.InternalIPs, net.ParseIP(ip))
	}
	return n
}
