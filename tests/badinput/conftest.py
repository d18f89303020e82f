"""Fixtures for the bad-input corpus: the e2e `cluster` and `namespace` fixtures (no skips: a missing
cluster FAILS, locally and under CI=true) for the cases that reach the cluster."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "kubetm_badinput_e2e_conftest", Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"
)
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)
sys.modules[_spec.name] = e2e  # test_badinput imports its kubectl helper and CONTEXT

cluster = e2e.cluster  # session fixture: fails (never skips) without context kind-kubetm
namespace = e2e.namespace  # a fresh namespace per test, deleted afterwards
