#!/usr/bin/env bash
# Sizes of the course images (docker image inspect), what each adds on top of its base, and, when a
# public base (node:22-bookworm-slim, debian:bookworm-slim) is present locally, the size of the same Dockerfile
# built FROM it; otherwise it says which comparison was skipped. Last line: one summary figure.
# Usage: benchmarks/image_sizes.sh            (build first: kubetm image build all)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
REG=${KUBETM_REGISTRY:-localhost:5001}
IMAGES=(hello:1.0 app:v1 app:v2 app:v3 init:1.0 ports:1.0)
declare -A PUBLIC=([hello]=node:22-bookworm-slim [app]=node:22-bookworm-slim [ports]=node:22-bookworm-slim [init]=debian:bookworm-slim)

docker info >/dev/null 2>&1 || { echo "error: Docker is not running: start it (or run hack/docker-up.sh)" >&2; exit 1; }
size() { docker image inspect -f '{{.Size}}' "$1" 2>/dev/null || echo ""; }
layers() { docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$1" 2>/dev/null || true; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f kB", b / 1e3 }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

printf '%-34s %10s  %-30s %10s  %s\n' IMAGE SIZE BASE ADDED "FROM public base"
total=0; own=0; built=0; declare -A bases=(); compared=0; ours_cmp=0; theirs_cmp=0; declare -A skipped=()
for it in "${IMAGES[@]}"; do
  name=${it%%:*}; tag=${it#*:}; ref="$REG/kubetm/$it"
  s=$(size "$ref")
  if [ -z "$s" ]; then printf '%-34s %10s\n' "$ref" "not built"; continue; fi
  base=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.base.name"}}' "$ref")
  bs=$(size "$base"); bs=${bs:-0}
  bl=$(layers "$base")
  if [ "$bs" = 0 ] || [ -z "$bl" ] || [[ "$(layers "$ref")" != "$bl"* ]]; then
    echo "note: $ref was built FROM an older $base (rebuild it): its whole size counts as its own" >&2
    base="$base (older)"; bs=0
  fi
  built=$((built + 1)); total=$((total + s)); own=$((own + s - bs)); bases[$base]=$bs
  public=${PUBLIC[$name]}; cmp="-"
  if [ "$base" = "$public" ]; then
    cmp="(built from it)"
  elif docker image inspect "$public" >/dev/null 2>&1; then
    bench="kubetm-bench/$name:$tag"
    args=(--build-arg "BASE=$public" -t "$bench")
    [ "$name" = app ] && args+=(--build-arg "VERSION=$tag")
    out=$(DOCKER_BUILDKIT=0 docker build -q "${args[@]}" "$here/images/$name" 2>&1) || { echo "$out" >&2; exit 1; }
    ps=$(size "$bench"); cmp=$(mb "$ps"); compared=$((compared + 1))
    ours_cmp=$((ours_cmp + s)); theirs_cmp=$((theirs_cmp + ps))
  else
    skipped[$public]="${skipped[$public]:-}${skipped[$public]:+, }$name:$tag"
  fi
  printf '%-34s %10s  %-30s %10s  %s\n' "$ref" "$(mb "$s")" "$base" "$(kb $((s - bs)))" "$cmp"
done
shared=0; for b in "${!bases[@]}"; do shared=$((shared + bases[$b])); done
for p in "${!skipped[@]}"; do
  echo "skipped: comparison with $p for ${skipped[$p]} ($p is not present locally; pull it to compare)"
done
if [ "$compared" -gt 0 ]; then
  echo "compared $compared image(s): ours $(mb $ours_cmp) vs the same Dockerfiles FROM public bases $(mb $theirs_cmp)"
fi
[ "$total" -gt 0 ] || { echo "summary: no course image is built (kubetm image build all)"; exit 1; }
vs=""; [ "$compared" -gt 0 ] && vs="; $compared built FROM public bases: $(mb $theirs_cmp) vs ours $(mb $ours_cmp)"
echo "summary: $(mb $((shared + own))) on disk for $built course image(s) ($(kb $own) of our own layers on ${#bases[@]} shared base(s) of $(mb $shared); sizes add up to $(mb $total)$vs)"
