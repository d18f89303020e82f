"""The helm CLI, called as a subprocess (that is Helm's interface): binary lookup and one call.

Which helm runs, first found:
  1. ``$KUBETM_HELM`` (a path to a helm binary);
  2. the pinned build ``$KUBETM_CACHE/offline/bin/<K8S_VERSION>/helm`` that
     ``hack/offline/build-go.sh helm`` makes from the Go module proxy (HELM_VERSION in
     hack/offline/versions.env, the one place versions are pinned);
  3. ``helm`` on PATH;
  4. only with ``build_missing=True`` and Go installed: build (2) now (minutes), then use it.
     ``helm()`` never builds: a missing helm is one line naming ``make helm``.

``helm(args)`` returns what helm printed on stdout; a non-zero exit raises ``CommandFailed`` whose
message is one line, ``helm <verb> failed: <Helm's error>`` (Helm's "Error: " prefix dropped).
Nothing here prints.

Example:
    out = helm(["list", "-n", "kubetm-lab-helm-basics", "-q"], kube_context="kind-kubetm")
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from kubetm.errors import CommandFailed, KubetmError
from kubetm.host import offline
from kubetm.host.exec import INSTALL_HINTS, LineFn, last_error_line, run

__all__ = [
    "DEFAULT_TIMEOUT",
    "binary",
    "build",
    "built_path",
    "error_line",
    "helm",
    "pinned_version",
]

DEFAULT_TIMEOUT = 300.0


def pinned_version() -> str:
    """HELM_VERSION from hack/offline/versions.env (e.g. ``v3.22.0``)."""
    return offline.versions().get("HELM_VERSION", "")


def built_path() -> Path:
    """Where ``hack/offline/build-go.sh helm`` puts the pinned build."""
    return offline.bin_dir() / "helm"


def _built() -> str | None:
    """The pinned build, when it is there and stamped at HELM_VERSION (or built by hand, unstamped)."""
    path = built_path()
    if (
        path.is_file()
        and os.access(path, os.X_OK)
        and offline.built_version("helm") in (None, pinned_version())
    ):
        return str(path)
    return None


def build(on_line: LineFn | None = None) -> str:
    """Build the pinned helm from source (Go module proxy); returns its path."""
    offline.run_script(
        "build-go.sh", "helm", what=f"building helm {pinned_version()}", on_line=on_line
    )
    path = _built()
    if path is None:
        raise KubetmError(f"the helm build did not leave {built_path()}")
    return path


def binary(build_missing: bool = True, on_line: LineFn | None = None) -> str:
    """The helm to run (see the module docstring for the order)."""
    explicit = os.environ.get("KUBETM_HELM")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise KubetmError(f"KUBETM_HELM={explicit} is not an executable file")
        return explicit
    built = _built()
    if built is not None:
        return built
    found = shutil.which("helm")
    if found:
        return found
    if build_missing and shutil.which("go"):
        return build(on_line)
    raise KubetmError("helm is not installed", hint=INSTALL_HINTS["helm"])


def error_line(output: str) -> str:
    """Helm's own error from its output, one line, without the ``Error: `` prefix."""
    line = last_error_line(output)
    return line[len("Error: ") :] if line.startswith("Error: ") else line


def helm(
    args: Sequence[str],
    *,
    kube_context: str | None = None,
    kubeconfig: str | None = None,
    namespace: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    build_missing: bool = False,
) -> str:
    """Run ``helm <args>`` (plus --kube-context/--kubeconfig/--namespace when given); its stdout.

    Raises ``CommandFailed("helm <verb> failed: <Helm's error>")`` on a non-zero exit, ``Timeout``
    past ``timeout`` seconds, ``KubetmError`` when no helm can be found.
    """
    cmd = [binary(build_missing=build_missing), *args]
    if kube_context:
        cmd += ["--kube-context", kube_context]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    if namespace:
        cmd += ["--namespace", namespace]
    verb = next((a for a in args if not a.startswith("-")), "")
    result = run(
        cmd,
        check=False,
        timeout=timeout,
        input=input,
        env=env,
        cwd=cwd,
        what=f"helm {verb}".strip(),
    )
    if not result.ok:
        raise CommandFailed(
            f"helm {verb} failed: {error_line(result.stderr or result.stdout)}".replace("\n", " "),
            cmd=cmd,
            output=result.output,
            returncode=result.returncode,
        )
    return result.stdout
