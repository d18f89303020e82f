#!/bin/sh
# kubetm runc shim: drops capabilities this machine cannot grant from an OCI spec, then runs runc.
#
# Some sandboxes (CI machines, nested containers) run Docker with a capability bounding set that
# lacks CAP_SYS_RESOURCE. `docker run --privileged` (which kind uses for every node) asks runc for
# all capabilities and fails with "unable to apply caps: operation not permitted". This shim is
# registered as dockerd's default runtime by hack/docker-up.sh only on such machines. It edits
# the bundle's config.json (create/run) or the --process file (exec) and execs the real runc.
# POSIX sh + sed, so it also runs inside a kind node, which has no Python.
RUNC=${KUBETM_REAL_RUNC:-runc}
DROP=${KUBETM_DROP_CAPS:-CAP_SYS_RESOURCE}

strip_caps() { # FILE: remove each dropped capability from the compact JSON docker writes
  [ -f "$1" ] || return 0
  for cap in $DROP; do
    sed -i -e "s/\"$cap\",//g" -e "s/,\"$cap\"//g" -e "s/\"$cap\"//g" "$1"
  done
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
