#!/usr/bin/env bash
# Wall times of the big commands on the existing cluster, each with the load average at its start:
#   * warm `make cluster`: `kubetm cluster up` when the cluster exists and is healthy (reuse path);
#   * `kubetm lab run all` (optional: --labs);
#   * the e2e suite, `pytest tests/e2e` (optional: --e2e) without its cluster-recreating test.
# The cluster is never created or deleted here: when it is missing or not healthy (a node not
# Ready, a node container stopped), `cluster up` would recreate it, so this script refuses instead,
# and also while other kubetm labs/demos/e2e tests run (one may stop a node for a minute).
# Usage: benchmarks/cluster.sh [--labs] [--e2e]
# Last line: "summary: cluster up (warm) X s; lab run all Y s|skipped; e2e Z s|skipped" (exit 1 if one failed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
NAME=${CLUSTER:-kubetm}
CONTEXT=kind-$NAME
KUBETM=${KUBETM:-$here/.venv/bin/kubetm}
PY=${PY:-$here/.venv/bin/python}
labs=0; e2e=0
for a in "$@"; do
  case $a in
    --labs) labs=1 ;;
    --e2e) e2e=1 ;;
    *) echo "usage: $0 [--labs] [--e2e]" >&2; exit 2 ;;
  esac
done
[[ -x "$KUBETM" ]] || { echo "error: $KUBETM not found (make install)" >&2; exit 1; }
load() { cut -d' ' -f1 /proc/loadavg; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

healthy() {  # the same test `kubetm cluster up` makes before reusing a cluster
  local n
  n=$(docker ps --filter "label=io.x-k8s.kind.cluster=$NAME" --filter status=running -q | wc -l)
  [[ $n -eq 3 ]] || { echo "$n of 3 node containers running"; return 1; }
  kubectl --context "$CONTEXT" get --raw /readyz >/dev/null 2>&1 || { echo "API server not ready"; return 1; }
  n=$(kubectl --context "$CONTEXT" get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l)
  [[ $n -eq 3 ]] || { echo "$n of 3 nodes Ready"; return 1; }
}

# A lab (replicaset's node-down check) or an e2e test may stop a node for a minute; `cluster up`
# started then would find the cluster unhealthy and recreate it. Refuse while any runs.
others=$(pgrep -af 'kubetm.*(lab (run|verify|apply)|demo )|pytest.*tests/e2e' | grep -v -e "$$" -e pgrep || true)
if [[ -n "$others" && ${BENCH_FORCE:-0} != 1 ]]; then
  echo "error: other kubetm labs/demos/e2e are running; not timing \`cluster up\` now (BENCH_FORCE=1 overrides):" >&2
  echo "$others" | cut -c1-150 >&2
  exit 1
fi
if ! why=$(healthy); then
  echo "error: cluster $NAME is not healthy ($why): not timing \`cluster up\`, it would recreate it" >&2
  exit 1
fi
rc=0
l=$(load); t0=$(now)
if "$KUBETM" cluster up --name "$NAME" >/tmp/kubetm-bench-cluster-up.log 2>&1; then
  up="$(secs "$t0" "$(now)") s (load $l)"
else
  rc=1; up="$(secs "$t0" "$(now)") s FAILED (load $l): $(tail -n 1 /tmp/kubetm-bench-cluster-up.log | cut -c1-160)"
fi
sed 's/^/  | /' /tmp/kubetm-bench-cluster-up.log
grep -q "reusing it" /tmp/kubetm-bench-cluster-up.log || echo "note: cluster up did not report a reuse (see /tmp/kubetm-bench-cluster-up.log)"
echo "kubetm cluster up (warm, reusing the cluster): $up"

labs_s=skipped
if (( labs )); then
  l=$(load); t0=$(now)
  if "$KUBETM" --context "$CONTEXT" lab run all >/tmp/kubetm-bench-labs.log 2>&1; then
    labs_s="$(secs "$t0" "$(now)") s (load $l)"
  else
    rc=1; labs_s="$(secs "$t0" "$(now)") s FAILED (load $l; see /tmp/kubetm-bench-labs.log)"
  fi
  echo "kubetm lab run all: $labs_s"
  grep -E '^[a-z-]+: (✓|✗|ok|FAIL|passed|failed)' /tmp/kubetm-bench-labs.log | tail -40 || true
fi

e2e_s=skipped
if (( e2e )); then
  l=$(load); t0=$(now)
  # not the test that stops a worker to see the cluster recreated: a benchmark keeps the cluster
  if CI=true "$PY" -m pytest -q tests/e2e -p no:cacheprovider -k "not unhealthy_cluster_is_recreated" \
      >/tmp/kubetm-bench-e2e.log 2>&1; then
    e2e_s="$(secs "$t0" "$(now)") s (load $l; $(tail -1 /tmp/kubetm-bench-e2e.log | tr -d '=' | xargs))"
  else
    rc=1; e2e_s="$(secs "$t0" "$(now)") s FAILED (load $l; $(tail -1 /tmp/kubetm-bench-e2e.log | tr -d '=' | xargs))"
  fi
  echo "e2e suite: $e2e_s"
fi
echo "summary: cluster up (warm) $up; lab run all $labs_s; e2e $e2e_s"
exit $rc
