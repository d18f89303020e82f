"""API errors -> typed one-line errors (kubetm/errors.py), and what is worth retrying.

``map_api_error`` is the one place that reads an ``ApiException``'s status: everything above the
client catches ``NotFound``, ``Conflict``, ``Invalid``, ``Forbidden``, ``Timeout`` or
``Unreachable`` instead.

Example:
    try:
        ...
    except Exception as exc:
        raise map_api_error(exc, "get pod default/p", server) from exc
"""

from __future__ import annotations

import json
import re
from typing import Any

from kubetm.errors import Conflict, Forbidden, Invalid, KubetmError, NotFound, Unreachable

__all__ = [
    "map_api_error",
    "is_api_exception",
    "status_of",
    "api_message",
    "is_connection_error",
    "is_tls_error",
    "is_retryable",
    "is_schema_error",
    "unknown_fields",
    "retry_after_seconds",
    "RETRY_STATUSES",
]

RETRY_STATUSES = {429, 500, 502, 503, 504}
TRANSIENT_STATUS0 = (
    "EOF occurred",
    "UNEXPECTED_EOF",
    "Connection reset",
    "ConnectionReset",
    "Connection refused",
    "ConnectionRefused",
    "Connection aborted",
    "RemoteDisconnected",
)

# What the API server says about a field its schema does not have. Server-side apply answers
# HTTP 500 "failed to create typed patch object (/v1, Kind=Pod): .spec.x: field not declared in
# schema"; strict field validation answers 400 'strict decoding error: unknown field "spec.x"'.
_SMD_UNKNOWN = re.compile(r"(?:^|\s)\.?([^\s:]+): field not declared in schema")
_STRICT_UNKNOWN = re.compile(r'unknown field "([^"]+)"')


def api_message(exc: Any) -> str:
    """The API server's human message from an ApiException (Status body), else the reason."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return str(data["message"])
        except ValueError:
            return str(body)[:300]
    return str(getattr(exc, "reason", "") or "unknown error")


def status_of(exc: BaseException | None) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def is_api_exception(exc: BaseException) -> bool:
    try:
        from kubernetes.client.exceptions import ApiException
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, ApiException)


def is_tls_error(exc: BaseException) -> bool:
    import ssl

    import urllib3

    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if (
            isinstance(cur, (ssl.SSLEOFError, ssl.SSLZeroReturnError))
            or "EOF occurred" in str(cur)
            or "UNEXPECTED_EOF" in str(cur)
        ):
            return False  # the server dropped the connection (restarting): a connection error
        if isinstance(cur, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return True
        cur = (
            getattr(cur, "reason", None)
            if isinstance(getattr(cur, "reason", None), BaseException)
            else cur.__cause__ or cur.__context__
        )
    return False


def is_connection_error(exc: BaseException) -> bool:
    """True for refused/reset connections and timeouts (not TLS failures).

    The kubernetes client turns an SSL-level failure into ApiException(status=0): a server that
    drops connections while it restarts shows up so ("EOF occurred"); a bad certificate too, and
    that one is not a connection error.
    """
    import urllib3

    if is_api_exception(exc) and not status_of(exc):
        reason = str(getattr(exc, "reason", "") or exc)
        return (
            any(t in reason for t in TRANSIENT_STATUS0)
            and "CERTIFICATE_VERIFY_FAILED" not in reason
        )
    if is_tls_error(exc):
        return False
    return isinstance(
        exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)
    ) and not is_api_exception(exc)


def unknown_fields(message: str) -> list[str]:
    """Field paths the server says its schema does not declare (``spec.affinity.x``), in order."""
    found = [m.group(1) for m in _STRICT_UNKNOWN.finditer(message or "")]
    found += [m.group(1).lstrip(".") for m in _SMD_UNKNOWN.finditer(message or "")]
    return list(dict.fromkeys(found))


def is_schema_error(exc: BaseException) -> bool:
    """The object itself is wrong (an unknown field, strict decoding): permanent, never retried,
    even when the server answers it with HTTP 500 (server-side apply does)."""
    if not is_api_exception(exc) or status_of(exc) not in (400, 422, 500):
        return False
    msg = api_message(exc)
    return (
        "strict decoding error" in msg
        or "field not declared in schema" in msg
        or "failed to create typed patch object" in msg
    )


def is_retryable(exc: BaseException) -> bool:
    if is_api_exception(exc):
        if is_schema_error(exc):
            return False
        return status_of(exc) in RETRY_STATUSES or is_connection_error(exc)
    return is_connection_error(exc)


def retry_after_seconds(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("Retry-After")
    except AttributeError:
        return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class UnknownField(Invalid):
    """A field the server's schema does not declare; ``path`` is its dotted path."""

    def __init__(self, message: str, path: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.path = path


def map_api_error(exc: BaseException, what: str = "", server: str = "") -> KubetmError:
    """Turn an ApiException (or connection error) into a one-line typed KubetmError."""
    what = what or "request"
    if is_api_exception(exc):
        status = status_of(exc)
        msg = api_message(exc)
        if is_schema_error(exc):
            fields = unknown_fields(msg)
            if fields:
                return UnknownField(f"{what}: unknown field {fields[0]}", path=fields[0])
            return Invalid(f"{what}: rejected by the API server: {msg}")
        if status == 404 and msg.startswith('namespaces "') and msg.endswith('" not found'):
            missing = msg.split('"')[1]
            return NotFound(
                f"{what}: namespace {missing} does not exist",
                hint=f"create it (kubectl create namespace {missing}) or choose another with -n",
            )
        if status == 404:
            return NotFound(
                f"{what}: not found ({msg})"
                if msg and "not found" not in msg
                else f"{what}: {msg or 'not found'}"
            )
        if status == 401:
            return Forbidden(
                f"{what}: unauthorized: the API server rejected the credentials",
                hint="check --kubeconfig/--context",
            )
        if status == 403:
            return Forbidden(f"{what}: forbidden: {msg}")
        if status == 409:
            return Conflict(f"{what}: conflict: {msg}")
        if status in (400, 422):
            return Invalid(f"{what}: rejected by the API server: {msg}")
        if status == 410:
            return KubetmError(f"{what}: resource version too old: {msg}")
        if status in RETRY_STATUSES:
            return KubetmError(
                f"{what}: the API server kept failing (HTTP {status}: {msg})",
                hint="is the cluster overloaded? try again",
            )
        return KubetmError(f"{what}: API error (HTTP {status}): {msg}")
    if is_tls_error(exc):
        return Unreachable(
            f"TLS error talking to the API server at {server or '?'}: {exc.__class__.__name__}",
            hint="is the kubeconfig for this cluster current? try `kubetm cluster up`",
        )
    if is_connection_error(exc):
        return Unreachable(
            f"cannot reach the API server at {server or '?'}: is the cluster running?",
            hint="try `kubetm cluster up`",
        )
    return KubetmError(f"{what}: {exc.__class__.__name__}: {exc}")
