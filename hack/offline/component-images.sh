#!/usr/bin/env bash
# Container images of the cluster's own components, each FROM the Debian toolbox base with one
# binary from build-go.sh (pause: FROM scratch), tagged under $OFFLINE_REPO and saved as archives
# in $WORK/image-tars for node-image.sh. Usage: component-images.sh [kube-apiserver ...] (default all)
. "$(dirname "$0")/lib.sh"
R=$OFFLINE_REPO
# TOOLBOX_IMAGE overrides the base (online mode builds nothing here: it takes upstream images)
TOOLBOX=${TOOLBOX_IMAGE:-$R/debian:$DEBIAN_SUITE}

# name  binary-in-$BIN  path-in-image  extra Dockerfile lines   (all FROM the Debian toolbox base)
component_images() {
  cat <<LIST
kube-apiserver:$K8S_VERSION kube-apiserver /usr/local/bin/kube-apiserver
kube-controller-manager:$K8S_VERSION kube-controller-manager /usr/local/bin/kube-controller-manager
kube-scheduler:$K8S_VERSION kube-scheduler /usr/local/bin/kube-scheduler
kube-proxy:$K8S_VERSION kube-proxy /usr/local/bin/kube-proxy
etcd:$ETCD_IMAGE_TAG etcd /usr/local/bin/etcd
coredns:$COREDNS_VERSION coredns /coredns ENTRYPOINT ["/coredns"]
kubetm-net:v0.1.0 kubetm-net /bin/kubetm-net ENTRYPOINT ["/bin/kubetm-net"]
local-path-provisioner:$LOCAL_PATH_VERSION local-path-provisioner /usr/bin/local-path-provisioner
kubetm-provisioner:v0.1.1 kubetm-provisioner /bin/kubetm-provisioner ENTRYPOINT ["/bin/kubetm-provisioner"]
metrics-server:$METRICS_SERVER_VERSION metrics-server /metrics-server ENTRYPOINT ["/metrics-server"]
LIST
}

build_component_images() {
  local ctx="$WORK/image-ctx" tars="$WORK/image-tars" want=" $* "
  mkdir -p "$tars"
  while read -r ref bin path extra; do
    [ "$want" = "  " ] || [[ "$want" == *" ${ref%%:*} "* ]] || continue
    rm -rf "$ctx"; mkdir -p "$ctx"; cp "$BIN/$bin" "$ctx/$bin"
    printf 'FROM %s\nCOPY %s %s\n%s\n' "$TOOLBOX" "$bin" "$path" "$extra" >"$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$R/$ref" "$ctx" >/dev/null
    docker save "$R/$ref" -o "$tars/${ref%%:*}.tar"
  done < <(component_images)
  [ "$want" = "  " ] || return 0
  # pause is static C: the image holds nothing else
  rm -rf "$ctx"; mkdir -p "$ctx"; cp "$BIN/pause" "$ctx/pause"
  printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$R/pause:$PAUSE_VERSION" "$ctx" >/dev/null
  docker save "$R/pause:$PAUSE_VERSION" -o "$tars/pause.tar"
  # the local-path helper pod only needs a shell: the toolbox itself
  docker tag "$TOOLBOX" "$R/local-path-helper:$DEBIAN_SUITE"
  docker save "$R/local-path-helper:$DEBIAN_SUITE" -o "$tars/local-path-helper.tar"
}

[ -n "${TOOLBOX_IMAGE:-}" ] || "$OFFLINE_DIR/base-images.sh" debian
# with names build just those programs
if [ $# -gt 0 ]; then "$OFFLINE_DIR/build-go.sh" "$@"; else "$OFFLINE_DIR/build-go.sh"; fi
build_component_images "$@"
