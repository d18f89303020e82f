package main

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"syscall"

	"github.com/vishvananda/netlink"
)

// routeProtocol marks the routes kubetm-net installs (rtm_protocol), so it can find and remove
// its own routes after a restart without touching anyone else's. 77 is unassigned in
// /etc/iproute2/rt_protos; `ip route show proto 77` lists them.
const routeProtocol = netlink.RouteProtocol(77)

// routeSpec is one of kubetm-net's routes: to another node's pod CIDR via its address, or an
// unreachable route for a cluster pod subnet (no Gw).
type routeSpec struct {
	Dst         *net.IPNet
	Gw          net.IP
	Unreachable bool
	Node        string // for logs; empty for routes read from the kernel
}

func (r routeSpec) String() string {
	if r.Unreachable {
		return fmt.Sprintf("unreachable %s", r.Dst)
	}
	s := fmt.Sprintf("%s via %s", r.Dst, r.Gw)
	if r.Node != "" {
		s += " (node " + r.Node + ")"
	}
	return s
}

// desiredRoutes returns, for every node except self, a route to each of its pod CIDRs via its
// InternalIP of the same address family. Nodes without a pod CIDR or a matching InternalIP
// get no route. A CIDR already claimed (by self, or by an earlier node in name order) is
// skipped, so a misconfiguration never steals the local pods' range.
func desiredRoutes(self string, nodes []nodeInfo) []routeSpec {
	sorted := append([]nodeInfo(nil), nodes...)
	sortNodes(sorted)
	claimed := map[string]bool{}
	for _, n := range sorted {
		if n.Name == self {
			for _, c := range n.PodCIDRs {
				claimed[c.String()] = true
			}
		}
	}
	var out []routeSpec
	for _, n := range sorted {
		if n.Name == self {
			continue
		}
		for _, c := range n.PodCIDRs {
			gw := firstOfFamily(n.InternalIPs, isV4(c.IP))
			if gw == nil || claimed[c.String()] {
				continue
			}
			claimed[c.String()] = true
			out = append(out, routeSpec{Dst: c, Gw: gw, Node: n.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dst.String() < out[j].Dst.String() })
	return out
}

// containRoutes returns an unreachable route for each cluster pod subnet, so that traffic to a
// pod address no more specific route covers (the ptp plugin's per-pod /32s, the per-node routes
// of desiredRoutes) fails in the node instead of leaving by its default route. The kernel keys
// a route by its destination, so a subnet that a gateway route in routes already uses is
// skipped: that route must win.
func containRoutes(podSubnets []*net.IPNet, routes []routeSpec) []routeSpec {
	taken := map[string]bool{}
	for _, r := range routes {
		if !r.Unreachable && r.Dst != nil {
			taken[r.Dst.String()] = true
		}
	}
	var out []routeSpec
	for _, s := range minimalCIDRs(podSubnets) {
		if !taken[s.String()] {
			out = append(out, routeSpec{Dst: s, Unreachable: true})
		}
	}
	return out
}

// diffRoutes compares the wanted routes with the ones kubetm-net currently has in the kernel.
// replace: wanted routes that are missing, point at another gateway or are of the other kind
// (installed with a route replace, which also swaps them in place); remove: installed routes
// whose destination is no longer wanted (deleted nodes, changed pod CIDRs or pod subnets).
func diffRoutes(desired, current []routeSpec) (replace, remove []routeSpec) {
	cur := map[string]routeSpec{}
	for _, c := range current {
		if c.Dst != nil {
			cur[c.Dst.String()] = c
		}
	}
	want := map[string]bool{}
	for _, d := range desired {
		want[d.Dst.String()] = true
		if c, ok := cur[d.Dst.String()]; !ok || !c.Gw.Equal(d.Gw) || c.Unreachable != d.Unreachable {
			replace = append(replace, d)
		}
	}
	for _, c := range current {
		if c.Dst != nil && !want[c.Dst.String()] {
			remove = append(remove, c)
		}
	}
	return replace, remove
}

// listOwnRoutes reads the main-table routes carrying routeProtocol, both families.
func listOwnRoutes() ([]routeSpec, error) {
	filter := &netlink.Route{Protocol: routeProtocol}
	var routes []netlink.Route
	var err error
	for attempt := 0; attempt < 3; attempt++ { // a dump interrupted by a concurrent change is retried
		routes, err = netlink.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_PROTOCOL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []routeSpec
	for _, r := range routes {
		if r.Dst != nil {
			out = append(out, routeSpec{Dst: r.Dst, Gw: r.Gw, Unreachable: r.Type == syscall.RTN_UNREACHABLE})
		}
	}
	return out, nil
}

func replaceRoute(r routeSpec) error {
	// A replace also takes over a route to the same destination that is not ours, such as the
	// `ip route replace unreachable <pod subnet>` (proto boot) kubetm/cluster.py adds at creation.
	return netlink.RouteReplace(netlinkRoute(r))
}

func deleteRoute(r routeSpec) error {
	// Protocol in the request makes the kernel delete the route only if it is ours.
	return netlink.RouteDel(netlinkRoute(r))
}

func netlinkRoute(r routeSpec) *netlink.Route {
	if r.Unreachable {
		return &netlink.Route{Dst: r.Dst, Type: syscall.RTN_UNREACHABLE, Protocol: routeProtocol}
	}
	return &netlink.Route{Dst: r.Dst, Gw: r.Gw, Protocol: routeProtocol}
}

// detectMTU returns the MTU of the interface holding hostIP, else of the interface of the
// default route, else 1500.
func detectMTU(hostIP net.IP) (int, string) {
	if hostIP != nil {
		if links, err := netlink.LinkList(); err == nil {
			for _, l := range links {
				addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
				if err != nil {
					continue
				}
				for _, a := range addrs {
					if a.IP.Equal(hostIP) {
						return l.Attrs().MTU, l.Attrs().Name
					}
				}
			}
		}
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteList(nil, fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		for _, r := range routes {
			if r.LinkIndex <= 0 || (r.Dst != nil && !isDefaultDst(r.Dst)) {
				continue
			}
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				return l.Attrs().MTU, l.Attrs().Name
			}
		}
	}
	return 1500, ""
}

func isDefaultDst(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}
