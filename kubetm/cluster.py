"""The local kind cluster: `kubetm cluster up | down | status`.

Online (a laptop, GitHub Actions) it runs kind with kind's stock node image for the pinned kind
version, pinned by digest (KIND_NODE_IMAGE in hack/offline/versions.env; KUBETM_NODE_IMAGE
overrides it with a local image) and always passed to kind, and metrics-server from its upstream
image (METRICS_SERVER_IMAGE, pinned by digest): no Go and no root needed. Offline (no container
registry reachable, or KUBETM_OFFLINE=1) it first builds a node image from source with
hack/offline/node-image.sh (Go module proxy + Debian packages only) and tells kubeadm to use the
images preloaded in it. Both ways the cluster gets the same shape:

- name ``kubetm`` (context ``kind-kubetm``): one control-plane and two workers;
- node i (sorted by name) publishes NodePorts 30000-30009 and hostPort 18080 on the host by the
  port scheme of kubetm.nodes (127.0.0.(i+1), or 127.0.0.1 with ports shifted by 100*i where
  127.0.0.2 cannot be bound), recorded on each Node as the annotation kubetm.io/host-ports;
- pod and Service addresses contained in every node (``contain_node``), again after any restart;
- the local registry (kubetm.registry) on localhost:5001, wired into every node's containerd;
- metrics-server installed, workers labelled with the course's node names.

This is the only domain module that assumes kind (the kind and docker commands themselves are in
kubetm.host.kind and kubetm.host.docker); everything else works on any cluster.

    >>> from kubetm import cluster
    >>> cluster.up()          # idempotent: reuses a healthy cluster
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from kubetm import doctor as _doctor
from kubetm.errors import KubetmError
from kubetm.host import docker, net
from kubetm.host import kind as kind_cli
from kubetm.host.offline import OFFLINE_DIR, cache_dir, decide_offline, run_script, versions
from kubetm.nodes import PUBLISHED_PORTS, kind_parts, port_offset, port_scheme, published

DEFAULT_NAME = "kubetm"
REGISTRY_PORT = 5001
NODE_PORTS = list(PUBLISHED_PORTS)
WORKERS = 2


def _note(line: str) -> None:
    from kubetm import progress

    progress.note(line)


@dataclass
class Plan:
    """What `up` will do, decided before anything is created."""

    name: str
    offline: bool
    node_image: str  # always passed to kind (never kind's built-in default)
    reason: str
    config: dict = field(default_factory=dict)
    port_scheme: str = "loopback"
    port_scheme_reason: str = ""
    port_offset: int = 0


def stock_node_image() -> str:
    """kind's stock node image for the pinned kind, by digest (KIND_NODE_IMAGE in versions.env);
    ``KUBETM_NODE_IMAGE`` overrides it (a local image, e.g. the online rehearsal's retag)."""
    return os.environ.get("KUBETM_NODE_IMAGE", "").strip() or versions()["KIND_NODE_IMAGE"]


def kind_config(name: str, offline: bool, scheme: str = "loopback", offset: int = 0) -> dict:
    """The kind cluster config: 3 nodes, ports published by ``scheme`` (kubetm.nodes.published),
    registry-aware containerd."""
    v = versions()
    nodes = []
    for i, role in enumerate(["control-plane"] + ["worker"] * WORKERS):
        mappings = []
        for p in NODE_PORTS:
            addr, host_port = published(scheme, i, p, offset)
            mappings.append(
                {
                    "containerPort": p,
                    "hostPort": host_port,
                    "listenAddress": addr,
                    "protocol": "TCP",
                }
            )
        nodes.append({"role": role, "extraPortMappings": mappings})
    cfg: dict = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": name,
        "nodes": nodes,
        "containerdConfigPatches": [
            '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n'
        ],
    }
    if offline:
        # kubeadm takes the control-plane images, CoreDNS and kube-proxy from the preloaded repo
        cfg["kubeadmConfigPatches"] = [
            f"kind: ClusterConfiguration\nimageRepository: {v['OFFLINE_REPO']}\n"
        ]
    return cfg


def host_ports(name: str = DEFAULT_NAME) -> list[tuple[str, int]]:
    """The (address, port) pairs `up` publishes on the host (the same port scheme and offset as
    ``plan``), and the registry's."""
    scheme, _ = port_scheme(net.address_available, nodes=1 + WORKERS)
    cfg = kind_config(name, offline=False, scheme=scheme, offset=port_offset())
    return [
        (m["listenAddress"], m["hostPort"])
        for n in cfg["nodes"]
        for m in n.get("extraPortMappings", [])
    ] + [("127.0.0.1", REGISTRY_PORT)]


def doctor(name: str = DEFAULT_NAME) -> dict:
    """`kubetm doctor`: every check of kubetm.doctor on this machine, for cluster ``name``."""
    from kubetm import registry

    return _doctor.report(_doctor.gather(host_ports(name)), owners=(name, registry.NAME))


def plan(name: str = DEFAULT_NAME, offline: bool | None = None) -> Plan:
    docker.require_docker()
    if offline is None:
        stock = stock_node_image()
        offline, reason = decide_offline(
            [stock],
            online_reason=f"{stock} is available",
            offline_disk_gb=lambda: disk_needed_gb(offline=True),
        )
    else:
        reason = "--offline" if offline else "--online"
    node_image = versions()["NODE_IMAGE"] if offline else stock_node_image()
    scheme, why = port_scheme(net.address_available, nodes=1 + WORKERS)
    offset = port_offset()
    return Plan(
        name=name,
        offline=offline,
        node_image=node_image,
        reason=reason,
        config=kind_config(name, offline, scheme, offset),
        port_scheme=scheme,
        port_scheme_reason=why,
        port_offset=offset,
    )


def _kind(progress=_note) -> str:
    """The pinned kind (kubetm.host.kind), built from source when missing and Go is available."""
    return kind_cli.kind_binary(build=True, on_line=progress)


def clusters(progress=_note) -> list[str]:
    _kind(progress)
    return kind_cli.clusters()


def node_containers(name: str) -> list[dict]:
    return docker.ps([f"label=io.x-k8s.kind.cluster={name}"], all=True)


def _healthy(name: str, kube) -> tuple[bool, str]:
    ctrs = node_containers(name)
    if len(ctrs) != 1 + WORKERS:
        return False, f"{len(ctrs)} node containers instead of {1 + WORKERS}"
    stopped = [c["Names"] for c in ctrs if c.get("State") != "running"]
    if stopped:
        return False, f"node containers not running: {', '.join(stopped)}"
    try:
        nodes = kube.list("Node")
    except KubetmError as e:
        return False, str(e)
    not_ready = [n["metadata"]["name"] for n in nodes if not _node_ready(n)]
    if not_ready:
        return False, f"nodes not Ready: {', '.join(not_ready)}"
    return True, "healthy"


SETTLE_SECONDS = 180.0  # a cluster whose Docker engine or node containers just restarted


def _settle(name: str, kube, progress, within: float = SETTLE_SECONDS) -> tuple[bool, str]:
    """Health of an existing cluster, healing in place what a Docker engine restart (Docker
    Desktop updating, a laptop rebooting) leaves: node containers that did not come back are
    started, and a cluster that is still starting up (API server refusing connections, nodes
    not Ready yet) is given up to ``within`` seconds. Only what stays unhealthy after that, or a
    cluster missing node containers, is recreated by the caller."""
    import tenacity

    ctrs = node_containers(name)
    if len(ctrs) != 1 + WORKERS:
        return _healthy(name, kube)
    stopped = sorted(c["Names"] for c in ctrs if c.get("State") != "running")
    if stopped:
        progress(f"starting the cluster's stopped node containers: {', '.join(stopped)}")
        for container in stopped:
            docker.start(container, timeout=120, what=f"docker start {container}")
    ok, why = _healthy(name, kube)
    if ok:
        return ok, why
    progress(f"cluster {name!r} is not ready ({why}): giving it up to {within:.0f}s to start")
    deadline = time.monotonic() + within
    try:  # the API server answering at all: no watch can be opened before it does
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_delay(within),
            wait=tenacity.wait_exponential(multiplier=0.5, max=5),
            retry=tenacity.retry_if_exception_type(KubetmError),
            reraise=True,
        ):
            with attempt:
                kube.list("Node")
        kube.wait_nodes_ready(
            count=1 + WORKERS, timeout=max(1.0, deadline - time.monotonic()), progress=None
        )
    except KubetmError:
        pass  # judged below, with the reason as it stands now
    return _healthy(name, kube)


def _node_ready(node: dict) -> bool:
    from kubetm.k8s.conditions import node_ready

    return node_ready(node)


def _kube(name: str):
    from kubetm.k8s import Kube

    return Kube(context=f"kind-{name}")


def up(
    name: str = DEFAULT_NAME, offline: bool | None = None, recreate: bool = False, progress=print
) -> dict:
    """Create (or reuse, when healthy) the local kind cluster with registry and metrics-server.

    Returns a report: name, context, mode, node image, nodes, registry, timings.
    """
    from kubetm import registry

    t0 = time.monotonic()
    timings: dict[str, float] = {}
    _doctor.preflight(_doctor.gather(host_ports(name)), owners=(name, registry.NAME))
    p = plan(name, offline)
    progress(f"mode: {'offline' if p.offline else 'online'} ({p.reason})")
    progress(
        f"host ports: {p.port_scheme} scheme ({p.port_scheme_reason})"
        + (f", offset {p.port_offset}" if p.port_offset else "")
    )
    _kind(progress)
    if not (name in clusters() and not recreate):
        check_disk(offline=p.offline)

    if p.offline:
        t = time.monotonic()
        run_script("node-image.sh", what="building the offline kind node image", on_line=progress)
        timings["node_image_s"] = round(time.monotonic() - t, 1)
        _build_offline_addons()

    reg = registry.ensure(port=REGISTRY_PORT)
    existing = name in clusters()
    reused = False
    if existing and not recreate:
        ok, why = _settle(name, _kube(name), progress)
        if ok:
            progress(f"cluster {name!r} exists and is healthy: reusing it")
            reused = True
        else:
            progress(f"cluster {name!r} exists but is not healthy ({why}): recreating it")
            kind_cli.delete_cluster(name, timeout=None)
    elif existing:
        kind_cli.delete_cluster(name, timeout=None)

    if not reused:
        t = time.monotonic()
        _create(p, progress)
        timings["kind_create_s"] = round(time.monotonic() - t, 1)

    registry.connect("kind")
    _wire_registry(name, reg)
    contain_cluster(name)
    _ensure_provisioner_image(name, p.offline, progress)
    _ensure_pv_recycler(name, progress)
    kube = _kube(name)
    _replace_foreign_fast_class(kube, progress)
    t = time.monotonic()
    _finish(kube, p, progress)
    timings["addons_s"] = round(time.monotonic() - t, 1)
    timings["total_s"] = round(time.monotonic() - t0, 1)
    return status(name) | {
        "reused": reused,
        "mode": "offline" if p.offline else "online",
        "node_image": p.node_image,
        "port_scheme": p.port_scheme,
        "timings": timings,
    }


def _create(p: Plan, progress) -> None:
    import tempfile

    import yaml

    _check_ports(p.config)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(p.config, f, sort_keys=False)
        cfg_path = f.name
    try:
        kind_cli.create_cluster(p.name, cfg_path, image=p.node_image, on_line=progress)
    finally:
        os.unlink(cfg_path)


# free space needed before creating: three node containers (+ the offline build when offline)
DISK_NEEDED_GB = {"online": 6, "offline": 16}


def disk_needed_gb(offline: bool) -> int:
    """The room a new cluster needs: the cluster's own (online, or offline with its node image
    already built: the build is then a check of its stamps), or the offline build's too (~16 GB)
    while the node image is still to build. Without this a machine with the node image built and
    under 16 GB free could not recreate its cluster (rehearsal s7b: 15.0 GB free)."""
    if offline and not docker.image_present(versions()["NODE_IMAGE"]):
        return DISK_NEEDED_GB["offline"]
    return DISK_NEEDED_GB["online"]


def check_disk(offline: bool, paths: list[str] | None = None) -> None:
    """Refuse with one line when Docker's data root or the build cache lacks room."""
    need = disk_needed_gb(offline)
    building = need == DISK_NEEDED_GB["offline"]
    if paths is None:
        paths = [docker.root_dir()]
        if building:
            paths.append(str(cache_dir()))
    for path in paths:
        probe = Path(path)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free_gb = shutil.disk_usage(probe).free / 1e9
        if free_gb < need:
            raise KubetmError(
                f"out of disk: {free_gb:.1f} GB free under {path}, the "
                f"{'offline build and cluster need' if building else 'cluster needs'} about {need} GB",
                hint="free space (docker system prune, make clean-offline) and retry",
            )


def _check_ports(config: dict) -> None:
    """Refuse early (before kind starts containers) when a host port the config publishes is
    taken, or its address does not exist on this host (told apart: the fixes differ)."""
    for node in config["nodes"]:
        for m in node.get("extraPortMappings") or []:
            addr, port = m["listenAddress"], m["hostPort"]
            problem = net.bind_problem(port, addr)
            if problem is None:
                continue
            if problem == "in use":
                raise KubetmError(
                    f"port {addr}:{port} is already in use",
                    hint="stop what listens there (ss -ltnp), or publish elsewhere with "
                    "KUBETM_HOST_PORT_OFFSET=1000 (another kind cluster?), and retry",
                )
            if problem == "not available":
                raise KubetmError(
                    f"address {addr} is not available on this host (port {port})",
                    hint="publish every node on 127.0.0.1: KUBETM_PORT_SCHEME=localhost",
                )
            raise KubetmError(f"cannot publish {addr}:{port}: {problem}")


def host_port_bindings(name: str) -> dict[str, dict[int, tuple[str, int]]]:
    """Where Docker really published each node's NodePorts/hostPort: {node: {port: (addr, port)}}
    (kind names a node's container after the node)."""
    out: dict[str, dict[int, tuple[str, int]]] = {}
    for c in node_containers(name):
        info = docker.inspect_container(c["Names"]) or {}
        bindings = (info.get("HostConfig") or {}).get("PortBindings") or {}
        ports: dict[int, tuple[str, int]] = {}
        for key, binds in bindings.items():
            port = int(key.split("/", 1)[0])
            if port in NODE_PORTS and binds:
                b = binds[0]
                ports[port] = (b.get("HostIp") or "127.0.0.1", int(b.get("HostPort") or port))
        if ports:  # a kind load balancer container publishes none of them: not a node
            out[c["Names"]] = ports
    return out


def _wire_registry(name: str, reg: dict) -> None:
    """kind's documented local-registry pattern: hosts.toml in every node + the hosting ConfigMap."""
    host = f"localhost:{REGISTRY_PORT}"
    toml = f'[host."http://{reg["name"]}:5000"]\n'
    for c in node_containers(name):
        node = c["Names"]
        docker.exec_in(
            node, ["mkdir", "-p", f"/etc/containerd/certs.d/{host}"], what="configure registry"
        )
        docker.exec_in(
            node,
            ["cp", "/dev/stdin", f"/etc/containerd/certs.d/{host}/hosts.toml"],
            input=toml,
            what="configure registry",
        )


def contain_cluster(name: str) -> None:
    """``contain_node`` on every node container of kind cluster ``name``."""
    for c in node_containers(name):
        contain_node(c["Names"])


def contain_node(container: str) -> str:
    """Make pod and Service addresses unreachable outside what kube-proxy and the pod network
    program, so such traffic fails in the node instead of leaving through its default route.

    Without this, a connection to a ClusterIP that kube-proxy has not programmed yet (the API
    server reaching metrics-server right after start-up) leaves the machine, and whatever answers
    outside keeps a pooled connection: the API server then served 404 for metrics.k8s.io until it
    restarted. Pod addresses: an unreachable route (pod /32s and the pod network's per-node /24s
    are more specific and still win). Service addresses: a REJECT in filter OUTPUT/FORWARD, which
    only sees packets kube-proxy's DNAT did not rewrite (a route would also stop the host-network
    API server before its DNAT).

    The rules are hack/offline/node-contain.sh, run in the node (``sh -s``; it reads the subnets
    from the node's /kind/kubeadm.conf, idempotent). The offline node image runs the same script
    at every boot (kubetm-contain.service, before containerd and the kubelet) and kubetm-net
    re-checks it on every sync; kind's stock node image has neither, and a restarted node
    container starts with an empty network namespace: so kubetm calls this after creating a
    cluster, on every `cluster up`, and after every node restart it causes (the replicaset lab's
    node stop/start, the fault tests). Returns the script's summary line.
    """
    script = (OFFLINE_DIR / "node-contain.sh").read_text()
    out = docker.exec_in(
        container, ["sh", "-s"], input=script, what=f"contain cluster addresses on {container}"
    )
    return out.strip().splitlines()[-1] if out.strip() else ""


_FLOWS_DELETED = re.compile(r"(\d+) flow entries have been deleted")


def forget_node_port_connections(nodes: list[dict], port: int) -> dict[str, int]:
    """Delete the kernel's connection-tracking entries for TCP NodePort ``port`` in every kind node
    container among ``nodes`` (the API's Node objects); returns {node container: entries deleted}.

    Why: when a node stops while traffic flows through another node's NodePort, that node keeps
    the connections it had started towards the stopped node's pods as SYN_SENT entries (DNAT to
    a pod address that is gone) for two minutes, each retransmission refreshing them. kube-proxy
    clears such entries for UDP only. A new connection from the host that reuses one of those
    source ports matches the stale entry and goes to the dead pod: a timeout, counted as a failed
    request by the next demo although nothing in the cluster is wrong any more. The demo's
    NodePort is its own (the run lock holds it), so before probing nothing legitimate uses it.

    Nodes that are not kind's on Docker (a remote cluster) and nodes without ``conntrack`` are
    skipped.
    """
    counts: dict[str, int] = {}
    for node in nodes:
        parts = kind_parts(node)
        if parts is None or parts[0] != "docker":
            continue
        container = parts[2]
        try:
            res = docker.run(
                ["exec", container, "conntrack", "-D", "-p", "tcp", "--orig-port-dst", str(port)],
                check=False,
                timeout=30,
                what=f"forget connections to NodePort {port} on {container}",
            )
        except KubetmError:  # no docker here, or the container is gone: nothing to forget
            continue
        found = _FLOWS_DELETED.search(res.stderr or "")
        if found:
            counts[container] = int(found.group(1))
    return counts


def _build_offline_addons() -> None:
    """metrics-server is preloaded in the offline node image; nothing else to do offline."""


def _finish(kube, p: Plan, progress) -> None:
    from kubetm import manifests, nodes

    progress("waiting for nodes to be Ready")
    kube.wait_nodes_ready(count=1 + WORKERS, timeout=300)
    progress("labelling the course's nodes (k8s-node1, k8s-node2)")
    nodes.ensure_course_labels(kube)
    nodes.annotate_host_ports(kube, host_port_bindings(p.name))
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
        "data": {
            "localRegistryHosting.v1": f'host: "localhost:{REGISTRY_PORT}"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n'
        },
    }
    objs = manifests.load(manifests.manifest_root() / "cluster")
    if not p.offline:
        objs = _metrics_server_image(objs, _load_metrics_server_online(p.name, progress))
    kube.apply([cm] + objs, force_conflicts=True)  # the add-ons are kubetm's own: take them back
    progress("waiting for CoreDNS, the pod network, storage and metrics-server")
    for ns, kind, nm in [
        ("kube-system", "Deployment", "coredns"),
        ("local-path-storage", "Deployment", "local-path-provisioner"),
        ("kube-system", "Deployment", "metrics-server"),
        ("kubetm-provisioner", "Deployment", "kubetm-provisioner"),
    ]:
        kube.wait_ready(kind, nm, namespace=ns, timeout=300)
    kube.wait_ready("DaemonSet", "kube-proxy", namespace="kube-system", timeout=300)
    _ensure_metrics_api(kube, p.name, progress)


def _metrics_api_served(kube, retry: bool) -> bool:
    try:
        kube.call(
            kube.dynamic.request,
            "get",
            "/apis/metrics.k8s.io/v1beta1",
            what="GET the metrics API",
            retry=retry,
        )
        return True
    except KubetmError:
        return False


def _ensure_metrics_api(kube, name: str, progress) -> None:
    """The metrics API must really be served: an aggregated API that the API server lists but
    cannot serve blocks every namespace deletion in the cluster ("stale GroupVersion discovery").

    Seen on the offline cluster: the APIService reported Available while kube-apiserver's
    aggregator answered 404 for metrics.k8s.io until kube-apiserver was restarted. We check,
    and restart it once (a static pod: the kubelet starts it again) when that happens.
    """
    from kubetm.k8s.conditions import condition

    kube.watch_until(
        "APIService",
        "v1beta1.metrics.k8s.io",
        condition("Available"),
        timeout=180,
        what="the metrics API to be Available",
    )
    if _metrics_api_served(kube, retry=True):
        return
    progress(
        "the API server lists the metrics API but does not serve it: restarting kube-apiserver"
    )
    node = f"{name}-control-plane"
    docker.exec_in(
        node,
        ["sh", "-c", "crictl stop $(crictl ps -q --name kube-apiserver)"],
        what="restart kube-apiserver",
    )
    for _ in range(4):  # each try retries connection errors while the API server comes back
        if _metrics_api_served(kube, retry=True):
            return
    raise KubetmError(
        "the metrics API is still not served after restarting kube-apiserver",
        hint=f"see `docker exec {node} crictl logs $(crictl ps -q --name kube-apiserver)`",
    )


def _metrics_server_image(objs: list[dict], image: str) -> list[dict]:
    """The add-on objects with metrics-server's container image set to ``image``."""
    for obj in objs:
        if obj.get("kind") == "Deployment" and obj["metadata"]["name"] == "metrics-server":
            for c in obj["spec"]["template"]["spec"]["containers"]:
                if c["name"] == "metrics-server":
                    c["image"] = image
    return objs


def online_metrics_server_image(pull=None) -> tuple[str, str]:
    """Online, metrics-server is its upstream image, pinned by digest (METRICS_SERVER_IMAGE):
    the local image when Docker has it (by digest, else its tag), else pulled by digest.
    Returns (the name:tag the nodes get, how it was found). No Go, no build."""
    pinned = versions()["METRICS_SERVER_IMAGE"]
    tagged = pinned.split("@", 1)[0]
    found = docker.local_ref(pinned)
    if found is None:
        if not (pull or docker.pull)(pinned):
            raise KubetmError(
                f"metrics-server's image {pinned} is neither present locally nor pullable",
                hint="check the network (docker pull), or run offline: KUBETM_OFFLINE=1",
            )
        found, how = pinned, "pulled by digest"
    else:
        how = "by digest" if found == pinned else "by its tag, not checked against the digest"
        how = f"present locally ({how})"
    if found != tagged:
        docker.tag(found, tagged)  # kind loads name:tag; the Deployment names it so
    return tagged, how


def _load_metrics_server_online(name: str, progress=_note) -> str:
    """Put metrics-server's upstream image into every node (kind load); returns its name:tag."""
    image, how = online_metrics_server_image()
    progress(f"metrics-server: {image} ({how}), loading it into the nodes")
    kind_cli.load_images(name, [image])
    return image


PROVISIONER = "kubetm.io/hostpath"
PROVISIONER_TAG = "v0.1.1"  # hack/offline/component-images.sh tags it so
KCM_MANIFEST = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
RECYCLER_DIR = "/etc/kubernetes/kubetm"
RECYCLER_TEMPLATE = f"{RECYCLER_DIR}/recycler-pod.yaml"
RECYCLER_FLAG = "--pv-recycler-pod-template-filepath-hostpath"


def provisioner_image() -> str:
    return f"{versions()['OFFLINE_REPO']}/kubetm-provisioner:{PROVISIONER_TAG}"


def _ensure_provisioner_image(name: str, offline: bool, progress=_note) -> None:
    """kubetm-provisioner (images/kubetm-provisioner, StorageClass fast) into every node: built
    from source when the image is missing, loaded with kind (which skips nodes that have it).

    The offline node image preloads it too; this covers clusters made before it existed.
    """
    image = provisioner_image()
    if not docker.image_present(image):
        run_script(
            "component-images.sh",
            "kubetm-provisioner",
            what="building kubetm-provisioner",
            env=None if offline else {"TOOLBOX_IMAGE": "debian:bookworm-slim"},
            on_line=progress,
        )
    kind_cli.load_images(name, [image])


def recycler_pod(image: str) -> dict:
    """kube-controller-manager's hostPath recycler pod (--pv-recycler-pod-template-filepath-hostpath).

    Its default image would be pulled from a public registry; this one is kubetm-provisioner's
    (a Debian toolbox, loaded into every node by kubetm). The recycler swaps in the PV's hostPath
    as volume 0 but schedules the pod anywhere: the course's hostPath PV (pv-recycle1) holds its
    data on k8s-node1, so the pod is pinned there.
    """
    from kubetm.labels import COURSE_NODE

    scrub = (
        'test -e /scrub && find /scrub -mindepth 1 -delete && test -z "$(ls -A /scrub)" || exit 1'
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pv-recycler", "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {COURSE_NODE: "k8s-node1"},
            "containers": [
                {
                    "name": "pv-recycler",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", scrub],
                    "volumeMounts": [{"name": "vol", "mountPath": "/scrub"}],
                }
            ],
            "volumes": [{"name": "vol", "hostPath": {"path": "/tmp"}}],
        },
    }


def with_recycler(manifest: dict) -> dict:
    """kube-controller-manager's static pod with the recycler flag and the template mounted
    (read-only, from the control-plane node); unchanged when it already has them."""
    import copy

    pod = copy.deepcopy(manifest)
    spec = pod["spec"]
    ctr = spec["containers"][0]
    cmd = ctr.setdefault("command", [])
    flag = f"{RECYCLER_FLAG}={RECYCLER_TEMPLATE}"
    cmd[:] = [c for c in cmd if not c.startswith(RECYCLER_FLAG + "=")] + [flag]
    mounts = ctr.setdefault("volumeMounts", [])
    if not any(m.get("name") == "kubetm-recycler" for m in mounts):
        mounts.append({"name": "kubetm-recycler", "mountPath": RECYCLER_DIR, "readOnly": True})
    vols = spec.setdefault("volumes", [])
    if not any(v.get("name") == "kubetm-recycler" for v in vols):
        vols.append(
            {"name": "kubetm-recycler", "hostPath": {"path": RECYCLER_DIR, "type": "Directory"}}
        )
    return pod


def _ensure_pv_recycler(name: str, progress=_note) -> None:
    """Give kube-controller-manager a hostPath recycler pod whose image is on the nodes, for the
    course's Recycle reclaim policy. Idempotent: the static pod manifest is rewritten (and the
    kubelet restarts kube-controller-manager) only when the flag or the mount is missing."""
    import yaml

    node = f"{name}-control-plane"
    template = yaml.safe_dump(recycler_pod(provisioner_image()), sort_keys=False)
    docker.exec_in(
        node,
        ["sh", "-c", f"mkdir -p {RECYCLER_DIR} && cat > {RECYCLER_TEMPLATE}"],
        input=template,
        what="write the PV recycler pod template",
    )
    current = yaml.safe_load(
        docker.exec_in(node, ["cat", KCM_MANIFEST], what="read " + KCM_MANIFEST)
    )
    wanted = with_recycler(current)
    if wanted == current:
        return
    progress("kube-controller-manager: adding the hostPath PV recycler template (it restarts)")
    tmp = "/etc/kubernetes/kube-controller-manager.yaml.kubetm"
    docker.exec_in(
        node,
        ["sh", "-c", f"cat > {tmp} && mv {tmp} {KCM_MANIFEST}"],
        input=yaml.safe_dump(wanted, sort_keys=False),
        what="patch " + KCM_MANIFEST,
    )


def _replace_foreign_fast_class(kube, progress=_note) -> None:
    """StorageClass fast is kubetm-provisioner's (manifests/cluster/provisioner.yaml). A class of
    that name from another provisioner (a lab's stand-in made before this add-on existed) cannot
    be changed in place (provisioner is immutable): delete it so the add-on can create ours.
    Existing PVs keep their own provisioner and are not touched."""
    sc = kube.get("StorageClass", "fast")  # None: not there
    if sc is not None and sc.get("provisioner") != PROVISIONER:
        progress(f"StorageClass fast comes from {sc.get('provisioner')}: replacing it")
        kube.delete("storageclass/fast")


def down(name: str = DEFAULT_NAME, registry_too: bool = False) -> dict:
    """Delete the kind cluster (and the local registry with registry_too)."""
    from kubetm import registry

    docker.require_docker()
    existed = name in clusters()
    if existed:
        kind_cli.delete_cluster(name, timeout=300)
    if registry_too:
        registry.remove()
    return {"name": name, "deleted": existed, "registry_removed": registry_too}


def status(name: str = DEFAULT_NAME) -> dict:
    """Nodes, their readiness and published addresses, and the registry."""
    from kubetm import registry

    docker.require_docker()
    if name not in clusters():
        return {"name": name, "exists": False}
    from kubetm import nodes
    from kubetm.labels import COURSE_NODE

    kube = _kube(name)
    ns = nodes.list_nodes(kube)
    return {
        "name": name,
        "exists": True,
        "context": f"kind-{name}",
        "nodes": [
            {
                "name": n["metadata"]["name"],
                "ready": _node_ready(n),
                "version": n["status"]["nodeInfo"]["kubeletVersion"],
                "host_address": nodes.host_address_from(ns, n["metadata"]["name"]),
                "host_ports": {
                    str(p): nodes.host_endpoint_from(ns, n["metadata"]["name"], p, required=False)
                    for p in NODE_PORTS
                },
                "course_node": n["metadata"].get("labels", {}).get(COURSE_NODE),
            }
            for n in ns
        ],
        "registry": registry.status(),
    }


def render(report: dict) -> str:
    """Human text for up/down/status reports (the same dict is printed as is with -o json)."""
    from kubetm.text import table

    if "deleted" in report:
        return (
            f"cluster {report['name']!r} "
            + ("deleted" if report["deleted"] else "did not exist")
            + ("; registry removed" if report.get("registry_removed") else "")
        )
    if not report.get("exists"):
        return f"cluster {report['name']!r} does not exist: create it with `kubetm cluster up`"
    lines = [f"cluster {report['name']!r} (context {report['context']})"]
    if "mode" in report:
        how = "reused" if report.get("reused") else "created"
        took = report.get("timings", {}).get("total_s")
        lines[0] += f": {how}, {report['mode']} node image {report['node_image']}" + (
            f", {took} s" if took else ""
        )
    rows = [
        (
            n["name"],
            "Ready" if n["ready"] else "NotReady",
            n["version"],
            n.get("course_node") or "-",
            (n.get("host_ports") or {}).get("30000") or n["host_address"],
        )
        for n in report["nodes"]
    ]
    lines.append(
        table(rows, ["node", "status", "version", "course name", "NodePort 30000 from the host"])
    )
    reg = report.get("registry") or {}
    if reg.get("running"):
        lines.append(f"registry: {reg['url']} ({len(reg.get('catalog') or [])} repositories)")
    else:
        lines.append("registry: not running")
    return "\n".join(lines)
