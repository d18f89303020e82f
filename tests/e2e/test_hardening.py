"""e2e hardening on the real cluster (context kind-kubetm): interruption and Secrets.

Interruption — what a user gets after Ctrl-C (SIGINT, exit 130) or SIGTERM (exit 143):
  * `kubetm apply -f DIR`: like `kubectl apply`, NOT rolled back. It stops sending (pending
    writes are cancelled), and one stderr line names exactly the objects it wrote; kubectl must
    find exactly those, no more.
  * `kubetm deploy hello`: interrupted while waiting, it deletes what THIS run created (and only
    that: an object that existed before stays), or with --keep keeps it and says so.
  * `kubetm image push`: the docker push child is stopped with it; nothing is left running.
Secrets — `kubetm apply -f` of a Secret never shows its value (plain or base64) in text, -o json
or --debug output, nor in the one-line error of a 422 on a Secret.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .conftest import CONTEXT, kubectl, kubectl_json

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MANAGED = "app.kubernetes.io/managed-by=kubetm"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "KUBETM_NO_HELP_CACHE": "1"}


def kubetm(
    *args: str, env: dict | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**ENV, **(env or {})},
        cwd=ROOT,
    )


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, **(env or {})},
        cwd=ROOT,
    )


def managed(
    ns: str, kinds: str = "pods,services,configmaps,secrets,deployments,replicasets"
) -> list[str]:
    out = kubectl("-n", ns, "get", kinds, "-l", MANAGED, "-o", "name", "--ignore-not-found")
    return sorted(ln.strip() for ln in out.splitlines() if ln.strip())


def wait_for(predicate, within: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} did not happen within {within:.0f} s")


def finish(p: subprocess.Popen, sig: int, timeout: float = 150) -> tuple[int, str, str]:
    p.send_signal(sig)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


# ================================================================= apply -f: no rollback, exact report


# Serial: under the parallel phase's load (6 workers on 2 cores) this once reported 2 written
# where kubectl saw 3 (a write the server finished whose answer the interrupted client never
# read, suspected); alone it holds. Left open in issue 14's notes.
@pytest.mark.shares("cluster")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_apply_keeps_exactly_what_it_reports(cluster, namespace, tmp_path, sig):
    folder = tmp_path / "many"
    folder.mkdir()
    total = 300
    for i in range(total):
        (folder / f"cm-{i:03d}.yaml").write_text(
            f'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:03d}\ndata:\n  i: "{i}"\n'
        )
    watch = subprocess.Popen(
        [
            "kubectl",
            "--context",
            CONTEXT,
            "-n",
            namespace,
            "get",
            "configmaps",
            "-l",
            MANAGED,
            "--watch-only",
            "-o",
            "name",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # the watch is open before the first write
        p = start("-n", namespace, "apply", "-f", str(folder))
        first = watch.stdout.readline()  # blocks until kubetm's first object exists
        assert first.startswith("configmap/"), first
        code, _, err = finish(p, sig)
    finally:
        watch.kill()
        watch.wait()
    assert code == EXIT[sig], err
    assert "Traceback" not in err
    present = [n.split("/", 1)[1] for n in managed(namespace, "configmaps")]
    assert 0 < len(present) < total, "the apply was not interrupted mid-way (or wrote nothing)"
    lines = [ln for ln in err.splitlines() if ln.startswith("interrupted: kept")]
    assert len(lines) == 1, err
    assert f"kept {len(present)} of {total} object(s) already applied" in lines[0]
    named = sorted(
        item.split()[0].rsplit("/", 1)[1] for item in lines[0].split(": ", 2)[2].split(", ")
    )
    assert named == sorted(present)  # exactly what kubectl sees, no more
    assert err.strip().splitlines()[-1] == ("interrupted" if sig == signal.SIGINT else "terminated")


# ======================================================= deploy hello: cleanup of what it created


@pytest.fixture
def never_ready_manifests(tmp_path) -> dict:
    """KUBETM_MANIFESTS with a getting-started/ whose pod can never become Ready: an image tag that
    does not exist AND a scheduling gate (an ImagePullBackOff alone makes `deploy` stop early with
    a clear error, so it would not be waiting when the signal comes). The Service gets an automatic
    NodePort so a hello running elsewhere on the cluster (30000) does not matter."""
    root = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", root)
    gs = root / "getting-started"
    for f in gs.glob("*.yaml"):
        text = f.read_text()
        text = text.replace(
            "localhost:5001/kubetm/hello:1.0", "localhost:5001/kubetm/hello:does-not-exist"
        )
        text = text.replace(
            "spec:\n  containers:",
            "spec:\n  schedulingGates:\n  - name: kubetm.io/never\n  containers:",
        )
        text = text.replace("    nodePort: 30000\n", "")
        f.write_text(text)
    assert "schedulingGates" in "".join(f.read_text() for f in gs.glob("*.yaml"))
    return {"KUBETM_MANIFESTS": str(root)}


def _deploy_until_waiting(namespace: str, env: dict, *extra: str) -> subprocess.Popen:
    p = start("-n", namespace, "deploy", "hello", "--timeout", "300", *extra, env=env)
    wait_for(
        lambda: kubectl(
            "-n", namespace, "get", "pod", "hello-pod", "--ignore-not-found", "-o", "name"
        ).strip(),
        60,
        "hello-pod created",
    )
    time.sleep(1.0)  # inside the watch now
    assert p.poll() is None, p.communicate()[1]
    return p


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_deploy_deletes_what_it_created(cluster, namespace, never_ready_manifests, sig):
    p = _deploy_until_waiting(namespace, never_ready_manifests)
    code, _, err = finish(p, sig)
    assert code == EXIT[sig], err
    assert "Traceback" not in err
    assert "interrupted: deleted the 2 object(s) it created:" in err, err
    assert f"pod/{namespace}/hello-pod" in err and f"service/{namespace}/hello-svc" in err
    assert managed(namespace) == []
    assert kubectl("-n", namespace, "get", "pod,svc", "-o", "name").strip() == ""


def test_interrupted_deploy_with_keep_states_what_it_kept(
    cluster, namespace, never_ready_manifests
):
    p = _deploy_until_waiting(namespace, never_ready_manifests, "--keep")
    code, _, err = finish(p, signal.SIGINT)
    assert code == 130 and "Traceback" not in err
    kept = [
        ln
        for ln in err.splitlines()
        if ln.startswith("interrupted: kept the 2 object(s) it created (--keep)")
    ]
    assert len(kept) == 1, err
    assert managed(namespace) == ["pod/hello-pod", "service/hello-svc"]


def test_interrupted_deploy_leaves_objects_that_existed_before(
    cluster, namespace, never_ready_manifests
):
    svc = Path(never_ready_manifests["KUBETM_MANIFESTS"]) / "getting-started"
    svc_file = next(f for f in svc.glob("*.yaml") if "kind: Service" in f.read_text())
    kubectl("-n", namespace, "apply", "-f", str(svc_file))  # the user's own hello-svc
    p = _deploy_until_waiting(namespace, never_ready_manifests)
    code, _, err = finish(p, signal.SIGINT)
    assert code == 130, err
    assert f"interrupted: deleted the 1 object(s) it created: pod/{namespace}/hello-pod" in err
    assert kubectl("-n", namespace, "get", "pod,svc", "-o", "name").split() == ["service/hello-svc"]


# ============================================================ image push: no docker child left behind


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_image_push_stops_docker_and_exits(cluster, sig):
    if (
        subprocess.run(
            ["docker", "image", "inspect", "localhost:5001/kubetm/hello:1.0"], capture_output=True
        ).returncode
        != 0
    ):
        pytest.fail(
            "localhost:5001/kubetm/hello:1.0 is not built: run `kubetm image build` first",
            pytrace=False,
        )
    p = subprocess.Popen(
        [sys.executable, "-m", "kubetm", "image", "push"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=ROOT,
    )

    def pushing() -> list[int]:
        return [c for c in _children(p.pid) if _cmdline(c)[:2] == ["docker", "push"]]

    children = wait_for(pushing, 60, "a docker push child", every=0.01)
    code, _, err = finish(p, sig, timeout=60)
    assert code == EXIT[sig], err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("interrupted" if sig == signal.SIGINT else "terminated")
    time.sleep(0.5)
    for c in children:
        assert not Path(f"/proc/{c}").exists() or _cmdline(c)[:2] != ["docker", "push"], (
            "docker push left running"
        )


# ================================================================================= Secrets

SECRET = f"kubetm-e2e-{uuid.uuid4().hex[:10]}-s3cret"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()


def _no_secret(text: str) -> None:
    assert SECRET not in text and SECRET_B64 not in text


@pytest.mark.parametrize(
    "flags",
    [[], ["-o", "json"], ["--debug"], ["--debug", "-o", "json"]],
    ids=["text", "json", "debug", "debug-json"],
)
def test_apply_of_a_secret_never_shows_its_value(cluster, namespace, tmp_path, flags):
    f = tmp_path / "secret.yaml"
    f.write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: {SECRET_B64}\n"
        f"stringData:\n  token: {SECRET}\n"
    )
    debug = [a for a in flags if a == "--debug"]
    rest = [a for a in flags if a != "--debug"]
    cp = kubetm(*debug, "-n", namespace, "apply", "-f", str(f), *rest)
    assert cp.returncode == 0, cp.stderr
    _no_secret(cp.stdout + cp.stderr)
    if rest:
        assert json.loads(cp.stdout)[0]["kind"] == "Secret"
    stored = kubectl_json("-n", namespace, "get", "secret", "db")["data"]  # it really was applied
    assert base64.b64decode(stored["password"]).decode() == SECRET


def test_422_on_a_secret_is_one_redacted_line(cluster, namespace, tmp_path):
    f = tmp_path / "bad-secret.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\n"
        f"stringData:\n  .dockerconfigjson: '{SECRET}'\n"
    )
    for debug in ([], ["--debug"]):
        cp = kubetm(*debug, "-n", namespace, "apply", "-f", str(f))
        assert cp.returncode == 1
        _no_secret(cp.stdout + cp.stderr)
        lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
        assert lines[-1].startswith(
            f"error: apply secret {namespace}/regcred: rejected by the API server:"
        )
        if not debug:
            assert len(lines) == 1 and "Traceback" not in cp.stderr
    assert managed(namespace) == []
