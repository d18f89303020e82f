"""Unit tests never reach a cluster: helm (which the helm labs run) is replaced by a script that
fails, unless a test sets KUBETM_HELM to its own fake."""
from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _no_real_helm(tmp_path_factory, monkeypatch):
    fake = tmp_path_factory.getbasetemp() / "no-real-helm"
    if not fake.exists():
        fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('Error: helm must not run in unit tests\\n')\n"
                        "sys.exit(1)\n")
        fake.chmod(0o755)
    monkeypatch.setenv("KUBETM_HELM", str(fake))
