"""kubetm/errors.py: KubetmError formatting (API errors: tests/unit/k8s/test_errors.py)."""

from __future__ import annotations

from kubetm.errors import KubetmError, format_error


def test_format_error_one_line_with_hint():
    e = KubetmError("bad\nthing   happened", hint="try\nthis")
    assert format_error(e) == "error: bad thing happened (try this)"
    assert e.exit_code == 1
    assert format_error(KubetmError("x", exit_code=3)) == "error: x"
    assert format_error(ValueError("v")) == "error: ValueError: v"


def test_long_messages_are_capped():
    assert len(KubetmError("x" * 5000).message) <= 400
