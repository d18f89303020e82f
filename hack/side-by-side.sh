#!/usr/bin/env bash
# Usage: hack/side-by-side.sh 'COMMAND 1' 'COMMAND 2' ...
# Runs the commands at once (each through `bash -c`), their output streamed line by line with a
# [1], [2], ... prefix; waits for all of them and exits with the first non-zero status among them
# (in the order given), else 0. `make test` uses it for the pytest runs that share the host but not
# the cluster's timing (they hand over to each other through files: tests/e2e/conftest.py).
set -o nounset -o pipefail
pids=()
i=0
for cmd in "$@"; do
  i=$((i + 1))
  (bash -c "$cmd" 2>&1 | sed -u "s/^/[$i] /") &
  pids+=("$!")
done
rc=0
for pid in "${pids[@]}"; do
  status=0
  wait "$pid" || status=$?
  if [ "$rc" -eq 0 ] && [ "$status" -ne 0 ]; then rc=$status; fi
done
exit "$rc"
