"""Lab `authentication` — Authentication (중급): client certificates, anonymous requests,
ServiceAccount tokens, kubeconfig contexts.

manifests/authentication/ (the course page's YAML): the lab namespace (the course's nm-01), the
course's pod-1 in it, and a RoleBinding that lets its default ServiceAccount read there (kubetm's
addition, so the token has something it may do); steps/default-token.yaml: the token Secret the
1.24+ update has you write. The course's two clusters (context-a, context-b) are two contexts to
the one cluster, context-b with the ServiceAccount's token.

Requests to the API server go out as a plain HTTPS client from the host (kubetm/host/net.py:
standard library ssl, the kubeconfig's CA, client certificate or a bearer token), as the course's
curl does; the last check goes through the Kubernetes client with a second kubeconfig context.
Tokens and keys are never printed.
"""

from __future__ import annotations

from kubetm.errors import Forbidden, KubetmError
from kubetm.labs.apiaccess import (
    SA_TOKEN_TYPE,
    api,
    claims,
    count,
    hidden,
    kubeconfig_file,
    message,
    sa_token,
    whoami,
)
from kubetm.labs.base import Check, Lab

SA = "default"
TOKEN_SECRET = "default-token"
OTHER_NS = "kube-system"
ADMIN_GROUPS = ("kubeadm:cluster-admins", "system:masters")


def _names(data) -> list[str]:
    return [i["metadata"]["name"] for i in (data or {}).get("items") or []]


def client_certificate(ctx) -> tuple[bool, str]:
    """The kubeconfig's client certificate gets 200 on /api/v1/nodes over plain HTTPS; the
    certificate's subject is the user (CN) and its groups (O)."""
    status, data = api(ctx.kube, "/api/v1/nodes", client_cert=True)
    user = whoami(ctx.kube, client_cert=True)
    groups = [g for g in user.get("groups") or [] if g != "system:authenticated"]
    admin = [g for g in groups if g in ADMIN_GROUPS]
    ok = status == 200 and bool(admin)
    nodes = ", ".join(_names(data)) if status == 200 else message(data)
    note = (
        " (kubeadm >= 1.29: the admin is in kubeadm:cluster-admins, bound to cluster-admin, "
        "no longer in system:masters)"
        if "kubeadm:cluster-admins" in admin
        else ""
    )
    return ok, (
        f"GET /api/v1/nodes with the client certificate of context {ctx.kube.context} -> "
        f"{status} ({nodes}); the API server sees user {user.get('username')}, groups "
        f"{', '.join(groups) or 'none'}{note}"
    )


def anonymous_forbidden(ctx) -> tuple[bool, str]:
    """Without credentials the request is system:anonymous: 403 on /api/v1/nodes."""
    status, data = api(ctx.kube, "/api/v1/nodes")
    said = message(data)
    ok = status == 403 and "system:anonymous" in said
    return ok, f"GET /api/v1/nodes without credentials -> {status}: {said}"


def _token_secrets(ctx) -> list[dict]:
    return [
        s
        for s in ctx.kube.list("Secret", namespace=ctx.namespace)
        if s.get("type") == SA_TOKEN_TYPE
    ]


def no_token_secret_by_default(ctx) -> tuple[bool, str]:
    """The namespace's default ServiceAccount exists without a token Secret (since 1.24)."""
    ctx.delete_step("default-token")  # an earlier verify's Secret: start from none
    sa = ctx.kube.watch_until(
        "ServiceAccount",
        SA,
        lambda o: o is not None,
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"serviceaccount {SA}",
    )
    listed = [r.get("name") for r in sa.get("secrets") or []]
    secrets = [s["metadata"]["name"] for s in _token_secrets(ctx)]
    ok = not listed and not secrets
    return ok, (
        f"serviceaccount {SA} in {ctx.namespace}: secrets {listed or 'none'}; "
        f"{SA_TOKEN_TYPE} Secrets in the namespace: {', '.join(secrets) or 'none'}"
    )


def token_secret_filled(ctx) -> tuple[bool, str]:
    """steps/default-token: the token controller writes data.token (a JWT for the
    ServiceAccount), data.ca.crt and data.namespace into the Secret."""
    ctx.apply_step("default-token")
    token = sa_token(ctx, TOKEN_SECRET)
    secret = ctx.kube.get("Secret", TOKEN_SECRET, namespace=ctx.namespace) or {}
    keys = sorted((secret.get("data") or {}).keys())
    sub = claims(token).get("sub")
    want = f"system:serviceaccount:{ctx.namespace}:{SA}"
    ok = sub == want and {"ca.crt", "namespace", "token"} <= set(keys)
    return ok, (
        f"secret {TOKEN_SECRET} (type {secret.get('type')}): data {', '.join(keys)}; "
        f"data.token {hidden(token)}, a JWT for {sub}"
    )


def token_rights(ctx) -> tuple[bool, str]:
    """The token gets 200 where its RoleBinding lets it read, 403 on another namespace's pods."""
    token = sa_token(ctx, TOKEN_SECRET)
    own, own_data = api(ctx.kube, f"/api/v1/namespaces/{ctx.namespace}/pods", token=token)
    other, other_data = api(ctx.kube, f"/api/v1/namespaces/{OTHER_NS}/pods", token=token)
    user = whoami(ctx.kube, token=token).get("username")
    ok = own == 200 and other == 403
    return ok, (
        f"as {user}: GET /api/v1/namespaces/{ctx.namespace}/pods -> {own} ({count(own_data)}"
        f"{': ' + ', '.join(_names(own_data)) if own == 200 else ''}); "
        f"GET /api/v1/namespaces/{OTHER_NS}/pods -> {other}: {message(other_data)}"
    )


def kubeconfig_contexts(ctx) -> tuple[bool, str]:
    """A kubeconfig with two contexts to the same cluster: switching the context switches the
    identity (the admin's certificate vs the ServiceAccount's token)."""
    from kubetm.k8s import Kube

    token = sa_token(ctx, TOKEN_SECRET)
    tls = ctx.kube.tls_files()
    if not tls.get("cert_file"):
        raise KubetmError(f"context {ctx.kube.context} has no client certificate")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "cluster-a",
                "cluster": {"server": tls["server"], "certificate-authority": tls["ca_file"]},
            }
        ],
        "users": [
            {
                "name": "admin-a",
                "user": {"client-certificate": tls["cert_file"], "client-key": tls["key_file"]},
            },
            {"name": "admin-b", "user": {"token": token}},
        ],
        "contexts": [
            {"name": "context-a", "context": {"cluster": "cluster-a", "user": "admin-a"}},
            {
                "name": "context-b",
                "context": {
                    "cluster": "cluster-a",
                    "user": "admin-b",
                    "namespace": ctx.namespace,
                },
            },
        ],
        "current-context": "context-a",
    }
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    seen: dict[str, str] = {}
    nodes: dict[str, str] = {}
    with kubeconfig_file(config) as path:
        for name in ("context-a", "context-b"):
            kube = Kube(kubeconfig=path, context=name)
            info = ((kube.create(review).get("status") or {}).get("userInfo")) or {}
            seen[name] = str(info.get("username"))
            try:
                nodes[name] = f"{len(kube.list('Node'))} nodes"
            except Forbidden:
                nodes[name] = "Forbidden"
    want_sa = f"system:serviceaccount:{ctx.namespace}:{SA}"
    ok = (
        seen["context-b"] == want_sa
        and seen["context-a"] != want_sa
        and nodes["context-a"] != "Forbidden"
        and nodes["context-b"] == "Forbidden"
    )
    return ok, (
        "one kubeconfig (temporary, 0600, removed), one cluster (the course's cluster-b is the "
        "same cluster here), two contexts: "
        + "; ".join(f"context {n} -> user {seen[n]}, list nodes: {nodes[n]}" for n in seen)
        + f" (token {hidden(token)})"
    )


LAB = Lab(
    name="authentication",
    title="인증 — Authentication",
    lesson=(
        "Who the API server says you are: a client certificate (user = CN, groups = O), nobody "
        "(system:anonymous), a ServiceAccount token (a Secret you ask for since 1.24), and the "
        "kubeconfig context that picks one. The YAML is the course page's (pod-1); nm-01 is "
        "kubetm-lab-authentication. Deviations: the RoleBinding default-view and the token "
        "Secret default-token are kubetm's (since 1.24 no token Secret is made); the course's "
        "cluster-b is the same cluster here: context-b (user admin-b) carries the "
        "ServiceAccount's token, context-a (admin-a) the admin's certificate"
    ),
    part="중급",
    page="k8s/07-intermediate-basic-resource/authentication",
    checks=(
        Check(
            "client-certificate",
            client_certificate,
            "GET /api/v1/nodes over plain HTTPS with the kubeconfig's client certificate -> 200; "
            "the user and its admin group (kubeadm:cluster-admins on kubeadm >= 1.29)",
            timeout=30,
        ),
        Check(
            "anonymous-forbidden",
            anonymous_forbidden,
            "the same request without credentials -> 403 for system:anonymous",
            timeout=30,
        ),
        Check(
            "no-token-secret-by-default",
            no_token_secret_by_default,
            "the default ServiceAccount has no token Secret (Kubernetes >= 1.24)",
            timeout=30,
        ),
        Check(
            "token-secret-filled",
            token_secret_filled,
            "steps/default-token (type kubernetes.io/service-account-token) gets data.token, a JWT "
            "for system:serviceaccount:<ns>:default",
            timeout=60,
        ),
        Check(
            "token-rights",
            token_rights,
            "the token: 200 on its own namespace's pods, 403 on kube-system's",
            timeout=30,
        ),
        Check(
            "kubeconfig-contexts",
            kubeconfig_contexts,
            "a second kubeconfig context to the same cluster with the token switches the identity",
            timeout=60,
        ),
    ),
)

__all__ = ["LAB"]
