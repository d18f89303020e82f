// kubetm-net is the pod network daemon of kubetm's offline kind cluster: kind's default-CNI
// slot, doing kindnetd's job. One pod per node (DaemonSet, host network) watches the Nodes and
//   - writes /etc/cni/net.d/10-kubetm-net.conflist (ptp + host-local + portmap) for its node's
//     podCIDR, which makes the node Ready;
//   - routes every other node's podCIDR via that node's InternalIP;
//   - masquerades pod traffic that leaves the cluster (nat chain KUBETM-NET-MASQ);
//   - contains the cluster's addresses, so traffic to a pod or Service address that nothing on
//     the node handles fails there instead of leaving by the default route: an unreachable
//     route per pod subnet (pod /32s and node routes are more specific) and a REJECT of the
//     Service subnets in filter OUTPUT/FORWARD (chain KUBETM-NET-CONTAIN, after kube-proxy's
//     DNAT). This is in place at start-up, before the node list is known, and kept every sync.
//
// Environment: NODE_NAME (required in a pod; falls back to the hostname), HOST_IP, POD_SUBNET
// and SERVICE_SUBNET (comma-separated cluster pod / Service subnet(s); each kind of address is
// only contained when its subnet is given), CONTROL_PLANE_ENDPOINT (host:port; kind adds it so
// the daemon need not wait for kube-proxy's Service rules).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const version = "v0.1.0"

func main() {
	confDir := flag.String("cni-conf-dir", "/etc/cni/net.d", "directory the CNI config is written to")
	resync := flag.Duration("resync", 30*time.Second, "full re-sync period")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("kubetm-net", version)
		return
	}
	log.SetFlags(log.LstdFlags | log.LUTC)
	if err := runDaemon(*confDir, *resync); err != nil {
		log.Fatalf("kubetm-net: %v", err)
	}
}

func runDaemon(confDir string, resync time.Duration) error {
	s, err := newSyncerFromEnv(confDir)
	if err != nil {
		return err
	}
	if err := s.containEarly(); err != nil {
		log.Printf("address containment: %v (retried at every sync)", err)
	}
	config, err := clientConfig()
	if err != nil {
		return err
	}
	client, err := corev1client.NewForConfig(config)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	trigger := make(chan struct{}, 1)
	kick := func() {
		select {
		case trigger <- struct{}{}:
		default: // a sync is already pending; it will see this change too
		}
	}
	// One informer on Nodes; every event (and the periodic resync) only requests a full sync.
	lw := cache.NewListWatchFromClient(client.RESTClient(), "nodes", metav1.NamespaceAll, fields.Everything())
	informer := cache.NewSharedIndexInformer(lw, &corev1.Node{}, resync, cache.Indexers{})
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				info, bad := nodeInfoFrom(n)
				log.Printf("node %s: podCIDRs %v, InternalIPs %v", n.Name, info.PodCIDRs, info.InternalIPs)
				logBad(bad)
			}
			kick()
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Node)
			n, ok2 := newObj.(*corev1.Node)
			if ok1 && ok2 {
				oi, _ := nodeInfoFrom(o)
				ni, bad := nodeInfoFrom(n)
				if !sameNetworkView(oi, ni) {
					log.Printf("node %s changed: podCIDRs %v, InternalIPs %v", n.Name, ni.PodCIDRs, ni.InternalIPs)
					logBad(bad)
				}
			}
			kick() // also the periodic resync: re-check routes, config and rules
		},
		DeleteFunc: func(obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				log.Printf("node %s deleted", n.Name)
			} else if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				log.Printf("node %s deleted", t.Key)
			}
			kick()
		},
	}); err != nil {
		return fmt.Errorf("node informer: %w", err)
	}
	go informer.RunWithContext(ctx)
	log.Printf("kubetm-net %s on node %s: waiting for the node list", version, s.nodeName)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("node informer did not sync")
	}
	kick()
	for {
		select {
		case <-ctx.Done():
			log.Printf("kubetm-net: stopping (routes, rules and CNI config stay in place)")
			return nil
		case <-trigger:
		}
		var nodes []*corev1.Node
		for _, obj := range informer.GetStore().List() {
			if n, ok := obj.(*corev1.Node); ok {
				nodes = append(nodes, n)
			}
		}
		if err := s.sync(nodes); err != nil {
			log.Printf("sync failed, retrying in 5s: %v", err)
			time.AfterFunc(5*time.Second, kick)
		}
	}
}

func logBad(errs []error) {
	for _, err := range errs {
		log.Printf("ignoring %v", err)
	}
}

func newSyncerFromEnv(confDir string) (*syncer, error) {
	s := &syncer{nodeName: os.Getenv("NODE_NAME"), confDir: confDir}
	if s.nodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("NODE_NAME is not set and no hostname: %w", err)
		}
		s.nodeName = h
	}
	if v := os.Getenv("HOST_IP"); v != "" {
		s.hostIP = net.ParseIP(v)
		if s.hostIP == nil {
			log.Printf("ignoring HOST_IP %q: not an IP address", v)
		}
	}
	// The node pod CIDRs still keep pod-to-pod traffic unmasqueraded without POD_SUBNET; only the
	// containment of that kind of address is lost.
	s.podSubnets = cidrListEnv("POD_SUBNET")
	s.serviceSubnets = cidrListEnv("SERVICE_SUBNET")
	mode, reason := detectBackend()
	s.ipt = runner{mode: mode}
	log.Printf("iptables backend %s (%s); POD_SUBNET %v; SERVICE_SUBNET %v; HOST_IP %v", mode, reason, s.podSubnets, s.serviceSubnets, s.hostIP)
	return s, nil
}

// cidrListEnv parses the comma-separated CIDR list in the environment variable name. Unset,
// empty, unrendered ("{{ .PodSubnet }}" if kind did not template the manifest) and unparsable
// values give nil; the last is logged.
func cidrListEnv(name string) []*net.IPNet {
	v := os.Getenv(name)
	if v == "" || strings.Contains(v, "{{") {
		return nil
	}
	subnets, err := parseCIDRList(v)
	if err != nil {
		log.Printf("ignoring %s %q: %v", name, v, err)
		return nil
	}
	return subnets
}

// clientConfig is the in-cluster config, pointed at CONTROL_PLANE_ENDPOINT when that is set and
// answers (the Service VIP only works once kube-proxy runs).
func clientConfig() (*rest.Config, error) {
	config, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		for attempt := 1; attempt <= 5; attempt++ {
			conn, err := net.DialTimeout("tcp", ep, 2*time.Second)
			if err == nil {
				conn.Close()
				config.Host = "https://" + ep
				break
			}
			log.Printf("control plane endpoint %s not reachable (attempt %d/5): %v", ep, attempt, err)
			time.Sleep(time.Second)
		}
	}
	log.Printf("API server %s", config.Host)
	config.UserAgent = "kubetm-net/" + version
	return config, nil
}
