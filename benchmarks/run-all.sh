#!/usr/bin/env bash
# Every benchmark in turn (`make bench`); each one's full output goes to $BENCH_OUT/<name>.txt and
# its last line (its figure) is collected into the summary printed at the end.
#   cli_start   kubetm --help / lab list vs kubectl --help   (no cluster needed)
#   prober      the traffic prober's rate and overhead        (no cluster needed)
#   apply       kubetm apply -f vs kubectl apply --server-side (cluster kind-kubetm)
#   wait        wait_ready / kubectl wait after Ready          (cluster kind-kubetm)
#   cluster     warm `kubetm cluster up` (+ labs/e2e with BENCH_LABS=1 / BENCH_E2E=1)
#   image_sizes sizes of the course images                     (docker)
# Usage: benchmarks/run-all.sh [NAME...]   (default: all; e.g. run-all.sh cli_start prober)
# Knobs: RUNS (cli_start, 15), COPIES/REPEATS (apply, 4/2), WAIT_RUNS (wait, 7).
# Last line: "benchmarks: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
export PATH="$here/.venv/bin:$PATH"      # python3/kubetm of the project's venv (make install)
export KUBETM=${KUBETM:-$here/.venv/bin/kubetm}
PY=$here/.venv/bin/python
[[ -x "$PY" ]] || { echo "error: .venv missing: run make install" >&2; exit 1; }
if [[ -n ${PYTHONDONTWRITEBYTECODE:-} ]]; then  # measure kubetm as installed: bytecode cached
  unset PYTHONDONTWRITEBYTECODE
  export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-${TMPDIR:-/tmp}/kubetm-bench-pycache}
fi
OUT=${BENCH_OUT:-/tmp/kubetm-bench}
mkdir -p "$OUT"
names=("$@")
(( ${#names[@]} )) || names=(cli_start prober apply wait cluster image_sizes)

run_one() {
  case $1 in
    cli_start)   bash benchmarks/cli_start.sh "${RUNS:-15}" ;;
    prober)      "$PY" benchmarks/prober.py --rate 100 --seconds 5 --repeats 3
                 "$PY" benchmarks/prober.py --rate 100 --seconds 10 --repeats 5 --web ;;
    apply)       "$PY" benchmarks/apply.py --copies "${COPIES:-4}" --repeats "${REPEATS:-2}" ;;
    wait)        "$PY" benchmarks/wait.py --runs "${WAIT_RUNS:-7}" ;;
    cluster)     a=(); [[ ${BENCH_LABS:-0} == 1 ]] && a+=(--labs); [[ ${BENCH_E2E:-0} == 1 ]] && a+=(--e2e)
                 bash benchmarks/cluster.sh "${a[@]}" ;;
    image_sizes) bash benchmarks/image_sizes.sh ;;
    *) echo "unknown benchmark $1" >&2; return 2 ;;
  esac
}

passed=0; failed=0; summary=()
for n in "${names[@]}"; do
  echo "== $n ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg))"
  if run_one "$n" 2>&1 | tee "$OUT/$n.txt"; then passed=$((passed + 1)); st=ok; else failed=$((failed + 1)); st=FAILED; fi
  summary+=("$(printf '%-12s %-6s %s' "$n" "$st" "$(tail -n 1 "$OUT/$n.txt")")")
done
echo
echo "== summary (full outputs in $OUT/)"
printf '%s\n' "${summary[@]}"
echo "benchmarks: $passed passed, $failed failed"
(( failed == 0 ))
