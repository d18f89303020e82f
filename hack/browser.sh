#!/usr/bin/env bash
# Browser for the web page tests (tests/*/test_web*): Debian's chromium + a Korean font, and
# Playwright's Python package in the venv (it drives the system chromium; no browser download).
# Usage: hack/browser.sh [PYTHON]   (make install calls it; needs root or sudo for apt-get)
set -euo pipefail
PY=${1:-.venv/bin/python}
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi -e nanum -e 'cjk'; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-nanum >/dev/null
  else
    echo "hack/browser.sh: install chromium and a Korean font yourself (no apt-get here)" >&2
  fi
fi
"$PY" -m pip install -q 'playwright>=1.40'
