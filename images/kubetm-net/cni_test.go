package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestRenderConflistIPv4(t *testing.T) {
	got, err := renderConflist(cidrs(t, "10.244.1.0/24"), 1500)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "cniVersion": "0.4.0",
  "name": "kubetm-net",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": 1500,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "ranges": [
          [
            {
              "subnet": "10.244.1.0/24"
            }
          ]
        ],
        "routes": [
          {
            "dst": "0.0.0.0/0"
          }
        ]
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      },
      "snat": true
    }
  ]
}
`
	if string(got) != want {
		t.Errorf("conflist:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderConflistDualStack(t *testing.T) {
	got, err := renderConflist(cidrs(t, "10.244.2.0/24", "fd00:10:244:2::/64"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Plugins []struct {
			Type string `json:"type"`
			MTU  *int   `json:"mtu"`
			IPAM struct {
				Ranges [][]struct{ Subnet string } `json:"ranges"`
				Routes []struct{ Dst string }      `json:"routes"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(got, &conf); err != nil {
		t.Fatal(err)
	}
	p := conf.Plugins[0]
	if p.Type != "ptp" || p.MTU != nil {
		t.Errorf("ptp plugin: %+v (mtu 0 must be left out)", p)
	}
	if len(p.IPAM.Ranges) != 2 || p.IPAM.Ranges[0][0].Subnet != "10.244.2.0/24" || p.IPAM.Ranges[1][0].Subnet != "fd00:10:244:2::/64" {
		t.Errorf("ranges: %+v", p.IPAM.Ranges)
	}
	if len(p.IPAM.Routes) != 2 || p.IPAM.Routes[0].Dst != "0.0.0.0/0" || p.IPAM.Routes[1].Dst != "::/0" {
		t.Errorf("routes: %+v", p.IPAM.Routes)
	}
	if conf.Plugins[1].Type != "portmap" {
		t.Errorf("second plugin: %+v", conf.Plugins[1])
	}
}

func TestRenderConflistNoCIDR(t *testing.T) {
	if _, err := renderConflist(nil, 1500); err == nil {
		t.Error("want an error without a pod CIDR")
	}
}

func TestWriteFileIfChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net.d", conflistName)
	for i, tc := range []struct {
		data    string
		changed bool
	}{{"a", true}, {"a", false}, {"b", true}} {
		changed, err := writeFileIfChanged(path, []byte(tc.data))
		if err != nil {
			t.Fatal(err)
		}
		if changed != tc.changed {
			t.Errorf("step %d: changed=%v, want %v", i, changed, tc.changed)
		}
		if got, _ := os.ReadFile(path); string(got) != tc.data {
			t.Errorf("step %d: file holds %q", i, got)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
}
