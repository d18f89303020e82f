"""Lab `config` — ConfigMap, Secret: environment from literals and files, files in a volume.

manifests/config/: cm-dev + sec-dev + pod-1 (envFrom), cm-file + sec-file + pod-file (valueFrom key),
pod-mount (cm-file mounted at /mount, sec-file at /mount-secret).

Checks compare what the containers see with the live ConfigMaps/Secrets. Secret values are never
printed (only "<hidden, N bytes>") unless the user asked for them (``kubetm --show-secrets``).
"""

from __future__ import annotations

import base64
import time

from kubetm.errors import KubetmError, secrets_shown
from kubetm.labels import CONFIGMAP_CHANGED, MANAGED_BY, MANAGED_BY_VALUE
from kubetm.labels import LAB as LAB_KEY
from kubetm.labs.base import Check, Lab
from kubetm.labs.observe import exec_ok, ready_pod, short, token

REFRESH_SECONDS = 110  # the kubelet refreshes ConfigMap volumes on its sync (~1 min) plus cache TTL


def _show(ctx) -> bool:
    return secrets_shown() or bool((ctx.state or {}).get("show_secrets"))


def _secret_text(ctx, value: str) -> str:
    return repr(value.strip()) if _show(ctx) else f"<hidden, {len(value.encode())} bytes>"


def _configmap(ctx, name: str) -> dict[str, str]:
    cm = ctx.kube.get("ConfigMap", name, namespace=ctx.namespace)
    if cm is None:
        raise KubetmError(f"configmap {name} not found in {ctx.namespace}")
    return dict(cm.get("data") or {})


def _secret(ctx, name: str) -> dict[str, str]:
    sec = ctx.kube.get("Secret", name, namespace=ctx.namespace)
    if sec is None:
        raise KubetmError(f"secret {name} not found in {ctx.namespace}")
    return {
        k: base64.b64decode(v).decode("utf-8", "replace")
        for k, v in (sec.get("data") or {}).items()
    }


def _env(ctx, pod: str) -> dict[str, str]:
    """The container's environment as the process sees it (``env -0``: values may hold newlines)."""
    out = exec_ok(ctx, pod, ["env", "-0"])
    pairs = (item.partition("=") for item in out.split("\0") if item)
    return {k: v for k, _, v in pairs}


def env_from_literals(ctx) -> tuple[bool, str]:
    """pod-1 (envFrom cm-dev + sec-dev): every key of both is a variable with the same value."""
    pod = ready_pod(ctx, "pod-1")
    env = _env(ctx, "pod-1")
    ok, parts = True, []
    for src in pod["spec"]["containers"][0].get("envFrom") or []:
        if src.get("configMapRef"):
            name = src["configMapRef"]["name"]
            data = _configmap(ctx, name)
            good = all(env.get(k) == v for k, v in data.items())
            shown = ", ".join(f"{k}={env.get(k, '<missing>')}" for k in sorted(data))
            parts.append(
                f"from configmap {name}: {shown}"
                + ("" if good else " (DIFFERS from the configmap)")
            )
        elif src.get("secretRef"):
            name = src["secretRef"]["name"]
            data = _secret(ctx, name)
            good = all(env.get(k) == v for k, v in data.items())
            shown = ", ".join(
                f"{k}={_secret_text(ctx, env[k]) if k in env else '<missing>'}"
                for k in sorted(data)
            )
            parts.append(
                f"from secret {name}: {shown}"
                + (" (matches)" if good else " (DIFFERS from the secret)")
            )
        else:
            continue
        ok &= good
    if not parts:
        return False, "pod-1 has no envFrom"
    return ok, "pod-1 env " + "; ".join(parts)


def env_from_files(ctx) -> tuple[bool, str]:
    """pod-file: each valueFrom variable holds the whole file (key) of cm-file / sec-file."""
    pod = ready_pod(ctx, "pod-file")
    env = _env(ctx, "pod-file")
    ok, parts = True, []
    for var in pod["spec"]["containers"][0].get("env") or []:
        ref = var.get("valueFrom") or {}
        if ref.get("configMapKeyRef"):
            r = ref["configMapKeyRef"]
            want, secret = _configmap(ctx, r["name"]).get(r["key"]), False
        elif ref.get("secretKeyRef"):
            r = ref["secretKeyRef"]
            want, secret = _secret(ctx, r["name"]).get(r["key"]), True
        else:
            continue
        got = env.get(var["name"])
        good = want is not None and got == want
        ok &= good
        shown = (
            _secret_text(ctx, got)
            if secret and got is not None
            else repr(short(got or "<missing>", 50))
        )
        kind = "secret" if secret else "configmap"
        parts.append(
            f"{var['name']}={shown} (file {r['key']} of {kind} {r['name']}{'' if good else ', DIFFERS'})"
        )
    if not parts:
        return False, "pod-file has no valueFrom variables"
    return ok, "pod-file env " + "; ".join(parts)


def _wait_file(ctx, pod: str, path: str, expected: str, timeout: float) -> float:
    """Block (inside the container, one exec) until ``path`` holds ``expected``; returns seconds waited.

    The kubelet swaps a ConfigMap volume's files atomically and reports it nowhere in the API, so the
    wait runs next to the file; kubetm itself just waits on the exec (bounded by ``timeout``).
    """
    start = time.monotonic()
    script = (
        "end=$(( $(date +%s) + $3 )); "
        'until [ "$(cat "$2" 2>/dev/null)" = "$1" ]; do '
        '[ "$(date +%s)" -ge "$end" ] && exit 1; sleep 1; done'
    )
    rc, _, _ = ctx.kube.exec(
        pod,
        ["sh", "-c", script, "sh", expected.rstrip("\n"), path, str(int(timeout))],
        namespace=ctx.namespace,
        timeout=timeout + 15,
    )
    if rc != 0:
        raise KubetmError(f"{path} in {pod} did not show the expected content within {timeout:g}s")
    return time.monotonic() - start


def _nudge_kubelet(ctx, pod: str, value: str) -> None:
    """Touch the pod's annotations: the kubelet re-syncs the pod (and its ConfigMap volumes) now
    instead of at its next periodic sync."""
    body = {"metadata": {"annotations": {CONFIGMAP_CHANGED: value}}}
    ctx.kube.call(
        ctx.kube.core.patch_namespaced_pod,
        pod,
        ctx.namespace,
        body,
        what=f"annotate pod {ctx.namespace}/{pod}",
    )


def _apply_configmap_data(ctx, name: str, data: dict[str, str]) -> None:
    ctx.kube.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": ctx.namespace,
                    "labels": {MANAGED_BY: MANAGED_BY_VALUE, LAB_KEY: ctx.lab.name},
                },
                "data": data,
            }
        ]
    )


def volume_mount_files(ctx) -> tuple[bool, str]:
    """pod-mount sees cm-file and sec-file as files; after cm-file changes the file follows, env does not."""
    pod = ready_pod(ctx, "pod-mount")
    mounts = {
        m["name"]: m["mountPath"] for m in pod["spec"]["containers"][0].get("volumeMounts") or []
    }
    cm_name = sec_name = None
    cm_dir = sec_dir = ""
    for v in pod["spec"].get("volumes") or []:
        if v.get("configMap"):
            cm_name, cm_dir = v["configMap"]["name"], mounts.get(v["name"], "")
        elif v.get("secret"):
            sec_name, sec_dir = v["secret"]["secretName"], mounts.get(v["name"], "")
    if not cm_name:
        return False, "pod-mount mounts no configmap"
    original = _configmap(ctx, cm_name)
    key = min(original)
    path = f"{cm_dir}/{key}"
    # An earlier verify (one killed mid-check, whose change `lab run`'s apply has just undone) may
    # have left its value in the file: the kubelet would bring the file back only at its next
    # periodic sync (up to about a minute), so it is nudged first, as after the change below.
    _nudge_kubelet(ctx, "pod-mount", f"restored ({token('cm')})")
    _wait_file(ctx, "pod-mount", path, original[key], 30)
    parts = [f"{path} = configmap {cm_name}'s {key} ({len(original[key].encode())} bytes)"]
    ok = True
    if sec_name:
        for skey, svalue in sorted(_secret(ctx, sec_name).items()):
            rc, out, _ = ctx.kube.exec(
                "pod-mount", ["cat", f"{sec_dir}/{skey}"], namespace=ctx.namespace, timeout=30
            )
            good = rc == 0 and out == svalue
            ok &= good
            parts.append(
                f"{sec_dir}/{skey} = secret {sec_name}'s {skey} ({_secret_text(ctx, out) if rc == 0 else 'missing'})"
                + ("" if good else " DIFFERS")
            )
    # The env var made from the same key in pod-file, before the change.
    env_pod, env_var = _env_consumer(ctx, cm_name, key)
    env_before = _env(ctx, env_pod).get(env_var) if env_pod and env_var else None

    changed = f"changed by kubetm lab verify ({token('cm')})\n"
    try:
        _apply_configmap_data(ctx, cm_name, {**original, key: changed})
        _nudge_kubelet(ctx, "pod-mount", changed.strip())
        waited = _wait_file(ctx, "pod-mount", path, changed, min(REFRESH_SECONDS, ctx.timeout - 20))
        parts.append(
            f"after {cm_name} changed, {path} followed in {waited:.0f}s (kubetm annotated pod-mount so "
            "the kubelet re-synced it at once; by itself that takes up to about a minute)"
        )
        if env_pod and env_var:
            env_after = _env(ctx, env_pod).get(env_var)
            same = env_after == env_before == original[key]
            ok &= same
            parts.append(
                f"{env_pod}'s env {env_var} "
                + (
                    "kept the old value (env is read at container start)"
                    if same
                    else f"is now {short(env_after or '', 40)!r}"
                )
            )
    finally:
        _apply_configmap_data(ctx, cm_name, original)  # leave the lab as it was applied
        try:
            _nudge_kubelet(ctx, "pod-mount", "restored")
        except KubetmError:
            pass  # the kubelet's periodic sync restores the file anyway
    return ok, "; ".join(parts)


def _env_consumer(ctx, cm_name: str, key: str) -> tuple[str | None, str | None]:
    """A running pod of the lab with an env var from ``cm_name``'s ``key`` (pod-file's file-c)."""
    for p in ctx.kube.list("Pod", namespace=ctx.namespace):
        for c in p["spec"].get("containers") or []:
            for var in c.get("env") or []:
                r = (var.get("valueFrom") or {}).get("configMapKeyRef") or {}
                if r.get("name") == cm_name and r.get("key") == key:
                    return p["metadata"]["name"], var["name"]
    return None, None


LAB = Lab(
    name="config",
    part="초급",
    page="k8s/03-beginner-basic-resource/configmap",
    title="컨피그맵, 시크릿 — ConfigMap, Secret",
    lesson="Env (Literal), Env (File), Volume Mount (File): configuration kept out of the image",
    checks=(
        Check(
            "env-from-literals",
            env_from_literals,
            "pod-1's environment has SSH and User from cm-dev and Key from sec-dev",
            timeout=90,
        ),
        Check(
            "env-from-files",
            env_from_files,
            "pod-file's file-c / file-s variables hold the contents of file-c.txt and file-s.txt",
            timeout=90,
        ),
        Check(
            "volume-mount-files",
            volume_mount_files,
            "pod-mount sees /mount/file-c.txt and /mount-secret/file-s.txt; a change to cm-file reaches the file, "
            "not pod-file's env",
            timeout=150,
        ),
    ),
)

__all__ = ["LAB"]
