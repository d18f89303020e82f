#!/usr/bin/env bash
# Start-up cost of `kubetm --help` and `kubetm lab list` against `kubectl --help`, interleaved runs
# (the order rotates every run), medians. `lab list` needs no cluster: it is the cost of a real
# command (Typer, the command modules) rather than of the cached top-level help.
# Usage: benchmarks/cli_start.sh [RUNS]   (default 15, minimum 10)
# Last line: "ratio kubetm/kubectl: X.XX (--help), Y.YY (lab list)" (target <= 1.5).
set -euo pipefail
RUNS=${1:-15}
(( RUNS >= 10 )) || RUNS=10
# The real console script, not a pyenv shim (a shim adds its own bash start-up to every run).
KUBETM=${KUBETM:-$(python3 -c 'import os, sysconfig; print(os.path.join(sysconfig.get_path("scripts"), "kubetm"))')}
KUBECTL=${KUBECTL:-$(command -v kubectl)}
[[ -x "$KUBETM" ]] || { echo "error: kubetm not installed (pip install -e .)" >&2; exit 1; }
[[ -x "$KUBECTL" ]] || { echo "error: kubectl not found" >&2; exit 1; }

# A user's install has its bytecode cached; with PYTHONDONTWRITEBYTECODE set (as on our build
# machine) every run would recompile kubetm's sources. Cache it outside the tree instead.
if [[ -n ${PYTHONDONTWRITEBYTECODE:-} ]]; then
  unset PYTHONDONTWRITEBYTECODE
  export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-${TMPDIR:-/tmp}/kubetm-bench-pycache}
fi

now_ns() { date +%s%N; }
time_one() {  # prints elapsed milliseconds of one run of "$@"
  local t0 t1
  t0=$(now_ns); "$@" >/dev/null 2>&1; t1=$(now_ns)
  echo $(( (t1 - t0) / 1000 ))   # microseconds
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# warm the page cache and kubetm's help cache once (not measured)
"$KUBETM" --help >/dev/null 2>&1; "$KUBETM" lab list >/dev/null 2>&1; "$KUBECTL" --help >/dev/null 2>&1

k=(); l=(); c=()
for ((i = 0; i < RUNS; i++)); do
  case $(( i % 3 )) in  # rotate which goes first
    0) k+=("$(time_one "$KUBETM" --help)"); l+=("$(time_one "$KUBETM" lab list)"); c+=("$(time_one "$KUBECTL" --help)") ;;
    1) c+=("$(time_one "$KUBECTL" --help)"); k+=("$(time_one "$KUBETM" --help)"); l+=("$(time_one "$KUBETM" lab list)") ;;
    2) l+=("$(time_one "$KUBETM" lab list)"); c+=("$(time_one "$KUBECTL" --help)"); k+=("$(time_one "$KUBETM" --help)") ;;
  esac
done
mk=$(printf '%s\n' "${k[@]}" | median)
ml=$(printf '%s\n' "${l[@]}" | median)
mc=$(printf '%s\n' "${c[@]}" | median)

# heavy modules must not be imported for --help
heavy=$(python3 -X importtime -m kubetm --help 2>&1 >/dev/null | awk -F'|' 'NF==3 {gsub(/ /,"",$3); print $3}' \
        | grep -E '^(kubernetes|rich|yaml|tenacity|matplotlib|urllib3)(\.|$)' | sort -u | tr '\n' ' ' || true)
echo "runs: $RUNS (interleaved)${PYTHONPYCACHEPREFIX:+, bytecode cached in $PYTHONPYCACHEPREFIX}; load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cpus"
awk -v v="$mk" 'BEGIN {printf "kubetm --help    median: %.1f ms\n", v/1000}'
awk -v v="$ml" 'BEGIN {printf "kubetm lab list  median: %.1f ms\n", v/1000}'
awk -v v="$mc" 'BEGIN {printf "kubectl --help   median: %.1f ms\n", v/1000}'
echo "heavy imports for --help: ${heavy:-none}"
awk -v a="$mk" -v l="$ml" -v b="$mc" 'BEGIN {printf "ratio kubetm/kubectl: %.2f (--help), %.2f (lab list) (target <= 1.5)\n", a/b, l/b}'
awk -v a="$mk" -v l="$ml" -v b="$mc" 'BEGIN {exit !(a / b <= 1.5 && l / b <= 1.5)}'   # exit 1 when a ratio misses
