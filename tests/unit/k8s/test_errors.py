"""kubetm/k8s/errors.py: API errors -> one typed line; what counts as transient."""

from __future__ import annotations

import pytest
import urllib3

from kubetm.errors import Conflict, Forbidden, Invalid, NotFound, Unreachable
from kubetm.k8s.errors import map_api_error


@pytest.mark.parametrize(
    "status,expect",
    [
        (404, 'pod default/p: pods "p" not found'),
        (403, "pod default/p: forbidden: nope"),
        (422, 'pod default/p: rejected by the API server: Pod "p" is invalid'),
        (400, "pod default/p: rejected by the API server: bad"),
        (409, "pod default/p: conflict: busy"),
    ],
)
def test_map_api_error_uses_api_message(api_error, status, expect):
    msg = {
        404: 'pods "p" not found',
        403: "nope",
        422: 'Pod "p" is invalid',
        400: "bad",
        409: "busy",
    }[status]
    err = map_api_error(api_error(status, msg), "pod default/p")
    assert err.message == expect


def test_map_api_error_unauthorized_has_hint(api_error):
    err = map_api_error(api_error(401, "Unauthorized"), "list pods")
    assert "unauthorized" in err.message and "--context" in err.hint


@pytest.mark.parametrize(
    "status,kind",
    [
        (404, NotFound),
        (409, Conflict),
        (400, Invalid),
        (422, Invalid),
        (401, Forbidden),
        (403, Forbidden),
    ],
)
def test_map_api_error_is_typed(api_error, status, kind):
    """Callers catch the type, never read the status: the exit code stays 1."""
    err = map_api_error(api_error(status, "x"), "pod default/p")
    assert type(err) is kind and err.exit_code == 1


def test_map_connection_error_says_cluster_is_down():
    exc = urllib3.exceptions.MaxRetryError(
        None, "/api", urllib3.exceptions.NewConnectionError(None, "refused")
    )
    err = map_api_error(exc, "x", "https://127.0.0.1:6443")
    assert (
        err.message
        == "cannot reach the API server at https://127.0.0.1:6443: is the cluster running?"
    )
    assert err.hint == "try `kubetm cluster up`"
    assert isinstance(err, Unreachable)


def test_tls_eof_from_a_restarting_api_server_is_retried_but_bad_certificates_are_not():
    import ssl

    import urllib3

    from kubetm.k8s.errors import is_connection_error

    eof = urllib3.exceptions.MaxRetryError(
        None,
        "/api",
        urllib3.exceptions.SSLError(
            ssl.SSLEOFError(
                8, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol"
            )
        ),
    )
    assert is_connection_error(eof)
    bad_cert = urllib3.exceptions.MaxRetryError(
        None,
        "/api",
        urllib3.exceptions.SSLError(
            ssl.SSLCertVerificationError(
                1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
            )
        ),
    )
    assert not is_connection_error(bad_cert)


def test_status0_api_exception_from_a_dropped_tls_connection_is_retried():
    from kubernetes.client.exceptions import ApiException

    from kubetm.k8s.errors import is_connection_error, is_retryable

    eof = ApiException(
        status=0,
        reason="SSLError\n[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol",
    )
    assert is_connection_error(eof) and is_retryable(eof)
    cert = ApiException(
        status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    )
    assert not is_retryable(cert)
