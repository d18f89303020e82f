#!/usr/bin/env bash
# Shared settings for hack/offline/*.sh. Source it; do not run it.
set -euo pipefail
OFFLINE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REPO_ROOT
REPO_ROOT=$(cd "$OFFLINE_DIR/../.." && pwd)
# shellcheck source=versions.env
. "$OFFLINE_DIR/versions.env"
CACHE=${KUBETM_CACHE:-$HOME/.cache/kubetm}/offline
BIN=$CACHE/bin/$K8S_VERSION
WORK=$CACHE/work
mkdir -p "$BIN" "$WORK"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off
log() { printf '[offline %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stamp NAME VALUE: true when NAME was already built with VALUE (cache by version).
stamp_ok() { [ -f "$CACHE/stamps/$1" ] && [ "$(cat "$CACHE/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$CACHE/stamps"; printf '%s' "$2" >"$CACHE/stamps/$1"; }

# module_src MODULE VERSION DIR [SIBLING_VERSION]: a writable copy of a module from the Go
# module proxy in DIR, with every directory `replace` (monorepo siblings the zip does not carry)
# dropped, so the published sibling module is used instead; SIBLING_VERSION pins those siblings.
module_src() {
  local mod=$1 ver=$2 dir=$3 sib=${4:-} src
  src=$(go mod download -json "$mod@$ver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"; cp -r "$src" "$dir"; chmod -R u+w "$dir"; rm -f "$dir/go.work" "$dir/go.work.sum"; rm -rf "$dir/vendor"
  (cd "$dir" && go mod edit -json | python3 -c '
import json, sys
m = json.load(sys.stdin)
for r in m.get("Replace") or []:
    new = r["New"]
    if new["Path"].startswith("."):
        print(r["Old"]["Path"])
' | while read -r dep; do
    go mod edit -dropreplace="$dep"
    if [ -n "$sib" ]; then
      # a sibling that was never published (sample code) cannot be needed by the programs built
      if go mod download "$dep@$sib" 2>/dev/null; then go mod edit -require="$dep@$sib"
      else go mod edit -droprequire="$dep"; fi
    fi
  done)
}
