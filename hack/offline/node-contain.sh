#!/bin/sh
# Installed in the offline node image as /usr/local/sbin/kubetm-contain and run by
# kubetm-contain.service at every boot of the node container, before containerd and the kubelet:
# pod and Service addresses must never leave the node by its default route (see
# kubetm/cluster.py _contain_cluster_addresses, which does the same once from outside at
# `cluster up`). A node container that restarts (docker restart, the replicaset lab's node-down
# check) starts with an empty network namespace; without this, the API server's first calls to
# metrics-server's ClusterIP, made before kube-proxy programmed it, went out and got answers from
# outside, and it served 404 for metrics.k8s.io (and namespace deletion hung) until restarted.
#
# The subnets come from kind's /kind/kubeadm.conf; on the very first boot it does not exist yet
# and `kubetm cluster up` applies the rules itself. Idempotent: rules are checked before added.
conf=/kind/kubeadm.conf
[ -r "$conf" ] || { echo "kubetm-contain: $conf not written yet (first boot): nothing to do"; exit 0; }
value() { sed -n "s/^ *$1: *//p" "$conf" | head -n 1 | tr -d "\"' " | tr ',' ' '; }
pods=$(value podSubnet)
services=$(value serviceSubnet)
for net in $pods; do
  case $net in *:*) ip -6 route replace unreachable "$net" ;; *) ip route replace unreachable "$net" ;; esac
done
for net in $services; do
  case $net in *:*) ipt=ip6tables ;; *) ipt=iptables ;; esac
  for chain in OUTPUT FORWARD; do
    $ipt -C "$chain" -d "$net" -j REJECT 2>/dev/null || $ipt -I "$chain" -d "$net" -j REJECT
  done
done
echo "kubetm-contain: unreachable: ${pods:-none}; REJECT (filter OUTPUT, FORWARD): ${services:-none}"
