#!/usr/bin/env bash
# Debian-based images built with debootstrap (Debian's packages only; no image registry):
#   kubetm.local/debian:bookworm     shell toolbox base (course init image, kube-proxy, helpers)
#   kubetm.local/nodejs:bookworm     Node.js runtime base (course hello/app images)
#   kubetm.local/kind-base:bookworm  rootfs of a kind node (systemd, containerd, runc, CNI, ...)
# Usage: base-images.sh [debian|nodejs|kind-base ...]. Each is cached by its package list.
. "$(dirname "$0")/lib.sh"
MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

TOOLS=ca-certificates,curl,wget,iproute2,iptables,conntrack,procps,netcat-openbsd,dnsutils,jq,less
IMAGE_FORMAT=1  # bump when the way images are assembled below changes
declare -A PKGS=(
  [debian]="$TOOLS"
  [nodejs]="ca-certificates,nodejs,tini"
  [kind-base]="systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,curl,jq,procps,containerd,runc,containernetworking-plugins,socat,ebtables"
)

# unmount whatever an interrupted debootstrap left mounted below DIR (proc, sys) before rm -rf
release_mounts() {
  awk -v d="$1" '$2 ~ "^"d"/" {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
}

rootfs_image() {
  local name=$1 pkgs=${PKGS[$1]} tag="$OFFLINE_REPO/$1:$DEBIAN_SUITE" key
  local extra=""; [ "$name" != debian ] || extra=$(sha256sum <"$OFFLINE_DIR/iptables-wrapper.sh")
  key=$(printf '%s %s %s %s' "$DEBIAN_SUITE" "$pkgs" "$extra" "$IMAGE_FORMAT" | sha256sum | cut -c1-16)
  if stamp_ok "image-$name" "$key" && docker image inspect "$tag" >/dev/null 2>&1; then return; fi
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
  local dir="$WORK/rootfs-$name"
  release_mounts "$dir"; rm -rf "$dir"
  trap 'release_mounts "'"$dir"'"' EXIT
  log "debootstrap $DEBIAN_SUITE ($name): $pkgs"
  debootstrap --variant=minbase --include="$pkgs" "$DEBIAN_SUITE" "$dir" "$MIRROR" >"$WORK/debootstrap-$name.log" 2>&1 \
    || die "debootstrap $name failed: see $WORK/debootstrap-$name.log"
  # a slimmer image: no apt lists, docs, man pages or caches
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*.log
  printf 'deb %s %s main\n' "$MIRROR" "$DEBIAN_SUITE" >"$dir/etc/apt/sources.list"
  if [ "$name" = debian ]; then # pods in the node's netns pick the node's iptables backend
    install -m 0755 "$OFFLINE_DIR/iptables-wrapper.sh" "$dir/usr/sbin/iptables-wrapper"
    for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
      ln -sf iptables-wrapper "$dir/usr/sbin/$t"
    done
  fi
  local change=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["/bin/bash"]')
  tar -C "$dir" --numeric-owner -c . | docker import "${change[@]}" - "$tag" >/dev/null
  release_mounts "$dir"; rm -rf "$dir"
  stamp_set "image-$name" "$key"
  log "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

for n in "${@:-debian nodejs kind-base}"; do for m in $n; do rootfs_image "$m"; done; done
