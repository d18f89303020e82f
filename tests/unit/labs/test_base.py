"""kubetm/labs/base.py: Lab and Check validation, placeholders (no cluster)."""

from __future__ import annotations

import pytest

from kubetm.labs.base import NOT_IMPLEMENTED, Check, Lab, not_implemented

from .conftest import _lab, ok_check


def test_lab_defaults_and_validation(tmp_path):
    lab = _lab(tmp_path, checks=[ok_check("a")])
    assert lab.namespace == "kubetm-lab-fake" and lab.namespaces == ("kubetm-lab-fake",)
    assert [p.name for p in lab.manifest_files()] == ["00-namespace.yaml", "10-pod.yaml"]
    assert [p.name for p in lab.step_files()] == ["extra.yaml"]
    assert lab.step_path("extra") == (lab.folder / "steps" / "extra.yaml").resolve()
    with pytest.raises(ValueError):
        lab.step_path("../00-namespace")
    with pytest.raises(ValueError):
        Lab("Bad_Name", "t", "l")
    with pytest.raises(ValueError):
        Lab("dup", "t", "l", checks=(ok_check("a"), ok_check("a")))
    with pytest.raises(ValueError):
        Lab("lonely", "t", "l", exclusive=True)  # must say why
    with pytest.raises(ValueError):
        Check("Not Kebab", lambda ctx: (True, ""))


def test_placeholder_never_passes(tmp_path):
    fn = not_implemented("later")
    assert fn(None) == (False, NOT_IMPLEMENTED)
    assert fn.not_implemented is True
