"""Lab `authorization` — Authorization (중급): RBAC Role/RoleBinding and ClusterRole/ClusterRoleBinding.

manifests/authorization/: namespaces kubetm-lab-authorization (the course's nm-01) and
kubetm-lab-authorization-2 (nm-02); nm-01's default ServiceAccount with Role r-01 (get/list pods)
through rb-01, and svc-1 it may not list; sa-02 (nm-02) with ClusterRole cr-02 (everything)
through ClusterRoleBinding rb-02; a token Secret for each (default-token, sa-02-token). The
course page's YAML, object by object.

Each answer of the API server (plain HTTPS with the ServiceAccount's token, as the course's curl)
is cross-checked against a SelfSubjectAccessReview made with the same token. cr-02 and rb-02 are
cluster-scoped: ``lab delete`` removes them (the cleanup hook, by their kubetm.io/lab label).
"""

from __future__ import annotations

from kubetm.labels import LAB as LAB_KEY
from kubetm.labs.apiaccess import api, count, may, message, sa_token, whoami
from kubetm.labs.base import Check, Lab
from kubetm.labs.observe import observe_until, short

NS1, NS2 = "kubetm-lab-authorization", "kubetm-lab-authorization-2"
OBSERVE_SECONDS = 20.0  # RBAC changes reach the authorizer's cache a moment after the API


SA1 = "default"  # nm-01's ServiceAccount, the subject of the course's rb-01
TOKENS = {SA1: ("default-token", NS1), "sa-02": ("sa-02-token", NS2)}


def _token(ctx, sa: str) -> str:
    secret, namespace = TOKENS[sa]
    return sa_token(ctx, secret, namespace=namespace)


def _path(resource: str, namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/{resource}" if namespace else f"/api/v1/{resource}"


def ask(ctx, token: str, resource: str, namespace: str | None) -> dict:
    """GET the list of ``resource`` with ``token`` and ask SelfSubjectAccessReview (verb list) the
    same question: {"path", "status", "said", "allowed", "reason"}."""
    path = _path(resource, namespace)
    status, data = api(ctx.kube, path, token=token)
    allowed, reason = may(ctx.kube, token, "list", resource, namespace)
    return {
        "path": path,
        "status": status,
        "said": count(data) if status == 200 else short(message(data), 110),
        "allowed": allowed,
        "reason": reason,
    }


def agrees(a: dict) -> bool:
    """The request's answer and the access review say the same thing."""
    return (a["status"] == 200) == a["allowed"]


def line(a: dict) -> str:
    review = "allowed" if a["allowed"] else "denied"
    why = f" ({a['reason']})" if a["reason"] else ""
    return f"GET {a['path']} -> {a['status']} ({a['said']}); access review: {review}{why}"


def _rules(role: dict | None) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for rule in (role or {}).get("rules") or []:
        for group in rule.get("apiGroups") or [""]:
            for res in rule.get("resources") or []:
                out.setdefault((group, res), set()).update(rule.get("verbs") or [])
    return out


def role_diff(ctx) -> str:
    """What the live Role r-01 grants against the course's r-01 (manifests/authorization/30-role.yaml)."""
    from kubetm import manifests

    course = next(
        o
        for o in manifests.load(ctx.lab.folder / "30-role.yaml")
        if o["kind"] == "Role" and o["metadata"]["name"] == "r-01"
    )
    live = ctx.kube.get("Role", "r-01", namespace=NS1)
    if live is None:
        return "Role r-01 does not exist"
    want, have = _rules(course), _rules(live)
    diffs = []
    for key in sorted(set(want) | set(have)):
        name = f"{key[0] + '/' if key[0] else ''}{key[1]}"
        missing = sorted(want.get(key, set()) - have.get(key, set()))
        extra = sorted(have.get(key, set()) - want.get(key, set()))
        if missing:
            diffs.append(f"{name} lacks {', '.join(missing)}")
        if extra:
            diffs.append(f"{name} also grants {', '.join(extra)}")
    return (
        "Role r-01 differs from the course's: " + "; ".join(diffs)
        if diffs
        else "Role r-01 is the course's"
    )


def role_allows_pods(ctx) -> tuple[bool, str]:
    """nm-01's default (Role r-01) lists pods in nm-01: 200, and the access review agrees."""
    token = _token(ctx, SA1)
    a = observe_until(
        lambda: ask(ctx, token, "pods", NS1), lambda a: a["status"] == 200, OBSERVE_SECONDS
    )
    user = whoami(ctx.kube, token=token).get("username")
    ok = a["status"] == 200 and agrees(a)
    detail = f"as {user}: {line(a)}"
    return ok, detail if ok else f"{detail}; {role_diff(ctx)}"


def role_denies_services(ctx) -> tuple[bool, str]:
    """nm-01's default may not list services (svc-1) in nm-01: 403, the access review agrees. (The course page's
    URL /namespaces/nm-01/service is singular: no such resource, 404 even for the admin.)"""
    token = _token(ctx, SA1)
    a = ask(ctx, token, "services", NS1)
    singular, _ = api(ctx.kube, f"/api/v1/namespaces/{NS1}/service", client_cert=True)
    ok = a["status"] == 403 and agrees(a)
    detail = (
        f"as nm-01's default: {line(a)}; the page's singular /api/v1/namespaces/{NS1}/service -> "
        f"{singular} even with the admin's certificate (the resource is services)"
    )
    return ok, detail if ok else f"{detail}; {role_diff(ctx)}"


def role_denies_other_namespace(ctx) -> tuple[bool, str]:
    """A Role counts in its own namespace only: nm-01's default listing pods in nm-02 gets 403."""
    token = _token(ctx, SA1)
    a = ask(ctx, token, "pods", NS2)
    return a["status"] == 403 and agrees(a), f"as nm-01's default: {line(a)}"


def clusterrole_allows_everything(ctx) -> tuple[bool, str]:
    """sa-02 (ClusterRole cr-02 "*" via ClusterRoleBinding rb-02): 200 in every namespace and on
    cluster-scoped resources; the access review agrees each time."""
    token = _token(ctx, "sa-02")
    targets = [
        ("pods", NS1),
        ("services", NS1),
        ("pods", NS2),
        ("pods", "kube-system"),
        ("nodes", None),
    ]

    def all_of() -> list[dict]:
        return [ask(ctx, token, r, ns) for r, ns in targets]

    seen = observe_until(all_of, lambda xs: all(a["status"] == 200 for a in xs), OBSERVE_SECONDS)
    ok = all(a["status"] == 200 and agrees(a) for a in seen)
    return ok, "as sa-02: " + "; ".join(
        f"{a['path']} -> {a['status']}" + ("" if agrees(a) else " (access review DISAGREES)")
        for a in seen
    ) + ("; access review: allowed for each" if ok else "")


def cleanup(ctx) -> None:
    """The cluster-scoped objects of the lab (cr-02, rb-02), found by their kubetm.io/lab label."""
    for kind in ("ClusterRoleBinding", "ClusterRole"):
        objs = ctx.kube.list(kind, selector={LAB_KEY: ctx.lab.name})
        if objs:
            ctx.kube.delete(objs, wait=True, timeout=ctx.timeout)


LAB = Lab(
    name="authorization",
    title="권한 — Authorization (RBAC)",
    lesson=(
        "RBAC: a Role grants verbs on resources in its namespace, a ClusterRole everywhere; a "
        "binding gives them to a ServiceAccount; every answer agrees with a "
        "SelfSubjectAccessReview. The YAML is the course page's (r-01, rb-01 -> nm-01's default, "
        "svc-1, default-token, sa-02, sa-02-token, cr-02, rb-02). Deviations: nm-01/nm-02 are "
        "kubetm-lab-authorization(-2); the page's /service URL is /services here (the singular "
        "is a 404)"
    ),
    part="중급",
    page="k8s/07-intermediate-basic-resource/authorization",
    namespaces=(NS1, NS2),
    shares=("object:ClusterRole/cr-02", "object:ClusterRoleBinding/rb-02"),
    shares_reason="the course's cluster-scoped ClusterRole cr-02 and ClusterRoleBinding rb-02",
    cleanup=cleanup,
    checks=(
        Check(
            "role-allows-pods",
            role_allows_pods,
            "nm-01's default ServiceAccount's token lists pods in nm-01 (Role r-01 via rb-01): "
            "200, the access review agrees",
            timeout=60,
        ),
        Check(
            "role-denies-services",
            role_denies_services,
            "nm-01's default's token lists services (svc-1) in nm-01: 403 (r-01 names pods only), "
            "the review "
            "agrees; the page's singular /service URL is a 404",
            timeout=30,
        ),
        Check(
            "role-denies-other-namespace",
            role_denies_other_namespace,
            "nm-01's default's token lists pods in nm-02: 403, a Role counts in its namespace only",
            timeout=30,
        ),
        Check(
            "clusterrole-allows-everything",
            clusterrole_allows_everything,
            "sa-02's token (ClusterRole cr-02 '*' via ClusterRoleBinding rb-02): 200 on pods and "
            "services of both namespaces, kube-system's pods and nodes",
            timeout=60,
        ),
    ),
)

__all__ = ["LAB"]
