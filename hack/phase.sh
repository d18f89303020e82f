#!/usr/bin/env bash
# Usage: hack/phase.sh NAME COMMAND...   Runs COMMAND and prints its wall time as one line
# "[phase] NAME: 123 s (ok|exit N); host CPU 45 % of 2 cores (110 CPU-s)", so `make test` shows
# where its time goes and how busy the machine was meanwhile (a phase near 100 % is bound by the
# cores, one far below by waiting on the cluster). The CPU part needs Linux's /proc/stat.
set -o nounset -o pipefail
name=$1; shift

# busy and total CPU ticks of the whole host (user nice system irq softirq steal; + idle iowait)
ticks() {
  [ -r /proc/stat ] || return 0
  local _cpu user nice system idle iowait irq softirq steal _rest
  read -r _cpu user nice system idle iowait irq softirq steal _rest < /proc/stat
  local busy=$(( user + nice + system + irq + softirq + steal ))
  echo "$busy $(( busy + idle + iowait ))"
}

start=$(date +%s)
before=$(ticks)
"$@"
rc=$?
after=$(ticks)
status=ok; [ "$rc" -eq 0 ] || status="exit $rc"
cpu=""
if [ -n "$before" ] && [ -n "$after" ]; then
  read -r b0 t0 <<< "$before"
  read -r b1 t1 <<< "$after"
  hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
  cores=$(nproc 2>/dev/null || echo 1)
  if [ $(( t1 - t0 )) -gt 0 ]; then
    cpu="; host CPU $(( 100 * (b1 - b0) / (t1 - t0) )) % of $cores cores ($(( (b1 - b0) / hz )) CPU-s)"
  fi
fi
echo "[phase] $name: $(( $(date +%s) - start )) s ($status)$cpu"
exit "$rc"
