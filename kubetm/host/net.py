"""Plain network checks from the host: is a host port free, GET a loopback URL, wait until it answers.

Used for what kubetm publishes on the host itself (the local registry on 127.0.0.1:5001, a course
image started by `kubetm image run`, the nodes' loopback addresses). Requests never go through a
proxy (every address here is local). Nothing here prints.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from kubetm.errors import KubetmError


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``host:port`` can be bound now (nothing listens there)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def bind_problem(port: int, host: str = "127.0.0.1") -> str | None:
    """Why ``host:port`` cannot be bound now: "in use" (something listens there), "not available"
    (the host has no such address: 127.0.0.2 on macOS), another OS error's text; None when free."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return "in use"
            if e.errno == errno.EADDRNOTAVAIL:
                return "not available"
            return e.strerror or str(e)
    return None


def address_available(host: str) -> bool:
    """Whether this host can bind ``host`` at all (any free port)."""
    return bind_problem(0, host) != "not available"


def http_get(url: str, timeout: float = 5, limit: int = -1) -> tuple[int, bytes]:
    """One GET without any proxy: (status, body, at most ``limit`` bytes when given). An HTTP
    error status is returned, not raised; a refused/reset/timed-out connection raises OSError."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    # read() with no size: http.client's read(-1) on a chunked body returns the raw chunk framing
    # (a Node.js answer "pod-1" came back as "pod-1 0").
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, (r.read() if limit < 0 else r.read(limit))
    except urllib.error.HTTPError as e:
        return e.code, (e.read() if limit < 0 else e.read(limit))


def https_request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
    token: str | None = None,
    timeout: float = 10,
) -> tuple[int, bytes]:
    """One HTTPS request without any proxy, as a plain client does it: the server checked against
    ``ca_file``, a client certificate (``cert_file``/``key_file``) or a bearer ``token`` when
    given, nothing otherwise. (status, body); an HTTP error status is returned, not raised."""
    import ssl
    import urllib.error
    import urllib.request

    tls = ssl.create_default_context(cafile=ca_file)
    if cert_file:
        tls.load_cert_chain(cert_file, key_file)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=tls)
    )
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with opener.open(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_answer(
    url: str, alive: Callable[[], None], timeout: float, attempt_timeout: float = 3, what: str = ""
) -> bytes:
    """GET ``url`` until it answers HTTP 2xx, retrying (exponential backoff, at most 1 s apart) while
    the server starts. ``alive()`` runs after each failed try and raises to stop early (the server's
    container exited). Past ``timeout``: one line naming the last failure."""
    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_delay,
        wait_exponential,
    )

    class NotYet(Exception):
        pass

    def attempt() -> bytes:
        try:
            status, body = http_get(url, timeout=attempt_timeout)
        except OSError as e:
            alive()
            raise NotYet(str(e)) from None
        if not 200 <= status < 300:
            alive()
            raise NotYet(f"HTTP {status}")
        return body

    try:
        for a in Retrying(
            retry=retry_if_exception_type(NotYet),
            stop=stop_after_delay(timeout),
            wait=wait_exponential(multiplier=0.05, max=1),
            reraise=True,
        ):
            with a:
                return attempt()
    except NotYet as e:
        raise KubetmError(
            f"{what or url} did not answer within {timeout:.0f} s", hint=str(e)
        ) from None
    raise AssertionError("unreachable")  # pragma: no cover
