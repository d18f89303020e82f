"""e2e: the course images built from source, the local registry, `kubetm image run`, and a pushed
image running in a pod of the kind cluster with the pushed digest.

Needs a Docker engine (a missing engine FAILS, locally and under CI=true: no skips). Bases are
chosen the way `kubetm image build` chooses them (offline here: kubetm.local/*:bookworm).
Only the last test needs the cluster (context kind-kubetm).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from .conftest import http_get, http_get_eventually

# pytest-xdist: one worker builds and pushes the images once (module fixtures).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("images")]


HELLO = "localhost:5001/kubetm/hello:1.0"


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    cp = subprocess.run(
        ["docker", *args], capture_output=True, check=False, text=True, timeout=timeout
    )
    if check and cp.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {cp.stderr.strip()[-300:]}")
    return cp.stdout.strip()


@pytest.fixture(scope="module")
def engine() -> None:
    cp = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        check=False,
        text=True,
    )
    if cp.returncode != 0:
        pytest.fail("Docker is not running: start it (or run hack/docker-up.sh)", pytrace=False)


@pytest.fixture(scope="module")
def pushed(engine) -> dict:
    """hello, app and ports built and pushed to the local registry once for the module."""
    from kubetm import images

    built = images.build(["hello", "app", "ports"], progress=False)
    assert {b["image"] for b in built} >= {
        HELLO,
        "localhost:5001/kubetm/app:v2",
        "localhost:5001/kubetm/ports:1.0",
    }
    return {p["image"]: p for p in images.push(["hello"], progress=False)}


def _registry_json(path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:5001{path}", timeout=5) as r:
        return json.loads(r.read())


def test_push_lands_in_the_local_registry_with_its_digest(pushed):
    from kubetm import registry

    st = registry.status()
    assert st["running"] and "kubetm/hello" in st["catalog"] and "1.0" in st["tags"]["kubetm/hello"]
    assert "kubetm/hello" in _registry_json("/v2/_catalog")["repositories"]  # independent of kubetm
    req = urllib.request.Request(
        "http://127.0.0.1:5001/v2/kubetm/hello/manifests/1.0",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.headers["Docker-Content-Digest"] == pushed[HELLO]["digest"]


def test_plain_docker_push_works_against_the_registry(pushed):
    out = docker("push", HELLO, timeout=600)
    assert "digest: sha256:" in out
    assert "kubetm/hello" in _registry_json("/v2/_catalog")["repositories"]


def test_cli_lists_the_pushed_image(pushed):
    cp = subprocess.run(
        [sys.executable, "-m", "kubetm", "image", "list", "-o", "json"],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert cp.returncode == 0, cp.stderr
    hello = next(i for i in json.loads(cp.stdout) if i["image"] == HELLO)
    assert hello["built"] and hello["digest"] == pushed[HELLO]["digest"]


def test_image_run_hello_answers_on_8100_then_stops(pushed):
    from kubetm import images

    out = images.run("hello", port=8100)
    try:
        assert out["response"] == "Hello Kubernetes!"
        for _ in range(
            3
        ):  # the course's hello.js keeps serving (writeHead after end does not kill it)
            assert http_get("http://127.0.0.1:8100/") == (200, "Hello Kubernetes!\n")
    finally:
        t = time.monotonic()
        subprocess.run(out["stop"].split(), capture_output=True, check=False, timeout=60)
    assert time.monotonic() - t < 5, "hello stops on SIGTERM at once"
    assert docker("ps", "--filter", "name=^kubetm-hello$", "--format", "{{.Names}}") == ""
    deadline = time.monotonic() + 10  # --rm removes it just after it stopped
    while docker("ps", "-a", "--filter", "name=^kubetm-hello$", "--format", "{{.Names}}"):
        assert time.monotonic() < deadline, "kubetm-hello was not removed after docker stop"
        time.sleep(0.2)
    with pytest.raises(OSError):
        http_get("http://127.0.0.1:8100/", timeout=1)


def test_app_contract_and_graceful_stop(pushed):
    name = f"kubetm-e2e-app-{uuid.uuid4().hex[:6]}"
    docker(
        "run",
        "-d",
        "--name",
        name,
        "-e",
        "LOG=1",
        "-p",
        "127.0.0.1::8080",
        "localhost:5001/kubetm/app:v2",
    )
    try:
        port = docker("port", name, "8080/tcp").splitlines()[0].rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        http_get_eventually(f"{base}/healthz", "ok", within=20)
        assert http_get(f"{base}/version") == (200, "v2")
        hostname = http_get(f"{base}/hostname")[1]
        assert http_get(f"{base}/") == (200, f"version=v2 hostname={hostname}\n")
        http_get(f"{base}/ready/off")
        with pytest.raises(urllib.error.HTTPError) as e:
            http_get(f"{base}/ready")
        assert e.value.code == 503
        http_get(f"{base}/ready/on")
        assert http_get(f"{base}/ready")[0] == 200
        assert http_get(f"{base}/memory?mb=8")[1].startswith("allocated 8 MB")
        assert "burned" in http_get(f"{base}/cpu?ms=200")[1]
        docker("stop", name, timeout=60)
        state = json.loads(docker("inspect", name))[0]["State"]
        assert state["ExitCode"] == 0
        logs = subprocess.run(
            ["docker", "logs", name], capture_output=True, check=False, text=True
        ).stdout
        assert "GET /version 200" in logs and "SIGTERM received" in logs
    finally:
        docker("rm", "-f", name, check=False)


def test_ports_second_container_on_a_used_port_fails_clearly(pushed):
    """The course's p8000/p8080 pod: containers share one network namespace, like a pod."""
    first, second, third = (f"kubetm-e2e-ports-{uuid.uuid4().hex[:6]}" for _ in range(3))
    image = "localhost:5001/kubetm/ports:1.0"
    try:
        docker("run", "-d", "--name", first, image, "8000")
        docker("run", "-d", "--name", second, "--network", f"container:{first}", image, "8080")
        docker(
            "run",
            "--name",
            third,
            "--network",
            f"container:{first}",
            image,
            "8000",
            check=False,
            timeout=60,
        )
        state = json.loads(docker("inspect", third))[0]["State"]
        assert state["ExitCode"] == 1
        logs = subprocess.run(
            ["docker", "logs", third], capture_output=True, check=False, text=True
        ).stderr
        assert "port 8000 is already in use" in logs
        out = docker(
            "exec",
            first,
            "node",
            "-e",
            "require('http').get('http://127.0.0.1:8080',r=>r.on('data',d=>process.stdout.write(d)))",
        )
        assert out.startswith("port=8080 ")
    finally:
        docker("rm", "-f", third, second, first, check=False)


def test_pushed_image_runs_in_a_pod_with_the_pushed_digest(pushed, cluster, namespace):
    """Needs the kind cluster (kind-kubetm) wired to the local registry by `kubetm cluster up`."""
    from kubetm.k8s import Kube, conditions

    kube = Kube(context=cluster)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "hello-digest",
            "namespace": namespace,
            "labels": {"app": "hello-digest"},
        },
        "spec": {
            "containers": [
                {
                    "name": "hello",
                    "image": HELLO,
                    "imagePullPolicy": "Always",
                    "ports": [{"containerPort": 8000}],
                }
            ]
        },
    }
    kube.apply([pod], namespace=namespace)
    ready = kube.watch_until(
        "Pod", "hello-digest", conditions.pod_ready, namespace=namespace, timeout=180
    )
    image_id = ready["status"]["containerStatuses"][0]["imageID"]
    assert image_id.endswith(pushed[HELLO]["digest"]), image_id


def test_loaded_image_runs_without_any_registry(engine, cluster, namespace):
    """`kubetm image load`: a tag never pushed anywhere starts with imagePullPolicy Never."""
    from kubetm import images
    from kubetm.k8s import Kube, conditions

    tag = f"e2e-load-{uuid.uuid4().hex[:6]}"
    images.build(["hello"], tag=tag, progress=False)
    # A content of its own (one label more): loaded under the course image's own content, the
    # nodes would tie the pushed hello's image to this load's digest, and a pod pulling the
    # pushed digest could report this one (test_pushed_image_runs_in_a_pod_with_the_pushed_digest).
    ref = f"localhost:5001/kubetm/hello:{tag}"
    subprocess.run(
        ["docker", "build", "-q", "-t", ref, "-"],
        input=f"FROM {ref}\nLABEL kubetm-e2e-load={tag}\n",
        text=True,
        capture_output=True,
        check=True,
        timeout=120,
    )
    try:
        loaded = images.load(["hello"], tag=tag)
        assert [r["image"] for r in loaded] == [f"localhost:5001/kubetm/hello:{tag}"]
        kube = Kube(context=cluster)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "hello-loaded", "namespace": namespace},
            "spec": {
                "containers": [
                    {"name": "hello", "image": loaded[0]["image"], "imagePullPolicy": "Never"}
                ]
            },
        }
        kube.apply([pod], namespace=namespace)
        kube.watch_until(
            "Pod", "hello-loaded", conditions.pod_ready, namespace=namespace, timeout=120
        )
    finally:
        docker("rmi", ref, check=False)
        for node in docker("ps", "--filter", "label=io.x-k8s.kind.cluster=kubetm", "--format",
                           "{{.Names}}").split():  # fmt: skip
            docker("exec", node, "ctr", "-n", "k8s.io", "images", "rm", ref, check=False)
