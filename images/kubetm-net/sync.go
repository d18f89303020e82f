package main

import (
	"errors"
	"fmt"
	"log"
	"net"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// syncer brings the node in line with the cluster's Nodes: CNI config, routes, masquerade,
// address containment. sync is level-triggered: every call recomputes everything from the full
// node list.
type syncer struct {
	nodeName       string
	hostIP         net.IP
	podSubnets     []*net.IPNet // POD_SUBNET, may be empty
	serviceSubnets []*net.IPNet // SERVICE_SUBNET, may be empty
	confDir        string
	ipt            runner

	mtu           int
	waitingLogged bool // "waiting for podCIDR" already logged
}

func (s *syncer) sync(nodes []*corev1.Node) error {
	var errs []error
	var infos []nodeInfo
	var self *nodeInfo
	for _, n := range nodes {
		info, _ := nodeInfoFrom(n) // bad values are logged by the event handlers, not retried
		infos = append(infos, info)
	}
	for i := range infos {
		if infos[i].Name == s.nodeName {
			self = &infos[i]
		}
	}

	// 1. CNI config for this node's pod CIDRs.
	if self == nil || len(self.PodCIDRs) == 0 {
		if !s.waitingLogged {
			log.Printf("waiting for node %s to get a podCIDR", s.nodeName)
			s.waitingLogged = true
		}
	} else {
		s.waitingLogged = false
		if err := s.syncConflist(self.PodCIDRs); err != nil {
			errs = append(errs, err)
		}
	}

	// 2. Routes to the other nodes' pod CIDRs, and unreachable routes for the pod subnets (both
	// without waiting for this node's podCIDR).
	if err := s.syncRoutes(infos); err != nil {
		errs = append(errs, err)
	}

	// 3. Masquerade of pod traffic leaving the cluster, per family this node has pods in.
	if self != nil {
		for _, v4 := range []bool{true, false} {
			var own []*net.IPNet
			for _, c := range self.PodCIDRs {
				if isV4(c.IP) == v4 {
					own = append(own, c)
				}
			}
			if len(own) == 0 {
				continue
			}
			rules := masqRules(noMasqCIDRs(v4, s.podSubnets, infos), own)
			changed, err := s.ipt.syncMasq(v4, rules)
			if err != nil {
				errs = append(errs, fmt.Errorf("masquerade (%s): %w", familyName(v4), err))
			} else if changed {
				log.Printf("masquerade %s (%s): %d no-masquerade destinations, pod CIDRs %v", masqChain, familyName(v4), len(rules)-len(own), own)
			}
		}
	}

	// 4. REJECT for Service addresses kube-proxy did not DNAT.
	if err := s.syncServiceReject(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *syncer) syncConflist(podCIDRs []*net.IPNet) error {
	if s.mtu == 0 {
		mtu, link := detectMTU(s.hostIP)
		s.mtu = mtu
		log.Printf("pod MTU %d (from interface %q)", mtu, link)
	}
	data, err := renderConflist(podCIDRs, s.mtu)
	if err != nil {
		return err
	}
	path := filepath.Join(s.confDir, conflistName)
	changed, err := writeFileIfChanged(path, data)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if changed {
		log.Printf("wrote %s: pod CIDRs %v, mtu %d", path, podCIDRs, s.mtu)
	}
	return nil
}

// syncRoutes makes kubetm-net's routes exactly the wanted ones: to every other node's pod CIDR
// and unreachable for the cluster pod subnets. Routes of ours no longer wanted are removed.
func (s *syncer) syncRoutes(infos []nodeInfo) error {
	current, err := listOwnRoutes()
	if err != nil {
		return err
	}
	gateways := desiredRoutes(s.nodeName, infos)
	replace, remove := diffRoutes(append(gateways, containRoutes(s.podSubnets, gateways)...), current)
	return applyRoutes(replace, remove)
}

func applyRoutes(replace, remove []routeSpec) error {
	var errs []error
	for _, r := range replace {
		if err := replaceRoute(r); err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r, err))
			continue
		}
		log.Printf("route added: %s", r)
	}
	for _, r := range remove {
		if err := deleteRoute(r); err != nil {
			errs = append(errs, fmt.Errorf("remove route %s: %w", r, err))
			continue
		}
		log.Printf("route removed: %s", r)
	}
	return errors.Join(errs...)
}

func familyName(v4 bool) string {
	if v4 {
		return "IPv4"
	}
	return "IPv6"
}
