"""kubetm/labs/helm_hooks.py: what `lab show` says is not covered, and the parts of charts/hookchart
its checks rely on (weights that order differently from names, a CRD the cleanup deletes). No cluster."""

from __future__ import annotations

import re

import yaml

from kubetm.labs import helm_hooks, runner

from .conftest import REPO

HOOKCHART = REPO / "charts" / "hookchart"


def test_chart_analysis_is_listed_as_not_covered_with_why():
    lesson = runner.show("helm-hooks")["lesson"]
    assert "Not covered" in lesson and "03-chart-analysis" in lesson and "tomcat" in lesson


def test_hookchart_weights_make_a_different_order_than_names():
    v = yaml.safe_load((HOOKCHART / "values.yaml").read_text())
    for group in ("weighted", "misspelled"):
        by_weight = [h["name"] for h in sorted(v[group], key=lambda h: int(h["weight"]))]
        by_name = sorted(h["name"] for h in v[group])
        assert by_weight != by_name, (
            f"{group}: weights must change the order, or the check proves nothing"
        )
    text = (HOOKCHART / "templates" / "hooks-install.yaml").read_text()
    assert '"helm.sh/hook-weight"' in text and '"helm.sh/weight"' in text


def test_the_hookchart_crd_is_the_one_the_cleanup_deletes():
    text = (HOOKCHART / "crds" / "crontabs.yaml").read_text()
    assert yaml.safe_load(text)["metadata"]["name"] == helm_hooks.CRD
    assert re.search(r"\{\{", text) is None  # crds/ is not templated
