#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io if no engine is installed,
# registers the runc shim when this machine's capability bounding set cannot grant --privileged,
# starts dockerd when it is not running. Idempotent. Used by .ci/run and `make cluster`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[docker-up] %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

if docker info >/dev/null 2>&1; then exit 0; fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "no Docker engine installed: installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq docker.io >/dev/null || die "could not install docker.io; install a Docker engine and retry"
  else
    die "no Docker engine: install Docker (https://docs.docker.com/engine/install/) and start it, then retry"
  fi
fi

# CAP_SYS_RESOURCE is bit 24. Missing from the bounding set -> privileged containers need the shim.
capbnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
if [ $(( 0x$capbnd >> 24 & 1 )) -eq 0 ]; then
  install -D -m 0755 "$here/runc-shim.sh" /usr/local/libexec/kubetm/runc-shim
  python3 - <<'PY'
import json, os
p = "/etc/docker/daemon.json"
cfg = json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else {}
cfg.setdefault("runtimes", {})["kubetm-runc"] = {"path": "/usr/local/libexec/kubetm/runc-shim"}
cfg["default-runtime"] = "kubetm-runc"
os.makedirs("/etc/docker", exist_ok=True)
json.dump(cfg, open(p, "w"), indent=2)
PY
  log "capability bounding set lacks CAP_SYS_RESOURCE: dockerd runs containers through the kubetm runc shim"
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "Docker is installed but not running: start it (sudo systemctl start docker) and retry"
  log "starting dockerd (log: /var/log/kubetm-dockerd.log)"
  nohup dockerd >/var/log/kubetm-dockerd.log 2>&1 </dev/null &
fi
for _ in $(seq 1 120); do
  docker info >/dev/null 2>&1 && { log "Docker engine ready"; exit 0; }
  sleep 0.5
done
die "dockerd did not answer within 60 s: see /var/log/kubetm-dockerd.log"
