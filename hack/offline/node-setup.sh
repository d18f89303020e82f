#!/usr/bin/env bash
# Runs INSIDE the node build container (see node-image.sh): the steps of kind's base-image
# Dockerfile, adapted to Debian's containerd/runc/CNI packages. Args: K8S_VERSION PAUSE_IMAGE
set -euo pipefail
k8s_version=$1 pause_image=$2
chmod 755 /kind/bin /kind/bin/* /usr/local/bin/* /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl /usr/bin/crictl
chown root:root /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl /usr/bin/crictl

# Debian installs containerd in /usr/bin and CNI plugins in /usr/lib/cni; kind expects these paths
ln -sf /usr/bin/containerd /usr/local/bin/containerd
mkdir -p /opt/cni/bin
for p in host-local loopback ptp portmap bridge; do cp /usr/lib/cni/$p /opt/cni/bin/$p; done

# systemd as PID 1 inside a container: only the units kind wants
find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
  /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
  /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>/etc/systemd/journald.conf
[ -e /sbin/init ] || ln -s "$(command -v systemd || echo /lib/systemd/systemd)" /sbin/init
chmod 755 /usr/local/sbin/kubetm-contain
systemctl enable kubelet.service containerd.service undo-mount-hacks.service kubetm-contain.service >/dev/null 2>&1
systemctl mask systemd-binfmt.service >/dev/null 2>&1
mkdir -p /etc/kubernetes/manifests /kind/manifests

# containerd: the sandbox image we ship, and the base OCI spec kind generates
sed -i "s|sandbox_image = .*|sandbox_image = \"$pause_image\"|" /etc/containerd/config.toml
ctr oci spec \
  | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
  | jq 'del(.process.rlimits)' >/etc/containerd/cri-base.json

# pods run through the kubetm runc shim: on machines without CAP_SYS_RESOURCE it drops what
# runc cannot grant (negative oom_score_adj of sandboxes, that capability); elsewhere a no-op
chmod 755 /usr/local/sbin/kubetm-runc
sed -i 's|^\(\s*\)SystemdCgroup = true|\1SystemdCgroup = true\n\1BinaryName = "/usr/local/sbin/kubetm-runc"|' /etc/containerd/config.toml
grep -q 'BinaryName = "/usr/local/sbin/kubetm-runc"' /etc/containerd/config.toml

printf '%s' "$k8s_version" >/kind/version
rm -rf /var/lib/apt/lists/* /tmp/* 2>/dev/null || true
