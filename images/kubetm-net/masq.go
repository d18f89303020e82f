package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// masqChain is the nat chain holding the masquerade rules; POSTROUTING jumps to it.
const masqChain = "KUBETM-NET-MASQ"

// masqSpec is masqChain with its POSTROUTING jump, which sends traffic leaving the node (not to
// a local address) into it.
var masqSpec = chainSpec{table: "nat", name: masqChain, jumps: [][]string{
	{"POSTROUTING", "-m", "comment", "--comment", "kubetm-net pod egress masquerade",
		"-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", masqChain},
}}

// noMasqCIDRs returns the destinations that keep the pod's source address, for one address
// family: the cluster pod subnet(s), every node's pod CIDRs (covers a pod subnet that was not
// passed in) and every node's InternalIP as a host route (pod-to-node). CIDRs inside another
// entry are dropped; the result is sorted.
func noMasqCIDRs(v4 bool, podSubnets []*net.IPNet, nodes []nodeInfo) []*net.IPNet {
	var all []*net.IPNet
	add := func(n *net.IPNet) {
		if isV4(n.IP) == v4 {
			all = append(all, n)
		}
	}
	for _, s := range podSubnets {
		add(s)
	}
	for _, n := range nodes {
		for _, c := range n.PodCIDRs {
			add(c)
		}
		for _, ip := range n.InternalIPs {
			add(hostNet(ip))
		}
	}
	return minimalCIDRs(all)
}

func hostNet(ip net.IP) *net.IPNet {
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}
	}
	return &net.IPNet{IP: ip.To16(), Mask: net.CIDRMask(128, 128)}
}

// minimalCIDRs removes duplicates and CIDRs contained in another one, and sorts the rest
// (IPv4 first, then by address and prefix length).
func minimalCIDRs(in []*net.IPNet) []*net.IPNet {
	var out []*net.IPNet
	for i, a := range in {
		aOnes, _ := a.Mask.Size()
		covered := false
		for j, b := range in {
			if i == j {
				continue
			}
			bOnes, _ := b.Mask.Size()
			if isV4(a.IP) != isV4(b.IP) || !b.Contains(a.IP) || bOnes > aOnes {
				continue
			}
			// b covers a; among equal CIDRs keep only the first.
			if bOnes < aOnes || j < i {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if vi, vj := isV4(out[i].IP), isV4(out[j].IP); vi != vj {
			return vi // IPv4 first
		}
		if c := bytes.Compare(out[i].IP.To16(), out[j].IP.To16()); c != 0 {
			return c < 0
		}
		oi, _ := out[i].Mask.Size()
		oj, _ := out[j].Mask.Size()
		return oi < oj
	})
	return out
}

// masqRules returns the rules of masqChain, written exactly as `iptables -S` prints them:
// traffic to a no-masquerade destination returns; traffic from this node's pod CIDRs is
// masqueraded; everything else (not from a pod) falls through untouched.
func masqRules(noMasq, podCIDRs []*net.IPNet) []string {
	var rules []string
	for _, d := range noMasq {
		rules = append(rules, fmt.Sprintf("-A %s -d %s -j RETURN", masqChain, d))
	}
	for _, s := range podCIDRs {
		rules = append(rules, fmt.Sprintf("-A %s -s %s -j MASQUERADE", masqChain, s))
	}
	return rules
}

// chainSpec is one of kubetm-net's own iptables chains and the rules in built-in chains that
// jump to it.
type chainSpec struct {
	table, name string
	jumps       [][]string // each: the built-in chain, then the rule, as `iptables -C` takes it
	insert      bool       // jumps go to the top of their chain (-I) instead of the end (-A)
}

// chainRules picks the rules of chain out of `iptables -S <chain>` output.
func chainRules(chain, listing string) []string {
	var out []string
	for _, line := range strings.Split(listing, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-A "+chain+" ") {
			out = append(out, line)
		}
	}
	return out
}

// restoreInput is the iptables-restore --noflush input that (re)creates the chain with rules;
// declaring a user chain flushes it, so the chain ends up with exactly these rules.
func restoreInput(c chainSpec, rules []string) string {
	var b strings.Builder
	b.WriteString("*" + c.table + "\n:" + c.name + " - [0:0]\n")
	for _, r := range rules {
		b.WriteString(r + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// --- iptables backend (legacy or nft) ---

// countRules counts rule lines ("-A ...") in iptables-save output.
func countRules(save string) int {
	n := 0
	for _, line := range strings.Split(save, "\n") {
		if strings.HasPrefix(line, "-") {
			n++
		}
	}
	return n
}

func hasHintChain(save string) bool {
	for _, line := range strings.Split(save, "\n") {
		if strings.HasPrefix(line, ":KUBE-IPTABLES-HINT ") || line == ":KUBE-IPTABLES-HINT" {
			return true
		}
	}
	return false
}

// chooseBackend picks "legacy" or "nft" from the iptables-save outputs of both backends, the
// way kind's and Kubernetes' iptables wrappers do: the kubelet's KUBE-IPTABLES-HINT chain wins
// (nft first); otherwise the backend with more rules; a tie goes to legacy, as in kind's
// node entrypoint.
func chooseBackend(legacySave, nftSave string) (mode, reason string) {
	switch {
	case hasHintChain(nftSave):
		return "nft", "KUBE-IPTABLES-HINT in nft"
	case hasHintChain(legacySave):
		return "legacy", "KUBE-IPTABLES-HINT in legacy"
	}
	l, n := countRules(legacySave), countRules(nftSave)
	reason = fmt.Sprintf("%d legacy rules, %d nft rules", l, n)
	if n > l {
		return "nft", reason
	}
	return "legacy", reason
}

// runner executes iptables commands of one backend.
type runner struct {
	mode string // "legacy" or "nft"
}

func (r runner) bin(v4 bool, suffix string) string {
	name := "ip6tables-"
	if v4 {
		name = "iptables-"
	}
	return name + r.mode + suffix
}

type execError struct {
	cmd    string
	code   int
	stderr string
}

func (e *execError) Error() string {
	return fmt.Sprintf("%s: exit %d: %s", e.cmd, e.code, strings.TrimSpace(e.stderr))
}

func run(stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stdout.String(), &execError{cmd: name + " " + strings.Join(args, " "), code: ee.ExitCode(), stderr: stderr.String()}
		}
		return stdout.String(), fmt.Errorf("%s: %w", name, err)
	}
	return stdout.String(), nil
}

// detectBackend runs both backends' save commands (IPv4 and IPv6) and picks one.
func detectBackend() (mode, reason string) {
	save := func(mode string) string {
		var b strings.Builder
		for _, bin := range []string{"iptables-" + mode + "-save", "ip6tables-" + mode + "-save"} {
			out, _ := run("", bin) // a missing backend or family simply counts as no rules
			b.WriteString(out)
		}
		return b.String()
	}
	return chooseBackend(save("legacy"), save("nft"))
}

// syncMasq makes masqChain hold exactly rules and POSTROUTING jump to it, for one family. It
// reports whether anything changed.
func (r runner) syncMasq(v4 bool, rules []string) (bool, error) {
	return r.syncChain(v4, masqSpec, rules)
}

// syncChain makes c hold exactly rules and every jump to it exist, for one family. A jump is
// only checked for, not moved: one already anywhere in its chain stays where it is. It reports
// whether anything changed.
func (r runner) syncChain(v4 bool, c chainSpec, rules []string) (bool, error) {
	ipt := r.bin(v4, "")
	changed := false
	listing, err := run("", ipt, "-w", "5", "-t", c.table, "-S", c.name)
	var ee *execError
	if err != nil && !(errors.As(err, &ee) && ee.code == 1) { // exit 1: chain does not exist yet
		return false, err
	}
	if strings.Join(chainRules(c.name, listing), "\n") != strings.Join(rules, "\n") || err != nil {
		if _, err := run(restoreInput(c, rules), r.bin(v4, "-restore"), "-w", "5", "--noflush"); err != nil {
			return false, err
		}
		changed = true
	}
	add := "-A"
	if c.insert {
		add = "-I" // without a rule number: at position 1
	}
	for _, jump := range c.jumps {
		check := append([]string{"-w", "5", "-t", c.table, "-C"}, jump...)
		if _, err := run("", ipt, check...); err != nil {
			if !(errors.As(err, &ee) && ee.code == 1) { // exit 1: no such rule
				return changed, err
			}
			if _, err := run("", ipt, append([]string{"-w", "5", "-t", c.table, add}, jump...)...); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	return changed, nil
}
