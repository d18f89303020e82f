"""kubetm/labs/helm_templates.py: the parts of charts/mychart its checks rely on (values files that
differ where the precedence check looks, the config checksum and the random annotation). No cluster."""

from __future__ import annotations

import yaml

from .conftest import REPO

MYCHART = REPO / "charts" / "mychart"


def test_mychart_values_files_differ_where_the_precedence_check_looks():
    base = yaml.safe_load((MYCHART / "values.yaml").read_text())
    prod = yaml.safe_load((MYCHART / "values_prod.yaml").read_text())
    assert base["replicaCount"] != prod["replicaCount"]
    for key in ("MESSAGE", "ENVIRONMENT"):
        assert base["configmap"]["data"][key] != prod["configmap"]["data"][key]
    assert "image" not in prod  # the image tag shows what only values.yaml sets


def test_mychart_rolls_on_config_checksum_and_random_annotation():
    text = (MYCHART / "templates" / "deployment.yaml").read_text()
    assert (
        'checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}'
        in text
    )
    assert "randAlphaNum" in text
    # the checksum covers only the app's configuration, not the per-revision release info
    assert ".Release.Revision" not in (MYCHART / "templates" / "configmap.yaml").read_text()
