#!/usr/bin/env bash
# Installs the linters `make lint` needs that PyPI does not ship: shellcheck (Debian's package).
set -o errexit -o nounset -o pipefail
command -v shellcheck >/dev/null && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
else
  echo "shellcheck is not installed: install it with your package manager (apt install shellcheck, brew install shellcheck)" >&2
  exit 1
fi
