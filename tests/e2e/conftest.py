"""e2e fixtures: the real kind cluster (context kind-kubetm) and kubectl as an independent oracle.

There are no skips here: `make test` creates the cluster before pytest runs, so a missing cluster
or engine is a failure with a one-line reason, locally and under CI=true alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid

import pytest

CONTEXT = os.environ.get("KUBETM_E2E_CONTEXT", "kind-kubetm")
REGISTRY = os.environ.get("KUBETM_REGISTRY", "localhost:5001")


def kubectl(*args: str, input: str | None = None, check: bool = True, timeout: float = 120) -> str:
    cp = subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and cp.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {cp.stderr.strip()}")
    return cp.stdout


def kubectl_json(*args: str) -> dict:
    return json.loads(kubectl(*args, "-o", "json"))


def http_get(url: str, timeout: float = 3.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def http_get_eventually(url: str, expect: str, within: float = 60.0) -> str:
    """Poll a URL from the host until it answers with `expect` in the body (test-side only)."""
    deadline, last = time.monotonic() + within, ""
    while time.monotonic() < deadline:
        try:
            status, body = http_get(url)
            if status == 200 and expect in body:
                return body
            last = f"HTTP {status}: {body[:80]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered {expect!r} within {within:.0f} s (last: {last})")


def node_endpoints(port: int) -> dict[str, str]:
    """{node: host:port} where the host reaches every node's NodePort/hostPort ``port``: through
    kubetm.nodes (the one place that knows the port scheme), over kubectl's node list."""
    from kubetm import nodes

    listed = kubectl_json("get", "nodes")["items"]
    return {
        n["metadata"]["name"]: nodes.host_endpoint_from(listed, n["metadata"]["name"], port)
        for n in listed
    }


@pytest.fixture(scope="session")
def cluster() -> str:
    cp = subprocess.run(
        ["kubectl", "--context", CONTEXT, "get", "--raw", "/readyz"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if cp.returncode != 0:
        pytest.fail(
            f"no cluster at context {CONTEXT}: run `make cluster` first ({cp.stderr.strip()[:200]})",
            pytrace=False,
        )
    return CONTEXT


@pytest.fixture
def namespace(cluster):
    """A fresh namespace per test, deleted afterwards (without waiting)."""
    name = f"kubetm-e2e-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "app.kubernetes.io/managed-by=kubetm-e2e")
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def image(name: str) -> str:
    return f"{REGISTRY}/kubetm/{name}"


def apply(ns: str, manifest: str) -> None:
    kubectl("-n", ns, "apply", "-f", "-", input=manifest)


def wait_pods_ready(ns: str, selector: str, timeout: int = 120) -> None:
    kubectl(
        "-n",
        ns,
        "wait",
        "--for=condition=Ready",
        "pod",
        "-l",
        selector,
        f"--timeout={timeout}s",
        timeout=timeout + 10,
    )


def pod_exec(ns: str, pod: str, *cmd: str) -> str:
    return kubectl("-n", ns, "exec", pod, "--", *cmd)
