"""Lab `helm-templates` — Helm 템플릿 가이드 (helm/02-template-guide): values and what rolls pods.

charts/mychart (pushed to ``oci://<registry>/charts``, installed from there) with its values files:
* value precedence: ``values.yaml`` < ``-f values_prod.yaml`` < ``--set``, read back from the live
  Deployment and ConfigMap;
* the ``checksum/config`` pod annotation (sha256 of the rendered ConfigMap) rolls the pods when
  the configuration changes — new pod names, the new value in their environment; without it the
  pods keep running with the old environment; a ``randAlphaNum`` annotation rolls them on every
  upgrade, even one that changes nothing;
* an upgrade that changes an immutable field (a PersistentVolume's hostPath) fails with Helm's
  error and leaves the volume as it was;
* bad input: a chart with a template error and a values file that is not YAML fail with one line
  and install nothing.

Reconstructed from the issue and `helm create`'s layout (the course page was not reachable).
"""

from __future__ import annotations

import tempfile
from collections.abc import Set
from pathlib import Path

from kubetm.errors import CommandFailed, KubetmError
from kubetm.labs.base import PV_BINDING, Check, Lab
from kubetm.labs.helmkit import (
    chart_dir,
    chart_sets,
    cleanup_releases,
    fresh,
    helm,
    helm_json,
    push_chart,
    release_secrets,
)
from kubetm.labs.observe import exec_ok, live, token

LAB_NAME = "helm-templates"
VERSION = "0.1.0"
INSTANCE = "app.kubernetes.io/instance"


def _ref(ctx) -> str:
    return push_chart(ctx, "mychart")


def _install(ctx, release: str, *extra: str) -> None:
    fresh(ctx, release)
    helm(
        ctx,
        [
            "install",
            release,
            _ref(ctx),
            "--version",
            VERSION,
            "--plain-http",
            *extra,
            *chart_sets(ctx, "mychart"),
        ],
    )


def _upgrade(ctx, release: str, *extra: str) -> None:
    helm(
        ctx,
        [
            "upgrade",
            release,
            _ref(ctx),
            "--version",
            VERSION,
            "--plain-http",
            "--reuse-values",
            *extra,
            *chart_sets(ctx, "mychart"),
        ],
    )


def _values(name: str) -> dict:
    import yaml

    return yaml.safe_load((chart_dir("mychart") / name).read_text(encoding="utf-8")) or {}


def _pods_ready(ctx, release: str, replicas: int, avoid: Set[str] = frozenset()) -> list[dict]:
    """Watch the release's pods until exactly ``replicas`` live pods, none of ``avoid``, all Ready."""
    from kubetm.k8s.conditions import is_ready

    def settled(items: list[dict]) -> bool:
        pods = live(items)
        return (
            len(items) == replicas
            and len(pods) == replicas
            and all(is_ready(p) for p in pods)
            and not any(p["metadata"]["name"] in avoid for p in items)
        )

    items = ctx.kube.watch_until(
        "Pod",
        None,
        settled,
        selector={INSTANCE: release},
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"{replicas} ready pod(s) of release {release}"
        + (" replacing the old ones" if avoid else ""),
    )
    return sorted(live(items), key=lambda p: p["metadata"]["name"])


def _names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def _env(ctx, pod: str, var: str) -> str | None:
    out = exec_ok(ctx, pod, ["env", "-0"])
    return dict(item.partition("=")[::2] for item in out.split("\0") if item).get(var)


def _cm(ctx, release: str) -> dict:
    cm = ctx.kube.get("ConfigMap", f"{release}-mychart", namespace=ctx.namespace)
    if cm is None:
        raise KubetmError(f"configmap {release}-mychart not found in {ctx.namespace}")
    return dict(cm.get("data") or {})


def values_precedence(ctx) -> tuple[bool, str]:
    """-f values_prod.yaml overrides values.yaml; --set overrides both; read on the live objects."""
    base, prod = _values("values.yaml"), _values("values_prod.yaml")
    chosen = f"from-set-{token('v')[-6:]}"
    _install(
        ctx,
        "prec",
        "-f",
        str(chart_dir("mychart") / "values_prod.yaml"),
        "--set",
        f"configmap.data.MESSAGE={chosen}",
    )
    dep = ctx.kube.get("Deployment", "prec-mychart", namespace=ctx.namespace) or {}
    replicas = (dep.get("spec") or {}).get("replicas")
    image = (
        (((dep.get("spec") or {}).get("template") or {}).get("spec") or {})
        .get("containers", [{}])[0]
        .get("image", "")
    )
    data = _cm(ctx, "prec")
    rows = [
        (
            "replicas",
            base["replicaCount"],
            prod.get("replicaCount"),
            None,
            replicas,
            prod.get("replicaCount"),
        ),
        (
            "ENVIRONMENT",
            base["configmap"]["data"]["ENVIRONMENT"],
            prod["configmap"]["data"]["ENVIRONMENT"],
            None,
            data.get("ENVIRONMENT"),
            prod["configmap"]["data"]["ENVIRONMENT"],
        ),
        (
            "MESSAGE",
            base["configmap"]["data"]["MESSAGE"],
            prod["configmap"]["data"]["MESSAGE"],
            chosen,
            data.get("MESSAGE"),
            chosen,
        ),
        (
            "image tag",
            base["image"]["tag"],
            None,
            None,
            image.rsplit(":", 1)[-1],
            base["image"]["tag"],
        ),
    ]
    ok = all(got == want for *_, got, want in rows)
    parts = []
    for key, b, p, s, got, want in rows:
        chain = (
            f"values.yaml {b!r}"
            + (f" < values_prod.yaml {p!r}" if p is not None else "")
            + (f" < --set {s!r}" if s is not None else "")
        )
        parts.append(
            f"{key}: {chain} -> live {got!r}" + ("" if got == want else f" (expected {want!r})")
        )
    return ok, "; ".join(parts)


def checksum_rolls_pods(ctx) -> tuple[bool, str]:
    """With checksum/config, a ConfigMap change is a new pod template: new pods with the new value."""
    _install(ctx, "roll")
    before = _pods_ready(ctx, "roll", 1)
    old_value = _env(ctx, _names(before)[0], "MESSAGE")
    new_value = token("msg")
    _upgrade(ctx, "roll", "--set", f"configmap.data.MESSAGE={new_value}")
    after = _pods_ready(ctx, "roll", 1, avoid=set(_names(before)))
    got = _env(ctx, _names(after)[0], "MESSAGE")
    ok = got == new_value and not set(_names(before)) & set(_names(after))
    return ok, (
        f"pods {', '.join(_names(before))} (MESSAGE={old_value!r}) replaced by {', '.join(_names(after))} "
        f"(MESSAGE={got!r}) after the configmap changed"
    )


def no_checksum_stale_env(ctx) -> tuple[bool, str]:
    """Without the annotation the pod template does not change: same pods, stale environment."""
    _install(ctx, "stale", "--set", "rolling.checksum=false")
    before = _pods_ready(ctx, "stale", 1)
    dep = ctx.kube.get("Deployment", "stale-mychart", namespace=ctx.namespace) or {}
    gen = (dep.get("metadata") or {}).get("generation")
    old_value = _env(ctx, _names(before)[0], "MESSAGE")
    new_value = token("msg")
    _upgrade(ctx, "stale", "--set", f"configmap.data.MESSAGE={new_value}")
    cm_value = _cm(ctx, "stale").get("MESSAGE")
    dep_after = ctx.kube.get("Deployment", "stale-mychart", namespace=ctx.namespace) or {}
    gen_after = (dep_after.get("metadata") or {}).get("generation")
    after = _pods_ready(ctx, "stale", 1)
    got = _env(ctx, _names(after)[0], "MESSAGE")
    ok = (
        cm_value == new_value
        and _names(after) == _names(before)
        and got == old_value
        and gen_after == gen
    )
    return ok, (
        f"configmap MESSAGE is now {cm_value!r}, but the deployment's generation stayed {gen_after} and pod "
        f"{', '.join(_names(after))} still has MESSAGE={got!r} (the environment is read at container start)"
    )


def _rollme(pod: dict) -> str:
    return ((pod.get("metadata") or {}).get("annotations") or {}).get("rollme", "")


def randalphanum_rolls(ctx) -> tuple[bool, str]:
    """With a randAlphaNum annotation, an upgrade that changes nothing still rolls the pods."""
    # the previous check did not run
    if not helm_json(ctx, ["list", "--all", "--filter", "^stale$"]):
        _install(ctx, "stale", "--set", "rolling.checksum=false")
    first = _pods_ready(ctx, "stale", 1)
    _upgrade(ctx, "stale", "--set", "rolling.randomRoll=true")
    second = _pods_ready(ctx, "stale", 1, avoid=set(_names(first)))
    _upgrade(ctx, "stale")  # same values, same chart
    third = _pods_ready(ctx, "stale", 1, avoid=set(_names(second)))
    rolled = not set(_names(second)) & set(_names(third))
    a, b = _rollme(second[0]), _rollme(third[0])
    ok = rolled and bool(a) and bool(b) and a != b
    return ok, (
        f"an upgrade with nothing changed replaced pod {_names(second)[0]} (rollme={a!r}) with "
        f"{_names(third)[0]} (rollme={b!r})"
    )


def immutable_field(ctx) -> tuple[bool, str]:
    """Changing a PersistentVolume's hostPath fails the upgrade with Helm's error; the PV is unchanged."""
    _install(ctx, "pv", "--set", "persistentVolume.enabled=true", "--set", "replicaCount=0")
    name = f"pv-mychart-{ctx.namespace}"
    pv = ctx.kube.get("PersistentVolume", name)
    if pv is None:
        return False, f"persistentvolume {name} was not created"
    path = pv["spec"]["hostPath"]["path"]
    try:
        _upgrade(ctx, "pv", "--set", "persistentVolume.hostPath=/tmp/kubetm-helm/elsewhere")
        return False, "the upgrade changing the PV's hostPath succeeded"
    except CommandFailed as e:
        error = str(e)
    after = (
        (ctx.kube.get("PersistentVolume", name) or {})
        .get("spec", {})
        .get("hostPath", {})
        .get("path")
    )
    status = ((helm_json(ctx, ["status", "pv"]) or {}).get("info") or {}).get("status")
    ok = "immutable" in error and after == path and status == "failed"
    return ok, f"{error}; PV hostPath still {after!r}; release status {status}"


def _nothing_installed(ctx, release: str) -> tuple[bool, str]:
    secrets = release_secrets(ctx, release)
    objs = [
        o["metadata"]["name"]
        for kind in ("Deployment", "ConfigMap")
        for o in ctx.kube.list(kind, namespace=ctx.namespace, selector={INSTANCE: release})
    ]
    return not secrets and not objs, f"release secrets {len(secrets)}, objects {len(objs)}"


def template_error(ctx) -> tuple[bool, str]:
    """Bad input: a chart whose template does not parse fails with one line; nothing is installed."""
    import shutil

    with tempfile.TemporaryDirectory(prefix="kubetm-helm-") as tmp:
        copy = Path(tmp) / "mychart"
        shutil.copytree(chart_dir("mychart"), copy)
        (copy / "templates" / "broken.yaml").write_text(
            "# a template error: no such function\nimage: {{ .Values.image.tag | nosuchfunc }}\n",
            encoding="utf-8",
        )
        try:
            helm(ctx, ["install", "broken", str(copy), *chart_sets(ctx, "mychart")])
            return False, "helm install of a chart with a template error succeeded"
        except CommandFailed as e:
            error = str(e)
    clean, what = _nothing_installed(ctx, "broken")
    return ("\n" not in error and "nosuchfunc" in error and clean), f"{error} (one line); {what}"


def values_not_yaml(ctx) -> tuple[bool, str]:
    """Bad input: -f a file that is not YAML fails with one line; nothing is installed."""
    with tempfile.NamedTemporaryFile(
        "w", suffix=".yaml", prefix="kubetm-values-", delete=False
    ) as f:
        f.write("replicaCount: [2\nconfigmap: {\n")
        bad = f.name
    try:
        _install(ctx, "badvalues", "-f", bad)
        return False, "helm install -f <not YAML> succeeded"
    except CommandFailed as e:
        error = str(e)
    finally:
        Path(bad).unlink(missing_ok=True)
    clean, what = _nothing_installed(ctx, "badvalues")
    return ("\n" not in error and "yaml" in error.lower() and clean), f"{error} (one line); {what}"


def cleanup(ctx) -> None:
    cleanup_releases(ctx)


LAB = Lab(
    name=LAB_NAME,
    part="Helm",
    page="helm/02-template-guide/step_1",
    title="Helm 템플릿 가이드 — values, checksum/config, randAlphaNum, immutable fields",
    lesson=(
        "helm/02-template-guide: values.yaml < -f values_prod.yaml < --set; what makes an upgrade roll pods; "
        "an immutable field fails the upgrade (reconstructed: the course page was not reachable)"
    ),
    cleanup=cleanup,
    shares=(PV_BINDING,),
    shares_reason=(
        'the immutable-field check installs a 1Gi ReadWriteOnce PV of storageClassName "": '
        "another lab's claim of that class (volume's pvc-01) could bind it"
    ),
    checks=(
        Check(
            "values-precedence",
            values_precedence,
            "values.yaml < -f values_prod.yaml < --set, each seen on the live Deployment/ConfigMap",
            timeout=90,
        ),
        Check(
            "checksum-rolls-pods",
            checksum_rolls_pods,
            "with checksum/config a ConfigMap change gives new pods with the new value in their env",
            timeout=150,
        ),
        Check(
            "no-checksum-stale-env",
            no_checksum_stale_env,
            "without it the ConfigMap changes but the pods and their env stay",
            timeout=120,
        ),
        Check(
            "randalphanum-rolls",
            randalphanum_rolls,
            "a randAlphaNum annotation rolls the pods on an upgrade that changes nothing",
            timeout=180,
        ),
        Check(
            "immutable-field",
            immutable_field,
            "changing a PersistentVolume's hostPath fails the upgrade with Helm's error",
            timeout=90,
        ),
        Check(
            "template-error",
            template_error,
            "a chart with a template error: one line of error, nothing installed",
            timeout=60,
        ),
        Check(
            "values-not-yaml",
            values_not_yaml,
            "a values file that is not YAML: one line of error, nothing installed",
            timeout=60,
        ),
    ),
)

__all__ = ["LAB"]
