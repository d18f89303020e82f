"""kubetm.images without Docker: the docker CLI is replaced by a fake (tests/unit/host/fake_docker.py)."""

from __future__ import annotations

import pytest
from host.fake_docker import install

from kubetm import bases, images, registry
from kubetm.errors import KubetmError
from kubetm.host import docker, kind, net

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


@pytest.fixture
def fake(monkeypatch):
    return install(monkeypatch)


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
    assert images.parse_step("#7 [3/7] COPY hello.js ./") == (3, 7, "COPY hello.js ./")  # BuildKit
    assert images.parse_step("#5 [internal] load metadata for x") is None


def test_push_tracker_counts_layers_and_finds_digest():
    t = images.PushTracker()
    for line in PUSH_OUTPUT.splitlines():
        t.feed(line)
    assert (t.done, t.total, t.digest) == (2, 2, DIGEST)


# ------------------------------------------------------------------------------------ build


def test_build_offline_uses_local_bases_classic_builder_and_version(fake, monkeypatch):
    fake.present |= {"kubetm.local/nodejs:bookworm"} | {
        images.ref("app", t) for t in ("v1", "v2", "v3")
    }
    fake.streams["build"] = (
        0,
        "Step 1/4 : FROM x\nStep 4/4 : CMD y\nSuccessfully built 0123456789ab\n",
    )
    out = images.build(["app"], offline=True, progress=False)
    streamed = [(c[1:], e) for c, e in zip(fake.calls, fake.envs) if c[1] == "build"]
    assert [r["image"] for r in out] == [
        f"localhost:5001/kubetm/app:{t}" for t in ("v1", "v2", "v3")
    ]
    assert all(r["mode"] == "offline" and r["base"] == "kubetm.local/nodejs:bookworm" for r in out)
    args, env = streamed[1]
    assert (
        args[0] == "build" and "BASE=kubetm.local/nodejs:bookworm" in args and "VERSION=v2" in args
    )
    assert args[-1].endswith("images/app") and env["DOCKER_BUILDKIT"] == "0"


def test_build_failure_is_one_line_with_the_cause(fake, monkeypatch):
    fake.present.add("kubetm.local/debian:bookworm")
    fake.streams["build"] = (1, "Step 2/3 : RUN x\nE: Unable to locate package foo")
    with pytest.raises(
        KubetmError,
        match=r"building localhost:5001/kubetm/init:1.0 .* Unable to locate package foo",
    ):
        images.build(["init"], offline=True, progress=False)


def test_missing_offline_base_names_the_script(fake, monkeypatch):
    monkeypatch.setattr(bases.os, "geteuid", lambda: 1000)
    with pytest.raises(KubetmError) as e:
        images.build(["hello"], offline=True, progress=False)
    assert (
        "kubetm.local/nodejs:bookworm" in e.value.message
        and "base-images.sh nodejs" in e.value.hint
    )


# ------------------------------------------------------------------------------------- push


def test_push_refuses_unbuilt_images_before_pushing(fake):
    with pytest.raises(KubetmError) as e:
        images.push(["app"], registry="r.example")
    assert (
        "app:v1 is not built (and 2 more)" in e.value.message
        and e.value.hint == "kubetm image build app"
    )
    assert not any(c[1] == "push" for c in fake.calls)


def test_push_returns_digests_and_never_passes_credentials(fake, monkeypatch):
    fake.present.add(images.ref("hello", "1.0"))
    ensured = []
    monkeypatch.setattr(registry, "ensure", lambda **kw: ensured.append(kw) or {})
    fake.streams["push"] = (0, PUSH_OUTPUT)
    out = images.push(["hello"], progress=False)
    pushed = [c[1:] for c in fake.calls if c[1] == "push"]
    assert out == [
        {
            "name": "hello",
            "tag": "1.0",
            "image": "localhost:5001/kubetm/hello:1.0",
            "digest": DIGEST,
            "pinned": f"localhost:5001/kubetm/hello@{DIGEST}",
        }
    ]
    assert ensured, "the default registry is started when needed"
    assert pushed == [["push", "localhost:5001/kubetm/hello:1.0"]]
    argv = " ".join(" ".join(c) for c in fake.calls)
    assert not any(w in argv for w in ("--password", "-p ", "login", "auth"))


def test_push_to_another_registry_tags_first_and_skips_local_registry(fake, monkeypatch):
    fake.present.add(images.ref("init", "1.0"))
    monkeypatch.setattr(
        registry, "ensure", lambda **kw: pytest.fail("local registry must not start")
    )
    fake.streams["push"] = (0, PUSH_OUTPUT.splitlines()[-1])
    out = images.push(["init"], registry="reg.example:5000", progress=False)
    assert [
        "docker",
        "tag",
        "localhost:5001/kubetm/init:1.0",
        "reg.example:5000/kubetm/init:1.0",
    ] in fake.calls
    assert out[0]["image"] == "reg.example:5000/kubetm/init:1.0"


@pytest.mark.parametrize(
    "line,expect",
    [
        ("unauthorized: authentication required", "docker login reg.example"),
        (
            "Get http://localhost:5001/v2/: dial tcp 127.0.0.1:5001: connect: connection refused",
            "kubetm cluster up",
        ),
    ],
)
def test_push_errors_explain_themselves(line, expect):
    reg = "localhost:5001" if "5001" in line else "reg.example"
    err = images._push_error(
        f"The push refers to repository [x]\n{line}\n", f"{reg}/kubetm/x:1", reg
    )
    assert expect in err.hint


# ------------------------------------------------------------------------------ load and run


def test_load_without_cluster_says_so(fake, monkeypatch):
    fake.present.add(images.ref("hello", "1.0"))
    real = fake.answer
    fake.answer = lambda a: (
        fake.cp(1, "", 'ERROR: no nodes found for cluster "kubetm"')
        if a[:1] == ["load"]
        else real(a)
    )
    monkeypatch.setattr(kind, "kind_binary", lambda **kw: "kind")
    with pytest.raises(KubetmError) as e:
        images.load(["hello"])
    assert (
        e.value.message == "kind cluster 'kubetm' does not exist"
        and e.value.hint == "kubetm cluster up"
    )
    assert fake.calls[-2][:3] == ["docker", "save", "-o"]
    assert fake.calls[-2][-1] == "localhost:5001/kubetm/hello:1.0"
    assert fake.calls[-1] == [
        "kind",
        "load",
        "image-archive",
        "--name",
        "kubetm",
        fake.calls[-2][3],
    ]


def test_run_refuses_non_servers_and_busy_ports(fake, monkeypatch):
    with pytest.raises(KubetmError, match="does not serve HTTP"):
        images.run("init")
    fake.present.add(images.ref("hello", "1.0"))
    monkeypatch.setattr(net, "port_free", lambda port, host="127.0.0.1": False)
    with pytest.raises(
        KubetmError, match=r"port 127.0.0.1:8100 is already in use by container someone-else"
    ):
        images.run("hello")
    assert not any(c[1] == "run" for c in fake.calls)


def test_run_publishes_on_loopback_and_returns_the_stop_command(fake, monkeypatch):
    fake.present.add(images.ref("hello", "1.0"))
    monkeypatch.setattr(net, "port_free", lambda port, host="127.0.0.1": True)
    monkeypatch.setattr(images, "_http_get_when_up", lambda url, c, t: "Hello Kubernetes!\n")
    out = images.run("hello", port=8100)
    run = next(c for c in fake.calls if c[1] == "run")
    assert run[run.index("--publish") + 1] == "127.0.0.1:8100:8000"
    assert out["stop"] == "docker stop kubetm-hello" and out["response"] == "Hello Kubernetes!"


def test_list_images_reports_unbuilt_ones(fake):
    out = images.list_images()
    assert [i["image"] for i in out][:2] == [
        "localhost:5001/kubetm/hello:1.0",
        "localhost:5001/kubetm/app:v1",
    ]
    assert not any(i["built"] for i in out)


def test_list_skips_images_left_untagged_by_a_rebuild(monkeypatch):
    monkeypatch.setattr(docker, "require_docker", lambda: None)

    class CP:
        stdout = "localhost:5001/kubetm/init:<none>\n"

    monkeypatch.setattr(docker, "run", lambda args, **kw: CP())
    monkeypatch.setattr(docker, "inspect_images", lambda refs: [])
    rows = images.list_images()
    assert all(not r["image"].endswith(":<none>") for r in rows) and not any(
        r["built"] for r in rows
    )


def test_text_output_is_tables_not_dicts():
    built = [
        {
            "name": "hello",
            "tag": "1.0",
            "image": "localhost:5001/kubetm/hello:1.0",
            "id": "sha256:" + "c2" * 32,
            "size": "206 MB",
            "base": "kubetm.local/nodejs:bookworm",
            "mode": "offline",
            "reason": "node:20-slim is neither present locally nor pullable",
            "seconds": 0.31,
        }
    ]
    text = images.render_build(built)
    assert text.splitlines()[0].split() == ["IMAGE", "IMAGE", "ID", "SIZE", "BUILT", "FROM", "TOOK"]
    assert "c2c2c2c2c2c2   206 MB" in text and "0.3s" in text and "{" not in text
    assert (
        text.splitlines()[-1]
        == "offline bases: node:20-slim is neither present locally nor pullable"
    )
    pushed = [{"image": "localhost:5001/kubetm/hello:1.0", "digest": "sha256:" + "ab" * 32}]
    assert images.render_push(pushed).splitlines()[1].split() == [
        pushed[0]["image"],
        pushed[0]["digest"],
    ]
    listed = [
        {
            "image": "localhost:5001/kubetm/app:v1",
            "built": False,
            "id": None,
            "size": None,
            "created": None,
            "digest": None,
        }
    ]
    assert images.render_list(listed).splitlines()[1].split()[-2:] == ["not", "built"]
