package main

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// nodeInfo is the part of a Node the pod network cares about.
type nodeInfo struct {
	Name        string
	PodCIDRs    []*net.IPNet
	InternalIPs []net.IP
}

// nodeInfoFrom extracts the pod CIDRs (spec.podCIDRs, else spec.podCIDR) and InternalIPs of a
// Node. Unparsable values are skipped and reported in the returned errors.
func nodeInfoFrom(n *corev1.Node) (nodeInfo, []error) {
	info := nodeInfo{Name: n.Name}
	var errs []error
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		_, ipnet, err := net.ParseCIDR(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: bad podCIDR %q", n.Name, c))
			continue
		}
		info.PodCIDRs = append(info.PodCIDRs, ipnet)
	}
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip := net.ParseIP(a.Address)
		if ip == nil {
			errs = append(errs, fmt.Errorf("node %s: bad InternalIP %q", n.Name, a.Address))
			continue
		}
		info.InternalIPs = append(info.InternalIPs, ip)
	}
	return info, errs
}

// sameNetworkView reports whether two nodes have the same pod CIDRs and InternalIPs.
func sameNetworkView(a, b nodeInfo) bool {
	return fmt.Sprint(a.PodCIDRs) == fmt.Sprint(b.PodCIDRs) && fmt.Sprint(a.InternalIPs) == fmt.Sprint(b.InternalIPs)
}

func sortNodes(nodes []nodeInfo) {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
}

func isV4(ip net.IP) bool { return ip.To4() != nil }

// firstOfFamily returns the first address of the given family (v4 or not), or nil.
func firstOfFamily(ips []net.IP, v4 bool) net.IP {
	for _, ip := range ips {
		if isV4(ip) == v4 {
			return ip
		}
	}
	return nil
}

// parseCIDRList parses a comma-separated list such as POD_SUBNET ("10.244.0.0/16" or a
// dual-stack "10.244.0.0/16,fd00:10:244::/56"). Empty items are ignored.
func parseCIDRList(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		_, ipnet, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("bad CIDR %q", item)
		}
		out = append(out, ipnet)
	}
	return out, nil
}
