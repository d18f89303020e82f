#!/usr/bin/env bash
# Usage: hack/phase.sh NAME COMMAND...   Runs COMMAND and prints its wall time as one line
# "[phase] NAME: 123 s (ok|exit N)", so `make test` shows where its time goes.
set -o nounset -o pipefail
name=$1; shift
start=$(date +%s)
"$@"
rc=$?
status=ok; [ "$rc" -eq 0 ] || status="exit $rc"
echo "[phase] $name: $(( $(date +%s) - start )) s ($status)"
exit "$rc"
