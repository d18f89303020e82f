"""kubetm installed from its wheel works outside the repository: the wheel carries the manifests,
image sources and hack/ scripts (kubetm/_data), found without a checkout.

Builds the wheel from this checkout, installs it into a fresh venv, and from an unrelated folder runs
`lab show`, `image build hello` and `deploy hello` against the cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CONTEXT, HELLO, http_get, kubectl
from .test_deploy import _free_hello_nodeport

# pytest-xdist: one worker builds the wheel once (module fixture); its deploy test holds hello's NodePort.
pytestmark = [pytest.mark.xdist_group("nodeport:30000"), pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], cwd: Path, timeout: float = 600, env: dict | None = None):
    # No KUBETM_* override leaks in from the test run: the wheel must find its own data.
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("KUBETM_") or k == "KUBETM_REGISTRY"
    }
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**clean, **(env or {})}
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with kubetm installed from a wheel built from this checkout: its kubetm script."""
    work = tmp_path_factory.mktemp("wheel")
    cp = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(ROOT)], work
    )
    assert cp.returncode == 0, cp.stderr[-1500:]
    wheel = next(work.glob("kubetm-*.whl"))
    venv = work / "venv"
    # A venv without its own pip, filled by this pip (`--python`), not byte-compiled: the same
    # install a user gets, for ~6 CPU-s instead of ~31 (ensurepip and compiling every dependency);
    # the suite runs on 2 cores, so its CPU is its time.
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work).returncode == 0
    cp = _run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
        + ["install", "-q", "--no-compile", str(wheel)],
        work,
    )
    assert cp.returncode == 0, cp.stderr[-1500:]
    return venv / "bin" / "kubetm"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    d = tmp_path / "not-a-checkout"
    d.mkdir()
    return d


def test_installed_wheel_shows_a_labs_objects_from_any_folder(installed, elsewhere):
    cp = _run([str(installed), "lab", "show", "pod", "-o", "json"], elsewhere)
    assert cp.returncode == 0, cp.stderr
    info = json.loads(cp.stdout)
    assert len(info["objects"]) >= 5, info
    assert "/site-packages/kubetm/_data/manifests/pod" in info["folder"]
    assert not str(info["folder"]).startswith(str(ROOT))


def test_installed_wheel_missing_data_is_one_clear_line(installed, elsewhere):
    cp = _run(
        [str(installed), "lab", "show", "pod"],
        elsewhere,
        env={"KUBETM_MANIFESTS": str(elsewhere / "nowhere")},
    )
    assert cp.returncode != 0
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: kubetm's manifests/ folder is missing"
    ), lines
    assert "objects (0)" not in cp.stdout


@pytest.mark.shares(*HELLO)
def test_installed_wheel_builds_hello_and_deploys_it(cluster, installed, elsewhere, namespace):
    cp = _run([str(installed), "image", "build", "hello"], elsewhere)
    assert cp.returncode == 0, cp.stderr[-800:]
    assert "kubetm/hello:1.0" in cp.stdout
    _free_hello_nodeport()
    cp = _run(
        [str(installed), "--context", CONTEXT, "-n", namespace, "deploy", "hello", "-o", "json"],
        elsewhere,
    )
    assert cp.returncode == 0, cp.stderr[-800:]
    out = json.loads(cp.stdout)
    status, body = http_get(out["url"])
    assert status == 200 and body == "Hello Kubernetes!\n"
    cp = _run([str(installed), "--context", CONTEXT, "-n", namespace, "delete", "hello"], elsewhere)
    assert cp.returncode == 0, cp.stderr[-800:]
    assert kubectl("-n", namespace, "get", "pod,svc", "-o", "name").strip() == ""
