#!/usr/bin/env bash
# Assembles the offline kind node image ($NODE_IMAGE) the way `kind build node-image` does, but
# without fetching anything: start the node base, copy the Kubernetes binaries in, start
# containerd, import every image archive we built, write /kind/version and the default CNI and
# storage manifests, commit. Cached: a second run with the same inputs builds nothing.
. "$(dirname "$0")/lib.sh"
KIND_SRC=$(go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
R=$OFFLINE_REPO
TOOLBOX="$R/debian:$DEBIAN_SUITE"

inputs_key() {
  { cat "$OFFLINE_DIR"/versions.env "$0" "$OFFLINE_DIR"/manifests/*.yaml "$OFFLINE_DIR"/node-setup.sh \
      "$OFFLINE_DIR"/node-contain.sh "$OFFLINE_DIR"/kubetm-contain.service "$REPO_ROOT"/hack/runc-shim.sh
    sha256sum "$BIN"/* ; docker image inspect -f '{{.Id}}' "$TOOLBOX" "$R/kind-base:$DEBIAN_SUITE"; } | sha256sum | cut -c1-16
}

storage_manifest() { # local-path-provisioner's own deploy manifest, pointed at our images
  local src
  src=$(go mod download -json "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  python3 "$OFFLINE_DIR/storage_manifest.py" "$src/deploy/local-path-storage.yaml" \
    "$R/local-path-provisioner:$LOCAL_PATH_VERSION" "$R/local-path-helper:$DEBIAN_SUITE"
}

id=""
main() {
  # debootstrap is mostly network and disk: run it beside the CPU-bound Go compile
  "$OFFLINE_DIR/base-images.sh" debian kind-base >"$CACHE/base-images.log" 2>&1 &
  local bases=$!
  "$OFFLINE_DIR/build-go.sh"
  wait "$bases" || { cat "$CACHE/base-images.log" >&2; die "building the Debian base images failed"; }
  cat "$CACHE/base-images.log" >&2
  local key; key=$(inputs_key)
  if stamp_ok node-image "$key" && docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
    log "node image $NODE_IMAGE is up to date"; return
  fi
  log "building component images"
  "$OFFLINE_DIR/component-images.sh" 2> >(grep -v -e DEPRECATED -e BuildKit -e 'environment-variable' -e '^$' >&2)
  storage_manifest >"$WORK/default-storage.yaml"

  id="kubetm-node-build-$$"
  docker rm -f "$id" >/dev/null 2>&1 || true
  trap 'docker rm -f -v "$id" >/dev/null 2>&1 || true' EXIT
  log "assembling $NODE_IMAGE in container $id"
  docker run -d --name "$id" --privileged --entrypoint=sleep --security-opt seccomp=unconfined \
    --tmpfs /tmp "$R/kind-base:$DEBIAN_SUITE" infinity >/dev/null
  # kind's base files (entrypoint, systemd units, containerd config) from the kind module source
  local files="$KIND_SRC/images/base/files"
  docker cp "$files/usr/local/bin/." "$id:/usr/local/bin/"
  docker cp "$files/kind/." "$id:/kind/"
  docker cp "$files/etc/." "$id:/etc/"
  docker cp "$OFFLINE_DIR/node-setup.sh" "$id:/kind/node-setup.sh"
  docker cp "$REPO_ROOT/hack/runc-shim.sh" "$id:/usr/local/sbin/kubetm-runc"
  docker cp "$OFFLINE_DIR/node-contain.sh" "$id:/usr/local/sbin/kubetm-contain"
  docker cp "$OFFLINE_DIR/kubetm-contain.service" "$id:/etc/systemd/system/kubetm-contain.service"
  for b in kubelet kubeadm kubectl crictl; do docker cp "$BIN/$b" "$id:/usr/bin/$b"; done
  docker exec "$id" bash /kind/node-setup.sh "$K8S_VERSION" "$R/pause:$PAUSE_VERSION"
  docker cp "$OFFLINE_DIR/manifests/default-cni.yaml" "$id:/kind/manifests/default-cni.yaml"
  docker cp "$WORK/default-storage.yaml" "$id:/kind/manifests/default-storage.yaml"
  log "importing images into the node's containerd"
  docker exec "$id" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 & for i in $(seq 50); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; exit 1'
  for t in "$WORK"/image-tars/*.tar; do
    docker exec -i "$id" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
      --all-platforms --no-unpack --digests - <"$t" >/dev/null
  done
  docker exec "$id" ctr --namespace=k8s.io images list -q | grep -v -e '^sha256:' -e '^import-' | sort >"$WORK/node-images.txt"
  docker exec "$id" bash -c 'pkill containerd; for i in $(seq 50); do pgrep containerd >/dev/null || exit 0; sleep 0.2; done'
  docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'ENV container=docker' "$id" "$NODE_IMAGE-commit" >/dev/null
  # systemd stops on SIGRTMIN+3; older engines cannot set STOPSIGNAL through `commit --change`
  printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$NODE_IMAGE-commit" | DOCKER_BUILDKIT=0 docker build -q -t "$NODE_IMAGE" - >/dev/null 2>&1 \
    || die "docker build of the final node image failed"
  docker rmi "$NODE_IMAGE-commit" >/dev/null
  stamp_set node-image "$key"
  log "built $NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}')) with images:"
  sed 's/^/    /' "$WORK/node-images.txt" >&2
}
main "$@"
