"""What the authentication and authorization labs share: the API server reached as a plain HTTPS
client (no Kubernetes library: the lesson is what goes on the wire), ServiceAccount tokens,
SelfSubjectReview ("who am I") and SelfSubjectAccessReview ("may I").

Tokens are never printed: details say ``<hidden, N bytes>`` and name the token's subject.

Example:
    status, data = api(ctx.kube, "/api/v1/nodes", client_cert=True)   # 200, a NodeList
    status, data = api(ctx.kube, "/api/v1/nodes")                     # 403, system:anonymous
    tok = sa_token(ctx, "default-token")
    allowed, why = may(ctx.kube, tok, "list", "pods", "kubetm-lab-authorization")
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubetm.errors import KubetmError

SA_TOKEN_TYPE = "kubernetes.io/service-account-token"


def api(
    kube,
    path: str,
    *,
    client_cert: bool = False,
    token: str | None = None,
    method: str = "GET",
    body: dict | None = None,
) -> tuple[int, Any]:
    """One HTTPS request to the context's API server, verified against the kubeconfig's CA, with
    the kubeconfig's client certificate (``client_cert``), a bearer ``token``, or no credentials.
    (status, the JSON body as a dict, or the text when it is not JSON)."""
    from kubetm.host import net

    tls = kube.tls_files()
    if client_cert and not tls.get("cert_file"):
        raise KubetmError(f"context {kube.context} has no client certificate (token or plugin?)")
    status, raw = net.https_request(
        str(tls["server"]).rstrip("/") + path,
        method=method,
        body=json.dumps(body).encode() if body is not None else None,
        ca_file=tls.get("ca_file"),
        cert_file=tls.get("cert_file") if client_cert else None,
        key_file=tls.get("key_file") if client_cert else None,
        token=token,
    )
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def message(data: Any) -> str:
    """The API's own words: a Status's message, else the text."""
    if isinstance(data, dict):
        return str(data.get("message") or data.get("reason") or data.get("kind") or "")
    return " ".join(str(data).split())[:160]


def count(data: Any) -> str:
    """ "3 items" for a list answer, else the kind."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return f"{len(data['items'])} items"
    return str(data.get("kind")) if isinstance(data, dict) else "?"


def whoami(kube, *, client_cert: bool = False, token: str | None = None) -> dict:
    """SelfSubjectReview: the user the API server sees for these credentials ({username, groups})."""
    status, data = api(
        kube,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        client_cert=client_cert,
        token=token,
        method="POST",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    if status != 201 or not isinstance(data, dict):
        raise KubetmError(f"SelfSubjectReview answered {status}: {message(data)}")
    return (data.get("status") or {}).get("userInfo") or {}


def may(
    kube, token: str, verb: str, resource: str, namespace: str | None = None
) -> tuple[bool, str]:
    """SelfSubjectAccessReview made with ``token``: (allowed, the authorizer's reason)."""
    attrs: dict[str, str] = {"verb": verb, "resource": resource}
    if namespace:
        attrs["namespace"] = namespace
    status, data = api(
        kube,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        token=token,
        method="POST",
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        },
    )
    if status != 201 or not isinstance(data, dict):
        raise KubetmError(f"SelfSubjectAccessReview answered {status}: {message(data)}")
    st = data.get("status") or {}
    return bool(st.get("allowed")), str(st.get("reason") or "")


def sa_token(ctx, secret: str, namespace: str | None = None) -> str:
    """Watch a ``kubernetes.io/service-account-token`` Secret until the token controller has
    filled ``data.token``; the decoded token (never print it)."""
    obj = ctx.kube.watch_until(
        "Secret",
        secret,
        lambda s: bool(((s or {}).get("data") or {}).get("token")),
        namespace=namespace or ctx.namespace,
        timeout=ctx.timeout,
        what=f"secret {secret}'s data.token",
    )
    return base64.b64decode(obj["data"]["token"]).decode()


def claims(token: str) -> dict:
    """The JWT's payload (its claims; the signature is not checked here: the API server does)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def hidden(token: str) -> str:
    return f"<hidden, {len(token)} bytes>"


@contextmanager
def kubeconfig_file(config: dict) -> Iterator[str]:
    """A kubeconfig written to a private temporary file (0600), removed afterwards."""
    import yaml

    folder = tempfile.mkdtemp(prefix="kubetm-kubeconfig-")
    path = os.path.join(folder, "config")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)
        yield path
    finally:
        for p in (path,):
            if os.path.exists(p):
                os.remove(p)
        os.rmdir(folder)
