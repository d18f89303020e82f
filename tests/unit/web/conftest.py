"""The headless-browser fixtures (`browser`, `artifacts`) of tests/browser_support.py, for every
web test module here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from browser_support import artifacts, browser  # noqa: F401  (fixtures)
