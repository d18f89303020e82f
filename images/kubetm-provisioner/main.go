// kubetm-provisioner: a dynamic provisioner for the kubetm course cluster that binds claims at
// once (volumeBindingMode Immediate), which kind's local-path provisioner cannot. Each volume is a
// directory <base-dir>/<pv-name> on one worker node, chosen when the claim is made (the node with
// the most room left under the per-node capacity); the PV carries node affinity to that node, so
// pods using the claim are scheduled there. Built on sigs.k8s.io/sig-storage-lib-external-provisioner.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

type hostPathProvisioner struct {
	client kubernetes.Interface
	cfg    Config
}

func (p *hostPathProvisioner) Provision(ctx context.Context, opts controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	if opts.PVC.Spec.Selector != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("claim selector is not supported")
	}
	capacity, err := capacityOf(opts.StorageClass.Parameters, p.cfg.Capacity)
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	nodes, err := p.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, controller.ProvisioningNoChange, err
	}
	pvs, err := p.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, controller.ProvisioningNoChange, err
	}
	want := opts.PVC.Spec.Resources.Requests[v1.ResourceStorage]
	node, err := pickNode(eligibleNodes(nodes.Items), usage(pvs.Items), capacity, want, opts.SelectedNodeName)
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if opts.StorageClass.ReclaimPolicy != nil {
		reclaim = *opts.StorageClass.ReclaimPolicy
	}
	klog.InfoS("provisioning", "pvc", klog.KObj(opts.PVC), "pv", opts.PVName, "node", node, "size", want.String())
	pv := buildPV(p.cfg, opts.PVName, node, opts.PVC, reclaim, opts.StorageClass.Name)
	if err := p.runHelper(ctx, pv, actionCreate); err != nil {
		return nil, controller.ProvisioningNoChange, err
	}
	return pv, controller.ProvisioningFinished, nil
}

// Delete removes the volume's directory on its node with a short helper pod, and waits for it.
func (p *hostPathProvisioner) Delete(ctx context.Context, pv *v1.PersistentVolume) error {
	if err := p.runHelper(ctx, pv, actionDelete); err != nil {
		return err
	}
	klog.InfoS("removed", "pv", pv.Name, "dir", pv.Spec.HostPath.Path, "node", pv.Annotations[annNode])
	return nil
}

// runHelper runs one helper pod (make or remove the volume's directory) on the volume's node and
// waits until it ends.
func (p *hostPathProvisioner) runHelper(ctx context.Context, pv *v1.PersistentVolume, action string) error {
	pod, err := helperPod(p.cfg, pv, action)
	if err != nil {
		return err
	}
	pods := p.client.CoreV1().Pods(pod.Namespace)
	_ = pods.Delete(ctx, pod.Name, metav1.DeleteOptions{}) // a leftover from an earlier attempt
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		return fmt.Errorf("old helper pod %s/%s still there: %v", pod.Namespace, pod.Name, err)
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating helper pod: %v", err)
	}
	defer func() { _ = pods.Delete(context.Background(), pod.Name, metav1.DeleteOptions{}) }()
	var phase v1.PodPhase
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		phase = got.Status.Phase
		return phase == v1.PodSucceeded || phase == v1.PodFailed, nil
	})
	if err != nil {
		return fmt.Errorf("helper pod (%s %s on %s) did not finish (phase %q): %v", action, pv.Spec.HostPath.Path, pv.Annotations[annNode], phase, err)
	}
	if phase == v1.PodFailed {
		return fmt.Errorf("helper pod failed to %s %s on %s", action, pv.Spec.HostPath.Path, pv.Annotations[annNode])
	}
	return nil
}

func main() {
	klog.InitFlags(nil)
	var cfg Config
	capacity := flag.String("capacity-per-node", "10Gi", "what one node holds when the StorageClass has no capacityPerNode parameter")
	flag.StringVar(&cfg.BaseDir, "base-dir", "/var/lib/kubetm-provisioner", "directory on each node that holds the volumes")
	flag.StringVar(&cfg.HelperImage, "helper-image", "kubetm.local/local-path-helper:bookworm", "image of the pod that removes a volume's directory")
	flag.StringVar(&cfg.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "namespace of the helper pods")
	flag.Parse()
	q, err := resource.ParseQuantity(*capacity)
	if err != nil {
		klog.Fatalf("--capacity-per-node: %v", err)
	}
	cfg.Capacity = q
	if cfg.Namespace == "" {
		cfg.Namespace = "kube-system"
	}
	restCfg, err := rest.InClusterConfig()
	if err != nil {
		klog.Fatalf("in-cluster config: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(restCfg)
	ctx := context.Background()
	pc := controller.NewProvisionController(ctx, client, Name, &hostPathProvisioner{client: client, cfg: cfg},
		controller.LeaderElection(true),
		controller.LeaderElectionNamespace(cfg.Namespace),
		controller.FailedProvisionThreshold(0),
		controller.ResyncPeriod(time.Minute),
	)
	klog.InfoS("starting", "provisioner", Name, "baseDir", cfg.BaseDir, "capacityPerNode", cfg.Capacity.String())
	pc.Run(ctx)
}
