#!/usr/bin/env bash
# Builds every Go program the offline node needs, from the Go module proxy, into $BIN.
# Usage: build-go.sh [component...]   (default: all). Cached by version; safe to rerun.
. "$(dirname "$0")/lib.sh"
LDV=k8s.io/component-base/version
K8S_MAJOR=$(echo "$K8S_VERSION" | cut -d. -f1 | tr -d v)
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
K8S_LDFLAGS="-s -w"
for pkg in $LDV k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS="$K8S_LDFLAGS -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$K8S_MAJOR -X $pkg.gitMinor=$K8S_MINOR"
  K8S_LDFLAGS="$K8S_LDFLAGS -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build_kubernetes() {
  stamp_ok kubernetes "$K8S_VERSION" && return
  log "kubernetes $K8S_VERSION: fetching module source"
  local staging="v0${K8S_VERSION#v1}"
  module_src k8s.io/kubernetes "$K8S_VERSION" "$WORK/kubernetes" "$staging"
  cd "$WORK/kubernetes" || exit 1
  log "kubernetes: resolving dependencies"
  go mod download
  log "kubernetes: compiling (the long step on a cold machine)"
  go build -trimpath -ldflags "$K8S_LDFLAGS" -o "$BIN/" \
    ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kube-proxy \
    ./cmd/kubelet ./cmd/kubeadm ./cmd/kubectl
  log "kubernetes: pause (C, static)"
  gcc -Os -static -DVERSION="v$PAUSE_VERSION" -o "$BIN/pause" build/pause/linux/pause.c
  strip "$BIN/pause"
  stamp_set kubernetes "$K8S_VERSION"
}

# go_program NAME MODULE VERSION PACKAGE [SIBLING_VERSION]
go_program() {
  local name=$1 mod=$2 ver=$3 pkg=$4 sib=${5:-}
  stamp_ok "$name" "$ver" && return
  log "$name $ver"
  module_src "$mod" "$ver" "$WORK/$name" "$sib"
  (cd "$WORK/$name" && go mod download && go build -trimpath -ldflags "-s -w" -o "$BIN/$name" "$pkg")
  stamp_set "$name" "$ver"
}

build_etcd() { go_program etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" . "$ETCD_VERSION"; }
build_coredns() { go_program coredns github.com/coredns/coredns "$COREDNS_VERSION" .; }
build_crictl() { go_program crictl sigs.k8s.io/cri-tools "$CRICTL_VERSION" ./cmd/crictl; }
build_local_path() { go_program local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_VERSION" .; }
build_metrics_server() { go_program metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" ./cmd/metrics-server; }
build_kind() {
  stamp_ok kind "$KIND_VERSION" && return
  log "kind $KIND_VERSION"
  GOBIN="$BIN" go install "sigs.k8s.io/kind@$KIND_VERSION"
  stamp_set kind "$KIND_VERSION"
}
build_helm() {
  # the helm CLI for the helm-* labs; its version strings are set the way helm's Makefile sets them
  stamp_ok helm "$HELM_VERSION" && return
  log "helm $HELM_VERSION"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  stamp_set helm "$HELM_VERSION"
}
build_kubetm_net() {
  local sum; sum=$(cat "$REPO_ROOT"/images/kubetm-net/go.* "$REPO_ROOT"/images/kubetm-net/*.go | sha256sum | cut -c1-16)
  stamp_ok kubetm-net "$sum" && return
  log "kubetm-net (the cluster's pod network daemon)"
  (cd "$REPO_ROOT/images/kubetm-net" && go build -trimpath -ldflags "-s -w" -o "$BIN/kubetm-net" .)
  stamp_set kubetm-net "$sum"
}

build_kubetm_provisioner() {
  # the cluster's Immediate-binding hostPath provisioner (StorageClass fast), our own Go code
  local sum; sum=$(cat "$REPO_ROOT"/images/kubetm-provisioner/go.* "$REPO_ROOT"/images/kubetm-provisioner/*.go | sha256sum | cut -c1-16)
  stamp_ok kubetm-provisioner "$sum" && return
  log "kubetm-provisioner (the cluster's Immediate-binding hostPath provisioner)"
  (cd "$REPO_ROOT/images/kubetm-provisioner" && go build -trimpath -ldflags "-s -w" -o "$BIN/kubetm-provisioner" .)
  stamp_set kubetm-provisioner "$sum"
}

# helm is not in the list: the node does not need it (build it with `build-go.sh helm`)
all=(kind kubernetes etcd coredns crictl local_path metrics_server kubetm_net kubetm_provisioner)
for c in "${@:-${all[@]}}"; do "build_${c//-/_}"; done
log "Go programs ready in $BIN"
