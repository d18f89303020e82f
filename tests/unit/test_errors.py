"""kubetm/errors.py: KubetmError formatting and Secret redaction (API errors:
tests/unit/k8s/test_errors.py)."""

from __future__ import annotations

import base64

from kubetm import errors as errors_mod
from kubetm.errors import KubetmError, format_error, redact, register_secret, register_secret_object


def test_format_error_one_line_with_hint():
    e = KubetmError("bad\nthing   happened", hint="try\nthis")
    assert format_error(e) == "error: bad thing happened (try this)"
    assert e.exit_code == 1
    assert format_error(KubetmError("x", exit_code=3)) == "error: x"
    assert format_error(ValueError("v")) == "error: ValueError: v"


def test_long_messages_are_capped():
    assert len(KubetmError("x" * 5000).message) <= 400


# ====================================================================== Secret redaction


def test_redact_hides_registered_values_plain_and_base64():
    register_secret("correct-horse-battery")
    text = "x correct-horse-battery y " + base64.b64encode(b"correct-horse-battery").decode()
    assert redact(text) == "x <redacted> y <redacted>"
    assert (
        "correct-horse" not in KubetmError(f"boom {text}", hint="correct-horse-battery").__str__()
    )
    assert "correct-horse" not in errors_mod.format_error(ValueError(text))


def test_show_secrets_turns_redaction_off_and_back_on():
    register_secret("shown-on-request-value")
    try:
        errors_mod.show_secrets(True)
        assert (
            errors_mod.secrets_shown()
            and redact("x shown-on-request-value") == "x shown-on-request-value"
        )
    finally:
        errors_mod.show_secrets(False)
    assert redact("x shown-on-request-value") == "x <redacted>"


def test_secret_objects_register_data_and_string_data():
    register_secret_object(
        {
            "kind": "Secret",
            "data": {"a": base64.b64encode(b"from-data-value").decode()},
            "stringData": {"b": "from-string-data"},
        }
    )
    assert redact("from-data-value from-string-data") == "<redacted> <redacted>"
    assert redact(base64.b64encode(b"from-data-value").decode()) == "<redacted>"
    register_secret_object({"kind": "ConfigMap", "data": {"a": "not-a-secret"}})
    assert redact("not-a-secret") == "not-a-secret"
