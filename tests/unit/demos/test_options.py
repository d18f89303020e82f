"""Demo knobs: every bad value is one clear line (exit 2) before any API call."""

from __future__ import annotations

import pytest

from kubetm.demos.options import DemoOptions, validate_options, validate_plot
from kubetm.errors import KubetmError


def test_defaults_are_valid():
    opts = validate_options("rolling-update")
    assert opts == DemoOptions(2, "v1", "v2", None, None, None, 20.0, 2.0)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"replicas": 0}, "--replicas"),
        ({"replicas": -1}, "--replicas"),
        ({"replicas": 11}, "--replicas"),
        ({"rate": 0}, "--rate"),
        ({"rate": -5}, "--rate"),
        ({"rate": float("nan")}, "--rate"),
        ({"rate": 1000}, "--rate"),
        ({"duration": -1}, "--duration"),
        ({"min_ready_seconds": -1}, "--min-ready-seconds"),
        ({"from_tag": "v2"}, "same tag"),
        ({"to_tag": "v1"}, "same tag"),
        ({"to_tag": "bad:tag"}, "not a valid image tag"),
        ({"to_tag": ".hidden"}, "not a valid image tag"),
        ({"to_tag": "-x"}, "not a valid image tag"),
        ({"to_tag": ""}, "not a valid image tag"),
        ({"from_tag": "a" * 129}, "not a valid image tag"),
        ({"to_tag": "v 2"}, "not a valid image tag"),
        ({"max_surge": "-1"}, "--max-surge"),
        ({"max_surge": "150%"}, "--max-surge"),
        ({"max_unavailable": "abc"}, "--max-unavailable"),
        ({"max_surge": 0}, "cannot both be 0"),
        ({"max_surge": "0%", "max_unavailable": "0"}, "cannot both be 0"),
    ],
)
def test_bad_values_are_one_clear_line(kw, words):
    with pytest.raises(KubetmError) as e:
        validate_options("rolling-update", **kw)
    assert words in e.value.message and "\n" not in str(e.value) and e.value.exit_code == 2


def test_good_values():
    opts = validate_options(
        "rolling-update",
        replicas=3,
        from_tag="v2",
        to_tag="v3_rc.1-a",
        max_surge="50%",
        max_unavailable=1,
        min_ready_seconds=0,
        rate=40,
        duration=0,
    )
    assert (opts.max_surge, opts.max_unavailable, opts.min_ready_seconds, opts.rate) == (
        "50%",
        1,
        0,
        40.0,
    )
    assert validate_options("rolling-update", max_surge="0", max_unavailable="1").max_surge == 0
    assert validate_options("rolling-update", to_tag="_" + "a" * 127).to_tag.startswith("_")


@pytest.mark.parametrize("strategy", ["recreate", "blue-green"])
def test_surge_only_for_rolling_update(strategy):
    with pytest.raises(KubetmError, match="only applies to the rolling-update"):
        validate_options(strategy, max_surge=1)


def test_unknown_strategy():
    with pytest.raises(KubetmError, match="unknown demo") as e:
        validate_options("canary")
    assert "rolling-update" in (e.value.hint or "")


def test_plot_validation():
    assert validate_plot(None) is None
    assert validate_plot("out/run.svg") == "out/run.svg"
    with pytest.raises(KubetmError, match="unknown format"):
        validate_plot("run.jpg")
