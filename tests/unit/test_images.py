"""kubetm.images and kubetm.registry without Docker: the docker CLI is replaced by a fake."""
from __future__ import annotations

import json
import subprocess

import pytest

from kubetm import images, registry
from kubetm.errors import KubetmError

DIGEST = "sha256:" + "ab" * 32
PUSH_OUTPUT = f"""The push refers to repository [localhost:5001/kubetm/hello]
5f70bf18a086: Preparing
1a2b3c4d5e6f: Preparing
1a2b3c4d5e6f: Waiting
5f70bf18a086: Pushing  3.2MB/9MB
5f70bf18a086: Pushed
1a2b3c4d5e6f: Layer already exists
1.0: digest: {DIGEST} size: 740
"""


class FakeDocker:
    """Stands in for subprocess.run(["docker", ...]): answers by subcommand, records every argv."""

    def __init__(self, present=(), running=True, pull_ok=False, networks=("bridge",), containers=None):
        self.present = set(present)
        self.running = running
        self.pull_ok = pull_ok
        self.networks = set(networks)
        self.containers = containers or {}
        self.calls: list[list[str]] = []
        self.envs: list[dict | None] = []

    def __call__(self, argv, **kw):
        assert isinstance(argv, list), "commands are argument lists, never shell strings"
        self.calls.append(argv)
        self.envs.append(kw.get("env"))
        return self.answer(argv[1:])

    @staticmethod
    def cp(rc=0, out="", err=""):
        return subprocess.CompletedProcess([], rc, out, err)

    def answer(self, a):
        if a[0] == "version":
            return self.cp(0, "20.10.24\n") if self.running else \
                self.cp(1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
        if a[:2] == ["image", "inspect"]:
            refs = [x for x in a[2:] if not x.startswith("--") and not x.startswith("{{")]
            if not all(r in self.present for r in refs):
                return self.cp(1, "", "Error: No such image")
            return self.cp(0, json.dumps([{"Id": "sha256:" + "1" * 64, "Size": 57_000_000,
                                           "Created": "2026-01-01T00:00:00.000Z", "RepoDigests": [],
                                           "Config": {"Labels": {}}} for _ in refs]))
        if a[0] == "pull":
            if self.pull_ok:
                self.present.add(a[-1])
                return self.cp(0)
            return self.cp(1, "", "Error response from daemon: dial tcp: lookup registry-1.docker.io: no such host")
        if a[:2] == ["container", "inspect"]:
            c = self.containers.get(a[-1])
            return self.cp(0, json.dumps([c])) if c else self.cp(1, "", "Error: No such container")
        if a[:2] == ["network", "inspect"]:
            return self.cp(0 if a[2] in self.networks else 1)
        if a[0] == "ps":
            return self.cp(0, "someone-else\n")
        return self.cp(0)


@pytest.fixture
def fake(monkeypatch):
    f = FakeDocker()
    monkeypatch.setattr(images.subprocess, "run", f)
    monkeypatch.setattr(images.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.delenv("KUBETM_OFFLINE", raising=False)
    return f


# ---------------------------------------------------------------------------------- names

def test_resolve_all_and_empty_mean_every_image():
    assert [s.name for s in images.resolve(["all"])] == ["hello", "app", "init", "ports"]
    assert [s.name for s in images.resolve([])] == ["hello", "app", "init", "ports"]
    assert [s.name for s in images.resolve(["app", "hello", "app"])] == ["app", "hello"]


def test_unknown_image_lists_valid_names():
    with pytest.raises(KubetmError) as e:
        images.resolve(["helo"])
    assert "helo" in e.value.message
    assert e.value.hint == "valid names: hello, app, init, ports, all"


def test_refs_follow_the_design_names():
    assert images.ref("hello", "1.0") == "localhost:5001/kubetm/hello:1.0"
    assert images.ref("app", "v2", "registry.example:443/") == "registry.example:443/kubetm/app:v2"
    assert images.IMAGES["app"].tags == ("v1", "v2", "v3")


def test_every_image_has_a_dockerfile_with_a_base_argument():
    for name in [*images.IMAGES, "registry"]:
        text = (images.images_dir() / name / "Dockerfile").read_text()
        assert "ARG BASE=" in text and "FROM ${BASE}" in text, name


def test_hello_js_is_the_course_program_unchanged():
    src = (images.images_dir() / "hello" / "hello.js").read_text()
    assert 'resp.end("Hello Kubernetes!" + "\\n");' in src
    assert src.index("resp.end(") < src.index("resp.writeHead(200)")  # the course's order, kept
    assert "w.listen(8000);" in src


# ---------------------------------------------------------------------------- output parsing

def test_parse_classic_builder_steps():
    assert images.parse_step("Step 3/7 : COPY hello.js ./\n") == (3, 7, "COPY hello.js ./")
    assert images.parse_step(" ---> Running in 1234") is None


def test_push_tracker_counts_layers_and_finds_digest():
    t = images.PushTracker()
    for line in PUSH_OUTPUT.splitlines():
        t.feed(line)
    assert (t.done, t.total, t.digest) == (2, 2, DIGEST)


def test_last_error_line_skips_builder_deprecation_noise():
    out = "DEPRECATED: The legacy builder is deprecated\nStep 1/2 : FROM x\nmanifest for x not found: error\nextra"
    assert images.last_error_line(out) == "manifest for x not found: error"


# ------------------------------------------------------------------------------- docker state

def test_no_docker_engine_is_one_line(fake):
    fake.running = False
    with pytest.raises(KubetmError) as e:
        images.require_docker()
    assert str(e.value) == "Docker is not running: start it (or run hack/docker-up.sh)"


def test_docker_not_installed(monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    with pytest.raises(KubetmError, match="Docker is not installed"):
        images.require_docker()


def test_daemon_gone_mid_command_maps_to_the_same_line():
    err = images._docker_error("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                               "Is the docker daemon running?", "docker push")
    assert err.message == images.DOCKER_DOWN


@pytest.mark.parametrize("env,expected", [("1", True), ("true", True), ("0", False)])
def test_offline_from_environment(fake, monkeypatch, env, expected):
    monkeypatch.setenv("KUBETM_OFFLINE", env)
    assert images.decide_offline({"nodejs"})[0] is expected
    assert not any(c[1] == "pull" for c in fake.calls)


def test_online_when_public_base_is_local(fake):
    fake.present.add("node:20-slim")
    assert images.decide_offline({"nodejs"}) == (False, "public base images available")


def test_online_when_public_base_is_pullable(fake):
    fake.pull_ok = True
    assert images.decide_offline({"nodejs"})[0] is False


def test_offline_when_public_base_is_neither_local_nor_pullable(fake):
    off, reason = images.decide_offline({"debian"})
    assert off and reason == "debian:bookworm-slim is neither present locally nor pullable"


# ------------------------------------------------------------------------------------ build

def test_build_offline_uses_local_bases_classic_builder_and_version(fake, monkeypatch):
    fake.present |= {"kubetm.local/nodejs:bookworm"} | {images.ref("app", t) for t in ("v1", "v2", "v3")}
    streamed = []

    def stream(args, on_line, env=None):
        streamed.append((args, env))
        for line in ("Step 1/4 : FROM x", "Step 4/4 : CMD y", "Successfully built 0123456789ab"):
            on_line(line)
        return 0, ""

    monkeypatch.setattr(images, "_stream", stream)
    out = images.build(["app"], offline=True, progress=False)
    assert [r["image"] for r in out] == [f"localhost:5001/kubetm/app:{t}" for t in ("v1", "v2", "v3")]
    assert all(r["mode"] == "offline" and r["base"] == "kubetm.local/nodejs:bookworm" for r in out)
    args, env = streamed[1]
    assert args[0] == "build" and "BASE=kubetm.local/nodejs:bookworm" in args and "VERSION=v2" in args
    assert args[-1].endswith("images/app") and env["DOCKER_BUILDKIT"] == "0"


def test_build_failure_is_one_line_with_the_cause(fake, monkeypatch):
    fake.present.add("kubetm.local/debian:bookworm")
    monkeypatch.setattr(images, "_stream", lambda a, f, env=None: (1, "Step 2/3 : RUN x\nE: Unable to locate package foo"))
    with pytest.raises(KubetmError, match=r"building localhost:5001/kubetm/init:1.0 .* Unable to locate package foo"):
        images.build(["init"], offline=True, progress=False)


def test_missing_offline_base_names_the_script(fake, monkeypatch):
    monkeypatch.setattr(images.os, "geteuid", lambda: 1000)
    with pytest.raises(KubetmError) as e:
        images.build(["hello"], offline=True, progress=False)
    assert "kubetm.local/nodejs:bookworm" in e.value.message and "base-images.sh nodejs" in e.value.hint


# ------------------------------------------------------------------------------------- push

def test_push_refuses_unbuilt_images_before_pushing(fake):
    with pytest.raises(KubetmError) as e:
        images.push(["app"], registry="r.example")
    assert "app:v1 is not built (and 2 more)" in e.value.message and e.value.hint == "kubetm image build app"
    assert not any(c[1] == "push" for c in fake.calls)


def test_push_returns_digests_and_never_passes_credentials(fake, monkeypatch):
    fake.present.add(images.ref("hello", "1.0"))
    ensured = []
    monkeypatch.setattr(registry, "ensure", lambda **kw: ensured.append(kw) or {})
    pushed = []

    def stream(args, on_line, env=None):
        pushed.append(args)
        for line in PUSH_OUTPUT.splitlines():
            on_line(line)
        return 0, PUSH_OUTPUT

    monkeypatch.setattr(images, "_stream", stream)
    out = images.push(["hello"], progress=False)
    assert out == [{"name": "hello", "tag": "1.0", "image": "localhost:5001/kubetm/hello:1.0", "digest": DIGEST,
                    "pinned": f"localhost:5001/kubetm/hello@{DIGEST}"}]
    assert ensured, "the default registry is started when needed"
    assert pushed == [["push", "localhost:5001/kubetm/hello:1.0"]]
    argv = " ".join(" ".join(c) for c in fake.calls + pushed)
    assert not any(w in argv for w in ("--password", "-p ", "login", "auth"))


def test_push_to_another_registry_tags_first_and_skips_local_registry(fake, monkeypatch):
    fake.present.add(images.ref("init", "1.0"))
    monkeypatch.setattr(registry, "ensure", lambda **kw: pytest.fail("local registry must not start"))
    monkeypatch.setattr(images, "_stream", lambda a, f, env=None: (f(PUSH_OUTPUT.splitlines()[-1]) or 0, ""))
    out = images.push(["init"], registry="reg.example:5000", progress=False)
    assert ["docker", "tag", "localhost:5001/kubetm/init:1.0", "reg.example:5000/kubetm/init:1.0"] in fake.calls
    assert out[0]["image"] == "reg.example:5000/kubetm/init:1.0"


@pytest.mark.parametrize("line,expect", [
    ("unauthorized: authentication required", "docker login reg.example"),
    ("Get http://localhost:5001/v2/: dial tcp 127.0.0.1:5001: connect: connection refused", "kubetm cluster up"),
])
def test_push_errors_explain_themselves(line, expect):
    reg = "localhost:5001" if "5001" in line else "reg.example"
    err = images._push_error(f"The push refers to repository [x]\n{line}\n", f"{reg}/kubetm/x:1", reg)
    assert expect in err.hint


# ------------------------------------------------------------------------------ load and run

def test_kind_binary_falls_back_to_the_offline_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path))
    with pytest.raises(KubetmError, match="kind is not installed"):
        images.kind_binary()
    kind = tmp_path / "offline" / "bin" / "v1.34.3" / "kind"
    kind.parent.mkdir(parents=True)
    kind.write_text("")
    assert images.kind_binary() == str(kind)


def test_load_without_cluster_says_so(fake, monkeypatch):
    fake.present.add(images.ref("hello", "1.0"))
    real = fake.answer
    fake.answer = lambda a: fake.cp(1, "", 'ERROR: no nodes found for cluster "kubetm"') if a[:1] == ["load"] else real(a)
    monkeypatch.setattr(images, "kind_binary", lambda: "kind")
    with pytest.raises(KubetmError) as e:
        images.load(["hello"])
    assert e.value.message == "kind cluster 'kubetm' does not exist" and e.value.hint == "kubetm cluster up"
    assert fake.calls[-1] == ["kind", "load", "docker-image", "--name", "kubetm", "localhost:5001/kubetm/hello:1.0"]


def test_run_refuses_non_servers_and_busy_ports(fake, monkeypatch):
    with pytest.raises(KubetmError, match="does not serve HTTP"):
        images.run("init")
    fake.present.add(images.ref("hello", "1.0"))
    monkeypatch.setattr(images, "port_free", lambda port, host="127.0.0.1": False)
    with pytest.raises(KubetmError, match=r"port 127.0.0.1:8100 is already in use by container someone-else"):
        images.run("hello")
    assert not any(c[1] == "run" for c in fake.calls)


def test_run_publishes_on_loopback_and_returns_the_stop_command(fake, monkeypatch):
    fake.present.add(images.ref("hello", "1.0"))
    monkeypatch.setattr(images, "port_free", lambda port, host="127.0.0.1": True)
    monkeypatch.setattr(images, "_http_get_when_up", lambda url, c, t: "Hello Kubernetes!\n")
    out = images.run("hello", port=8100)
    run = next(c for c in fake.calls if c[1] == "run")
    assert run[run.index("--publish") + 1] == "127.0.0.1:8100:8000"
    assert out["stop"] == "docker stop kubetm-hello" and out["response"] == "Hello Kubernetes!"


def test_list_images_reports_unbuilt_ones(fake):
    out = images.list_images()
    assert [i["image"] for i in out][:2] == ["localhost:5001/kubetm/hello:1.0", "localhost:5001/kubetm/app:v1"]
    assert not any(i["built"] for i in out)


# ---------------------------------------------------------------------------------- registry

def _registry_container(networks=("bridge",), port="5001", managed="kubetm"):
    return {"Config": {"Labels": {"app.kubernetes.io/managed-by": managed}, "Image": registry.IMAGE},
            "Image": "sha256:" + "1" * 64, "State": {"Running": True},
            "HostConfig": {"PortBindings": {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": port}]}},
            "NetworkSettings": {"Networks": {n: {} for n in networks}}}


def test_registry_port_taken_by_something_else_is_one_clear_line(fake, monkeypatch):
    monkeypatch.setattr(images, "port_free", lambda port, host="127.0.0.1": False)
    with pytest.raises(KubetmError) as e:
        registry.ensure()
    assert e.value.message == ("port 127.0.0.1:5001 for the local registry is already in use by container "
                               "someone-else")


def test_registry_refuses_a_foreign_container_with_its_name(fake):
    fake.containers[registry.NAME] = _registry_container(managed="")
    with pytest.raises(KubetmError, match="not created by kubetm"):
        registry.ensure()


def test_connect_is_idempotent(fake):
    fake.containers[registry.NAME] = _registry_container(networks=("bridge", "kind"))
    fake.networks.add("kind")
    assert registry.connect("kind") is True
    assert not any(c[1:3] == ["network", "connect"] for c in fake.calls)
    del fake.containers[registry.NAME]["NetworkSettings"]["Networks"]["kind"]
    assert registry.connect("kind") is True
    assert ["docker", "network", "connect", "kind", registry.NAME] in fake.calls


def test_connect_without_the_network_is_false(fake):
    assert registry.connect("kind") is False


def test_status_reads_the_catalog(fake, monkeypatch):
    fake.containers[registry.NAME] = _registry_container()
    answers = {"/v2/_catalog?n=1000": {"repositories": ["kubetm/hello"]},
               "/v2/kubetm/hello/tags/list": {"name": "kubetm/hello", "tags": ["1.0"]}}
    monkeypatch.setattr(registry, "_get", lambda port, path: answers[path])
    st = registry.status()
    assert st["running"] and st["catalog"] == ["kubetm/hello"] and st["tags"] == {"kubetm/hello": ["1.0"]}
    assert registry._published_port(fake.containers[registry.NAME]) == 5001


def test_list_skips_images_left_untagged_by_a_rebuild(monkeypatch):
    from kubetm import images

    monkeypatch.setattr(images, "require_docker", lambda: None)

    class CP:
        stdout = "localhost:5001/kubetm/init:<none>\n"

    monkeypatch.setattr(images, "docker", lambda args, **kw: CP())
    monkeypatch.setattr(images, "_inspect", lambda refs: [])
    rows = images.list_images()
    assert all(not r["image"].endswith(":<none>") for r in rows) and not any(r["built"] for r in rows)


def test_text_output_is_tables_not_dicts():
    from kubetm import images

    built = [{"name": "hello", "tag": "1.0", "image": "localhost:5001/kubetm/hello:1.0", "id": "sha256:" + "c2" * 32,
              "size": "206 MB", "base": "kubetm.local/nodejs:bookworm", "mode": "offline",
              "reason": "node:20-slim is neither present locally nor pullable", "seconds": 0.31}]
    text = images.render_build(built)
    assert text.splitlines()[0].split() == ["IMAGE", "IMAGE", "ID", "SIZE", "BUILT", "FROM", "TOOK"]
    assert "c2c2c2c2c2c2   206 MB" in text and "0.3s" in text and "{" not in text
    assert text.splitlines()[-1] == "offline bases: node:20-slim is neither present locally nor pullable"
    pushed = [{"image": "localhost:5001/kubetm/hello:1.0", "digest": "sha256:" + "ab" * 32}]
    assert images.render_push(pushed).splitlines()[1].split() == [pushed[0]["image"], pushed[0]["digest"]]
    listed = [{"image": "localhost:5001/kubetm/app:v1", "built": False, "id": None, "size": None, "created": None,
               "digest": None}]
    assert images.render_list(listed).splitlines()[1].split()[-2:] == ["not", "built"]
