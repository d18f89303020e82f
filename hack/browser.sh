#!/usr/bin/env bash
# Browser for the web page tests (tests/unit/web/, tests/e2e/test_web.py): a chromium (Debian's
# package, or a Chrome already on the machine, e.g. GitHub's runners), a Korean font for readable
# screenshots, and Playwright's Python package in the venv (it drives that browser; no browser download).
# Usage: hack/browser.sh [PYTHON]   (make install calls it; apt-get needs root or sudo)
set -euo pipefail
PY=${1:-.venv/bin/python}
pkgs=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || command -v google-chrome >/dev/null 2>&1 || pkgs+=(chromium)
fc-list 2>/dev/null | grep -qi -e nanum -e cjk || pkgs+=(fonts-nanum)
if (( ${#pkgs[@]} )); then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    echo "hack/browser.sh: please install ${pkgs[*]} (no apt-get here); browser tests fail under CI=true without it" >&2
  fi
fi
"$PY" -m pip install -q 'playwright>=1.40'
