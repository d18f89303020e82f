package main

import (
	"errors"
	"fmt"
	"log"
	"net"
)

// Address containment: traffic to a cluster pod or Service address that nothing on the node
// handles must fail in the node instead of leaving through its default route. Otherwise a
// connection to a ClusterIP that kube-proxy has not programmed yet (the API server reaching
// metrics-server right after start-up) leaves the machine, and whatever answers outside keeps a
// pooled connection. Pod addresses get unreachable routes (containRoutes, part of syncRoutes);
// Service addresses a REJECT in filter OUTPUT and FORWARD, which only sees packets that
// kube-proxy's nat DNAT did not rewrite. A route for the Service subnet would not do: a node's
// own connection is routed before nat OUTPUT, so it would also stop host-network clients (the
// API server) from reaching Services that are programmed.

// containChain is the filter chain holding the Service REJECT rules.
const containChain = "KUBETM-NET-CONTAIN"

const containComment = "kubetm-net: reject Service addresses kube-proxy did not DNAT"

// containSpec is containChain with its jumps, inserted at the top of OUTPUT (the node's own
// connections, host-network pods included) and FORWARD (pods): what reaches filter has already
// been DNATed, so placing them before kube-proxy's filter rules only catches unrewritten
// Service addresses.
var containSpec = chainSpec{table: "filter", name: containChain, insert: true, jumps: [][]string{
	{"OUTPUT", "-m", "comment", "--comment", containComment, "-j", containChain},
	{"FORWARD", "-m", "comment", "--comment", containComment, "-j", containChain},
}}

// containRules returns the rules of containChain for one address family, written exactly as
// `iptables -S` prints them (it adds the default --reject-with): a REJECT per Service subnet.
// Port unreachable is what kube-proxy answers for a Service without endpoints too.
func containRules(v4 bool, serviceSubnets []*net.IPNet) []string {
	reject := "icmp6-port-unreachable"
	if v4 {
		reject = "icmp-port-unreachable"
	}
	var rules []string
	for _, s := range minimalCIDRs(serviceSubnets) {
		if isV4(s.IP) == v4 {
			rules = append(rules, fmt.Sprintf("-A %s -d %s -j REJECT --reject-with %s", containChain, s, reject))
		}
	}
	return rules
}

// syncServiceReject makes containChain reject the Service subnets, per family that has one. A
// family without a Service subnet is left alone (ip6tables may not even work on the node).
func (s *syncer) syncServiceReject() error {
	var errs []error
	for _, v4 := range []bool{true, false} {
		rules := containRules(v4, s.serviceSubnets)
		if len(rules) == 0 {
			continue
		}
		changed, err := s.ipt.syncChain(v4, containSpec, rules)
		if err != nil {
			errs = append(errs, fmt.Errorf("service containment (%s): %w", familyName(v4), err))
		} else if changed {
			log.Printf("service containment %s (%s): REJECT %d subnet(s), jumped to from OUTPUT and FORWARD", containChain, familyName(v4), len(rules))
		}
	}
	return errors.Join(errs...)
}

// containEarly puts the address containment in place before the node list is known: after a
// node restart the API server can take a while, and the containment matters most in that window,
// before kube-proxy has programmed the Services. It only adds routes; removing stale ones needs
// the node list and is left to sync.
func (s *syncer) containEarly() error {
	var errs []error
	if current, err := listOwnRoutes(); err != nil {
		errs = append(errs, err)
	} else {
		replace, _ := diffRoutes(containRoutes(s.podSubnets, current), current)
		errs = append(errs, applyRoutes(replace, nil))
	}
	errs = append(errs, s.syncServiceReject())
	return errors.Join(errs...)
}
