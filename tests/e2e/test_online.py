"""The online path, rehearsed: kind's stock node image, upstream metrics-server, the Node.js 22
base, on a SECOND cluster ``kubetm-online`` published by the 127.0.0.1-only port scheme.

One test, one cluster (a second 3-node cluster on 2 cores is heavy: created once, everything run
on it, always deleted):

- ``KUBETM_OFFLINE=0``, ``KUBETM_PORT_SCHEME=localhost``, ``KUBETM_HOST_PORT_OFFSET=1000`` (so
  its host ports never meet the main cluster's): ``cluster up``; ``deploy hello``, ``lab run
  service`` and ``demo rolling-update`` side by side; ``lab run replicaset`` (stops and starts a
  node) beside ``image build hello`` FROM the online base; containment on the (stock-like) nodes, a node
  restart then ``cluster up`` (the health path re-contains), ``cluster down``.
- Where no container registry is reachable (this machine), the public images the online path
  uses are seeded from the offline build's equivalents under their public names (removed again
  afterwards): the Node.js 22 base (``docker tag`` of kubetm.local/nodejs), metrics-server's
  upstream name (``docker tag`` of kubetm.local/metrics-server), and the node image through the
  one override ``KUBETM_NODE_IMAGE``: the offline node image with its preloaded images also
  tagged under kubeadm's default names and its boot-time containment unit disabled, so its
  nodes behave like stock ones there. Where a registry is reachable (GitHub Actions) nothing is
  seeded and the pinned digests are pulled for real.

What this cannot prove here: the stock node image's own content (kindest/node's kindnetd, its
containerd config, its preloaded images): the seeded image is the offline one under another
name; and after a restart the rules are also restored by kubetm-net, the offline image's pod
network (it re-checks them on every sync), so "present afterwards" does not by itself single out
kubetm's docker exec (``contain_node`` is checked directly: rules removed, re-applied, its own
summary line). It proves every online branch kubetm itself takes (no Go compile, no kubeadm
imageRepository patch, the node image passed to kind, metrics-server by its upstream name, the
online base, the localhost port scheme end to end, containment from outside).

Run it alone: ``flock -x /work/wt/cluster.lock .venv/bin/python -m pytest -s tests/e2e/test_online.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kubetm.host.offline import versions

from .conftest import hand_off, wait_for_handoffs

ROOT = Path(__file__).resolve().parents[2]
NAME = "kubetm-online"
CONTEXT = f"kind-{NAME}"
OFFSET = 1000
REHEARSAL_NODE = "kubetm.local/kind-node-online-rehearsal:" + versions()["K8S_VERSION"]
NOT_PROVEN = (
    "not proven here: the stock node image's own content (kindnetd, its containerd config, its "
    "preloaded images); the node image is the offline one under kubeadm's default names"
)


def sh(*args: str, check: bool = True, timeout: float = 300, input: str | None = None) -> str:
    cp = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input)
    if check and cp.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {cp.stderr.strip()[-800:]}")
    return cp.stdout


def present(image: str) -> bool:
    cp = subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=60)
    return cp.returncode == 0


def image_id(image: str) -> str:
    return sh("docker", "image", "inspect", "--format", "{{.Id}}", image).strip()


def kubetm(*args: str, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    t = time.monotonic()
    cp = subprocess.run(
        [sys.executable, "-m", "kubetm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    print(f"  kubetm {' '.join(args)}: exit {cp.returncode}, {time.monotonic() - t:.0f} s")
    return cp


def _rehearsal_node_image(source: str) -> str:
    """The offline node image with kubeadm's default image names and no boot-time containment
    (cached under REHEARSAL_NODE, labelled with the source image id)."""
    src_id = image_id(source)
    label = sh(
        "docker", "image", "inspect", "--format",
        '{{index .Config.Labels "kubetm.io/rehearsal-source"}}', REHEARSAL_NODE, check=False,
    ).strip()  # fmt: skip
    if label == src_id:
        return REHEARSAL_NODE
    cid = f"kubetm-rehearsal-seed-{os.getpid()}"
    sh("docker", "rm", "-f", cid, check=False)
    sh(
        "docker", "run", "-d", "--name", cid, "--privileged", "--entrypoint=sleep",
        "--security-opt", "seccomp=unconfined", "--tmpfs", "/tmp", source, "infinity",
    )  # fmt: skip
    try:
        sh(
            "docker", "exec", cid, "bash", "-c",
            "nohup containerd >/tmp/containerd.log 2>&1 & for i in $(seq 100); do "
            "ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; exit 1",
        )  # fmt: skip
        sh(
            "docker", "exec", cid, "bash", "-c",
            "set -e; for r in $(ctr -n k8s.io images list -q | grep '^kubetm.local/'); do "
            'n=${r#kubetm.local/}; case $n in coredns:*) t=registry.k8s.io/coredns/$n ;; '
            "*) t=registry.k8s.io/$n ;; esac; ctr -n k8s.io images tag --force $r $t >/dev/null; done; "
            "rm -f /etc/systemd/system/multi-user.target.wants/kubetm-contain.service; "
            "pkill containerd; for i in $(seq 50); do pgrep containerd >/dev/null || exit 0; "
            "sleep 0.2; done",
        )  # fmt: skip
        sh(
            "docker", "commit",
            "--change", 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
            "--change", "ENV container=docker",
            "--change", f"LABEL kubetm.io/rehearsal-source={src_id}",
            cid, REHEARSAL_NODE + "-commit",
        )  # fmt: skip
    finally:
        sh("docker", "rm", "-f", "-v", cid, check=False)
    sh(
        "docker", "build", "-q", "-t", REHEARSAL_NODE, "-",
        input=f"FROM {REHEARSAL_NODE}-commit\nSTOPSIGNAL SIGRTMIN+3\n",
    )  # fmt: skip
    sh("docker", "rmi", REHEARSAL_NODE + "-commit", check=False)
    return REHEARSAL_NODE


def seed() -> tuple[dict, list[str]]:
    """Local images under the public names the online path uses, from the offline artifacts;
    returns (extra environment, tags created). Nothing is seeded that is already present or
    whose offline equivalent is missing (then the online path pulls it)."""
    v = versions()
    env: dict[str, str] = {}
    created: list[str] = []
    for pinned, source in (
        (v["NODEJS_IMAGE"], "kubetm.local/nodejs:bookworm"),
        (v["METRICS_SERVER_IMAGE"], f"kubetm.local/metrics-server:{v['METRICS_SERVER_VERSION']}"),
    ):
        tagged = pinned.split("@")[0]
        if not present(pinned) and not present(tagged) and present(source):
            sh("docker", "tag", source, tagged)
            created.append(tagged)
    stock = v["KIND_NODE_IMAGE"]
    if not present(stock) and present(v["NODE_IMAGE"]):
        public = stock.split("@")[0]  # kindest/node:v1.34.0, the stock image's public name
        if not present(public):
            sh("docker", "tag", _rehearsal_node_image(v["NODE_IMAGE"]), public)
            created.append(public)
        env["KUBETM_NODE_IMAGE"] = public
    return env, created


def rules(node: str) -> tuple[bool, bool]:
    """(pod subnet routed unreachable, Service subnet REJECTed in OUTPUT) in a node."""
    route = sh("docker", "exec", node, "ip", "route", "show", "type", "unreachable")
    reject = subprocess.run(
        ["docker", "exec", node, "iptables", "-C", "OUTPUT", "-d", "10.96.0.0/16", "-j", "REJECT"],
        capture_output=True,
    )
    return "10.244.0.0/16" in route, reject.returncode == 0


# serial: a second 3-node cluster beside the main cluster's timing lessons would load 2 cores
# (beside `lab run all` from its start, pod-lifecycle's readiness pod was once too slow to start):
# beside `lab run all` it waits for the hand-off lab-run-all-alone (conftest.wait_for_handoffs)
@pytest.mark.shares("cluster")
# cold seed ~1 min, the hand-off up to 30 min, cluster up ~2-4 min, labs/demos ~3 min, down
@pytest.mark.timeout(3600)
def test_online_path_on_a_second_cluster_with_the_localhost_port_scheme(monkeypatch, tmp_path):
    # The second cluster lives in a kubeconfig of its own: kind makes a new cluster the current
    # context and unsets it on delete, which would leave the user's (and the suite's) kubeconfig
    # without a current context.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    t_start = time.monotonic()
    timings: dict[str, float] = {}
    print(f"\nonline rehearsal on cluster {NAME!r}; {NOT_PROVEN}")
    subprocess.run(
        [sys.executable, "-m", "kubetm", "cluster", "down", "--name", NAME],
        capture_output=True,
        timeout=300,
    )  # a cluster left by a killed run
    t = time.monotonic()
    extra, created = seed()
    timings["seed_s"] = time.monotonic() - t
    print(f"  seeded {created or 'nothing'} in {timings['seed_s']:.0f} s; env {extra}")
    # Beside `lab run all` (`make test`): the second cluster is created only once the labs that
    # declare the whole cluster begin (they mostly wait; the shared labs before them keep 2 cores
    # busy and include timing lessons). Run alone: no wait.
    t = time.monotonic()
    try:
        for why in wait_for_handoffs("lab-run-all-alone", within=1800):
            print(f"  hand-off: {why}")
    except AssertionError:
        hand_off("online-demo-done", "the online rehearsal never began")
        raise
    timings["handoff_wait_s"] = time.monotonic() - t
    env = {
        "KUBETM_OFFLINE": "0",
        "KUBETM_PORT_SCHEME": "localhost",
        "KUBETM_HOST_PORT_OFFSET": str(OFFSET),
        **extra,
    }
    on = ["--context", CONTEXT]
    v = versions()
    try:
        t = time.monotonic()
        cp = kubetm("cluster", "up", "--name", NAME, "-o", "json", env=env)
        timings["cluster_up_s"] = time.monotonic() - t
        assert cp.returncode == 0, cp.stderr[-3000:]
        report = json.loads(cp.stdout)
        expected_node = extra.get("KUBETM_NODE_IMAGE", v["KIND_NODE_IMAGE"])
        assert (report["mode"], report["node_image"], report["port_scheme"]) == (
            "online",
            expected_node,
            "localhost",
        )
        assert "mode: online (KUBETM_OFFLINE=0)" in cp.stderr
        # no Go compile, no offline build, metrics-server by its upstream name
        for absent in ("build-go", "component-images", "building", "go: "):
            assert absent not in cp.stderr, (absent, cp.stderr[-2000:])
        ms = v["METRICS_SERVER_IMAGE"].split("@")[0]
        assert f"metrics-server: {ms} (" in cp.stderr, cp.stderr[-2000:]
        dep = json.loads(
            sh(
                "kubectl",
                "--context",
                CONTEXT,
                "-n",
                "kube-system",
                "get",
                "deploy",
                "metrics-server",
                "-o",
                "json",
            )  # fmt: skip
        )
        assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == ms
        # no imageRepository patch online: kubeadm's default names run the control plane
        pods = sh("kubectl", "--context", CONTEXT, "-n", "kube-system", "get", "pods", "-o",
                  "jsonpath={.items[*].spec.containers[*].image}")  # fmt: skip
        assert "registry.k8s.io/kube-apiserver:" in pods and "kubetm.local/kube-" not in pods
        # the localhost scheme, as Docker published it and as every Node records it
        by_node = {n["name"]: n["host_ports"] for n in report["nodes"]}
        assert by_node == {
            f"{NAME}-control-plane": {
                str(p): f"127.0.0.1:{p + OFFSET}" for p in [*range(30000, 30010), 18080]
            },
            f"{NAME}-worker": {
                str(p): f"127.0.0.1:{p + OFFSET + 100}" for p in [*range(30000, 30010), 18080]
            },
            f"{NAME}-worker2": {
                str(p): f"127.0.0.1:{p + OFFSET + 200}" for p in [*range(30000, 30010), 18080]
            },
        }

        # deploy hello, the service lab and the demo side by side, as on the main cluster
        t = time.monotonic()
        with ThreadPoolExecutor(3) as pool:
            hello_f = pool.submit(kubetm, *on, "deploy", "hello", "-o", "json", env=env,
                                  timeout=300)  # fmt: skip
            lab_f = pool.submit(kubetm, *on, "lab", "run", "service", "-o", "json", env=env,
                                timeout=600)  # fmt: skip
            demo_f = pool.submit(kubetm, *on, "demo", "rolling-update", "--to", "v2",
                                 "--duration", "1", env=env, timeout=600)  # fmt: skip
        timings["hello_service_demo_s"] = time.monotonic() - t
        cp = hello_f.result()
        assert cp.returncode == 0, cp.stderr[-2000:]
        hello = json.loads(cp.stdout)
        assert hello["url"].startswith(f"http://127.0.0.1:{30000 + OFFSET + 100}/") or hello[
            "url"
        ].startswith(f"http://127.0.0.1:{30000 + OFFSET + 200}/"), hello["url"]
        assert hello["body"].startswith("Hello Kubernetes!")
        cp = lab_f.result()
        assert cp.returncode == 0, (cp.stdout + cp.stderr)[-3000:]
        for endpoint in ("127.0.0.1:31001", "127.0.0.1:31101", "127.0.0.1:31201"):
            assert endpoint in cp.stdout, cp.stdout[-3000:]  # every node's NodePort 30001
        cp = demo_f.result()
        assert cp.returncode == 0, (cp.stdout + cp.stderr)[-3000:]
        assert f"probing http://127.0.0.1:{30004 + OFFSET + 100}/" in cp.stderr, cp.stderr[-1500:]
        assert "0 failed" in cp.stdout.splitlines()[0], cp.stdout
        hand_off("online-demo-done", "the online rehearsal's demo is over")

        # the replicaset lab stops and starts a node: on stock nodes kubetm re-contains it; beside
        # it, the course images FROM the online Node.js 22 base (a new tag: the shared ones stay)
        t = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            rs_f = pool.submit(kubetm, *on, "lab", "run", "replicaset", env=env, timeout=900)
            build_f = pool.submit(kubetm, "image", "build", "hello", "--tag", "online-rehearsal",
                                  "-o", "json", env=env, timeout=600)  # fmt: skip
        timings["replicaset_and_image_build_s"] = time.monotonic() - t
        cp = rs_f.result()
        assert cp.returncode == 0, (cp.stdout + cp.stderr)[-3000:]
        for n in (f"{NAME}-control-plane", f"{NAME}-worker", f"{NAME}-worker2"):
            assert rules(n) == (True, True), n
        cp = build_f.result()
        assert cp.returncode == 0, cp.stderr[-2000:]
        built = json.loads(cp.stdout)[0]
        assert built["mode"] == "online" and built["base"].startswith("node:22-"), built
        sh("docker", "rmi", built["image"], check=False)

        # containment on stock-like nodes, from outside (their boot unit is disabled here)
        node = f"{NAME}-worker2"
        sh("docker", "exec", node, "sh", "-c",
           "ip route del unreachable 10.244.0.0/16; "
           "iptables -D OUTPUT -d 10.96.0.0/16 -j REJECT")  # fmt: skip
        from kubetm.cluster import contain_node

        said = contain_node(node)
        assert said.startswith("kubetm-contain: unreachable: 10.244.0.0/16"), said
        assert rules(node) == (True, True)

        # a node restart, then `cluster up`: the health path reuses the cluster and re-contains
        sh("docker", "restart", node, timeout=180)
        right_after = rules(node)
        print(f"  right after docker restart {node}: (unreachable route, REJECT) = {right_after}")
        t = time.monotonic()
        cp = kubetm("cluster", "up", "--name", NAME, "-o", "json", env=env)
        timings["cluster_up_after_restart_s"] = time.monotonic() - t
        assert cp.returncode == 0, cp.stderr[-2000:]
        assert rules(node) == (True, True)
    finally:
        hand_off("online-demo-done", "the online rehearsal ended early")
        t = time.monotonic()
        down = kubetm("cluster", "down", "--name", NAME, env=env, timeout=300)
        timings["cluster_down_s"] = time.monotonic() - t
        for tag in created:
            sh("docker", "rmi", tag, check=False)
        print(
            "  timings: "
            + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
            + f", total {time.monotonic() - t_start:.0f} s"
        )
        print(f"  {NOT_PROVEN}")
    assert down.returncode == 0, down.stderr[-1000:]
    status = sh(sys.executable, "-m", "kubetm", "cluster", "status", "--name", NAME)
    assert "does not exist" in status, status
