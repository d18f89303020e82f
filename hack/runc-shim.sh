#!/bin/sh
# kubetm runc shim: removes from an OCI spec what this machine cannot grant, then runs runc.
#
# Some sandboxes (CI machines, nested containers) run Docker with a capability bounding set that
# lacks CAP_SYS_RESOURCE. Two things then fail inside runc:
#  - `docker run --privileged` (kind runs every node so) asks for all capabilities: "unable to
#    apply caps: operation not permitted";
#  - a negative oom_score_adj (kubelet gives pod sandboxes -998, Guaranteed pods -997) needs
#    CAP_SYS_RESOURCE: runc init dies with "can't get final child's PID from pipe: EOF".
# On such machines hack/docker-up.sh registers this shim as dockerd's default runtime, and the
# offline kind node image makes it the BinaryName of containerd's runc runtime. It edits the
# bundle's config.json (create/run) or the --process file (exec) and execs the real runc. Where
# the capability is present it changes nothing. POSIX sh + sed: a kind node has no Python.
RUNC=${KUBETM_REAL_RUNC:-runc}
DROP=${KUBETM_DROP_CAPS:-CAP_SYS_RESOURCE}

# CAP_SYS_RESOURCE is bit 24 of the bounding set; with it, there is nothing to do.
capbnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ -n "$capbnd" ] && [ $(( 0x$capbnd >> 24 & 1 )) -eq 1 ] && [ -z "${KUBETM_SHIM_FORCE:-}" ]; then
  exec "$RUNC" "$@"
fi

strip_caps() { # FILE: drop the capabilities and clamp a negative oom_score_adj (compact JSON)
  [ -f "$1" ] || return 0
  for cap in $DROP; do
    sed -i -e "s/\"$cap\",//g" -e "s/,\"$cap\"//g" -e "s/\"$cap\"//g" "$1"
  done
  sed -i -E 's/"oomScoreAdj":[[:space:]]*-[0-9]+/"oomScoreAdj":0/g' "$1"
}

cmd="" bundle="" process="" prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b) bundle=$a ;;
    --process|-p) process=$a ;;
  esac
  case "$a" in
    --bundle=*) bundle=${a#--bundle=} ;;
    --process=*) process=${a#--process=} ;;
    create|run|exec) [ -z "$cmd" ] && cmd=$a ;;
  esac
  prev=$a
done
case "$cmd" in
  create|run) strip_caps "${bundle:-.}/config.json" ;;
  exec) [ -n "$process" ] && strip_caps "$process" ;;
esac
exec "$RUNC" "$@"
