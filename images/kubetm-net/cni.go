package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// conflistName is the file the daemon owns in the CNI config directory. The "10-" prefix makes
// it sort before anything a later tool might drop there (the runtime uses the first file).
const conflistName = "10-kubetm-net.conflist"

// ipamStateDir keeps host-local's leases in /run, so they do not outlive a node restart.
const ipamStateDir = "/run/cni-ipam-state"

type cniConflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type ptpPlugin struct {
	Type   string   `json:"type"`
	IPMasq bool     `json:"ipMasq"`
	MTU    int      `json:"mtu,omitempty"`
	IPAM   hostIPAM `json:"ipam"`
}

type hostIPAM struct {
	Type    string        `json:"type"`
	DataDir string        `json:"dataDir"`
	Ranges  [][]ipamRange `json:"ranges"`
	Routes  []ipamRoute   `json:"routes"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRoute struct {
	Dst string `json:"dst"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	SNAT         bool            `json:"snat"`
}

// renderConflist returns the CNI network config for a node with the given pod CIDRs: ptp (no
// masquerade; kubetm-net does that in iptables) with host-local IPAM over the node's pod
// CIDRs and a default route per address family, then portmap for hostPort. Same chain as
// kindnetd. mtu 0 leaves the plugin's default.
func renderConflist(podCIDRs []*net.IPNet, mtu int) ([]byte, error) {
	if len(podCIDRs) == 0 {
		return nil, errors.New("no pod CIDR")
	}
	ipam := hostIPAM{Type: "host-local", DataDir: ipamStateDir}
	haveV4, haveV6 := false, false
	for _, c := range podCIDRs {
		ipam.Ranges = append(ipam.Ranges, []ipamRange{{Subnet: c.String()}})
		if isV4(c.IP) {
			haveV4 = true
		} else {
			haveV6 = true
		}
	}
	if haveV4 {
		ipam.Routes = append(ipam.Routes, ipamRoute{Dst: "0.0.0.0/0"})
	}
	if haveV6 {
		ipam.Routes = append(ipam.Routes, ipamRoute{Dst: "::/0"})
	}
	conf := cniConflist{
		CNIVersion: "0.4.0",
		Name:       "kubetm-net",
		Plugins: []any{
			ptpPlugin{Type: "ptp", IPMasq: false, MTU: mtu, IPAM: ipam},
			portmapPlugin{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}, SNAT: true},
		},
	}
	out, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// writeFileIfChanged atomically replaces path with data (temp file in the same directory,
// fsync, rename) unless it already holds exactly data. It reports whether it wrote.
func writeFileIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	// The temp name does not end in .conf/.conflist/.json, so the runtime never loads it.
	tmp, err := os.CreateTemp(dir, ".kubetm-net-*.tmp")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("rename into %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return true, nil
}
