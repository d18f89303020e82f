package main

// The provisioner's decisions, kept free of I/O so they are unit-tested: which node gets a new
// volume, how much room each node has left, and the PersistentVolume object itself.

import (
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// Name is the provisioner name StorageClasses refer to.
	Name = "kubetm.io/hostpath"
	// annNode records on each PV the node that holds its directory.
	annNode = "kubetm.io/hostpath-node"
	// ParamCapacity is the StorageClass parameter that caps what one node holds.
	ParamCapacity = "capacityPerNode"
	hostnameKey   = "kubernetes.io/hostname"
)

// Config is what the flags set.
type Config struct {
	BaseDir     string            // directory on each node that holds the volumes
	Capacity    resource.Quantity // per-node capacity when the class does not say
	HelperImage string            // image of the helper pod that removes a volume's directory
	Namespace   string            // where helper pods run
}

// NodeRoom is one candidate node and how much of its capacity is already provisioned.
type NodeRoom struct {
	Name string
	Used resource.Quantity
}

// capacityOf reads the class's capacityPerNode parameter, else the configured default.
func capacityOf(params map[string]string, def resource.Quantity) (resource.Quantity, error) {
	for k, v := range params {
		switch k {
		case ParamCapacity:
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return def, fmt.Errorf("StorageClass parameter %s=%q is not a quantity: %v", k, v, err)
			}
			return q, nil
		default:
			return def, fmt.Errorf("unknown StorageClass parameter %q (only %s is accepted)", k, ParamCapacity)
		}
	}
	return def, nil
}

// eligibleNodes are the nodes a volume may land on: schedulable, Ready, not control-plane
// (the course's volumes live on the workers k8s-node1/k8s-node2).
func eligibleNodes(nodes []v1.Node) []string {
	var out []string
	for _, n := range nodes {
		if n.Spec.Unschedulable {
			continue
		}
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
			continue
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
				ready = true
			}
		}
		if ready {
			out = append(out, n.Name)
		}
	}
	sort.Strings(out)
	return out
}

// usage sums the capacity of this provisioner's PVs per node.
func usage(pvs []v1.PersistentVolume) map[string]resource.Quantity {
	used := map[string]resource.Quantity{}
	for _, pv := range pvs {
		node := pv.Annotations[annNode]
		if node == "" {
			continue
		}
		q := used[node]
		q.Add(pv.Spec.Capacity[v1.ResourceStorage])
		used[node] = q
	}
	return used
}

// pickNode returns the node with the most room left that can hold want (ties: by name), or an
// error that names every node's free room. selected (late binding) restricts the choice to it.
func pickNode(candidates []string, used map[string]resource.Quantity, capacity, want resource.Quantity, selected string) (string, error) {
	if selected != "" {
		candidates = []string{selected}
	}
	if len(candidates) == 0 {
		return "", fmt.Errorf("no schedulable Ready worker node to put the volume on")
	}
	best, bestFree := "", resource.Quantity{}
	var rooms []string
	for _, n := range candidates {
		free := capacity.DeepCopy()
		u := used[n]
		free.Sub(u)
		rooms = append(rooms, fmt.Sprintf("%s %s free", n, free.String()))
		if free.Cmp(want) >= 0 && (best == "" || free.Cmp(bestFree) > 0) {
			best, bestFree = n, free
		}
	}
	if best == "" {
		return "", fmt.Errorf("not enough room: the claim asks for %s, each node holds %s (%s)",
			want.String(), capacity.String(), strings.Join(rooms, ", "))
	}
	return best, nil
}

// volumePath is the volume's directory on its node.
func volumePath(base, pvName string) string { return path.Join(base, pvName) }

// buildPV is the PersistentVolume for claim on node: a hostPath directory the kubelet creates
// (DirectoryOrCreate), pinned to the node by node affinity so pods land where the data is.
func buildPV(cfg Config, pvName, node string, pvc *v1.PersistentVolumeClaim, reclaim v1.PersistentVolumeReclaimPolicy, class string) *v1.PersistentVolume {
	dirType := v1.HostPathDirectoryOrCreate
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        pvName,
			Annotations: map[string]string{annNode: node},
		},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   pvc.Spec.AccessModes,
			StorageClassName:              class,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: pvc.Spec.Resources.Requests[v1.ResourceStorage]},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: volumePath(cfg.BaseDir, pvName), Type: &dirType},
			},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: hostnameKey, Operator: v1.NodeSelectorOpIn, Values: []string{node},
				}}}},
			}},
		},
	}
}

// Helper pod actions: make a volume's directory (mode 0777, as local-path-provisioner does, so a
// pod running as any user can write to it: the kubelet's DirectoryOrCreate makes it 0755 root),
// or remove it.
const (
	actionCreate = "create"
	actionDelete = "delete"
)

func helperCommand(action, dir string) []string {
	if action == actionCreate {
		return []string{"sh", "-c", fmt.Sprintf("mkdir -p %[1]s && chmod 0777 %[1]s", dir)}
	}
	return []string{"rm", "-rf", "--one-file-system", dir}
}

// helperPod makes or removes a volume's directory on its node: pinned there, the base directory
// mounted.
func helperPod(cfg Config, pv *v1.PersistentVolume, action string) (*v1.Pod, error) {
	node := pv.Annotations[annNode]
	if node == "" || pv.Spec.HostPath == nil {
		return nil, fmt.Errorf("PV %s was not made by %s (no %s annotation or no hostPath)", pv.Name, Name, annNode)
	}
	dir := pv.Spec.HostPath.Path
	if path.Dir(dir) != path.Clean(cfg.BaseDir) || path.Base(dir) != pv.Name {
		return nil, fmt.Errorf("PV %s: refusing to %s %s, which is not %s", pv.Name, action, dir, volumePath(cfg.BaseDir, pv.Name))
	}
	dirType := v1.HostPathDirectoryOrCreate
	zero := int64(0)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      action + "-" + pv.Name,
			Namespace: cfg.Namespace,
			Labels:    map[string]string{"app.kubernetes.io/name": "kubetm-provisioner-helper"},
		},
		Spec: v1.PodSpec{
			RestartPolicy:                 v1.RestartPolicyNever,
			NodeName:                      node,
			TerminationGracePeriodSeconds: &zero,
			Tolerations:                   []v1.Toleration{{Operator: v1.TolerationOpExists}},
			Containers: []v1.Container{{
				Name:            action,
				Image:           cfg.HelperImage,
				ImagePullPolicy: v1.PullIfNotPresent,
				Command:         helperCommand(action, path.Join("/base", pv.Name)),
				VolumeMounts:    []v1.VolumeMount{{Name: "base", MountPath: "/base"}},
			}},
			Volumes: []v1.Volume{{Name: "base", VolumeSource: v1.VolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: cfg.BaseDir, Type: &dirType},
			}}},
		},
	}, nil
}
