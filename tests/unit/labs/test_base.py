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
        Lab("lonely", "t", "l", shares=("cluster",))  # must say why
    with pytest.raises(ValueError):
        Check("Not Kebab", lambda ctx: (True, ""))


def test_placeholder_never_passes(tmp_path):
    fn = not_implemented("later")
    assert fn(None) == (False, NOT_IMPLEMENTED)
    assert fn.not_implemented is True


def test_shares_are_validated_and_decide_conflicts():
    from kubetm.labs.base import conflicts

    lab = Lab("svc", "t", "l", shares=("nodeport:30001", "nodeport:30001"), shares_reason="r")
    assert lab.shares == ("nodeport:30001",) and not lab.exclusive
    assert Lab("alone", "t", "l", shares=("cluster",), shares_reason="stops a node").exclusive
    with pytest.raises(ValueError):
        Lab("typo", "t", "l", shares=("nodeport30001",), shares_reason="r")
    assert conflicts(("nodeport:30001",), ("nodeport:30001", "nodes"))
    assert not conflicts(("nodeport:30001",), ("nodeport:30002",))
    assert conflicts(("cluster",), ())
    assert not conflicts((), ())
