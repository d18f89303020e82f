"""kubetm.manifests: safe loading, file:line errors, substitution, ordering, Secret values kept out
of errors, registry credentials refused (no cluster)."""

from __future__ import annotations

import pytest

from kubetm import manifests
from kubetm.errors import KubetmError, redact

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p1
spec:
  initContainers:
  - name: init
    image: localhost:5001/kubetm/init:1.0
  containers:
  - name: app
    image: localhost:5001/kubetm/app:v1
  - name: side
    image: busybox:1.36
"""


def err(fn, *args, **kw) -> str:
    with pytest.raises(KubetmError) as e:
        fn(*args, **kw)
    return e.value.message


def test_load_multi_document_and_comments(write_file):
    p = write_file(
        "a.yaml",
        "# c\n---\n" + POD + "---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s1}\n",
    )
    docs = manifests.load_docs(p)
    assert [(d.kind, d.name) for d in docs] == [("Pod", "p1"), ("Service", "s1")]
    assert docs[0].source == f"{p}:3"
    assert docs[1].source.endswith(":18")


def test_folder_sorted_yaml_and_yml_only(write_file, tmp_path):
    write_file("d/b.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    write_file("d/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    write_file("d/notes.txt", "not yaml: [")
    write_file("d/sub/c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert [d.name for d in manifests.load_docs(tmp_path / "d")] == ["a", "b"]


def test_getting_started_manifests_are_valid():
    objs = manifests.load(manifests.manifest_dir("getting-started"))
    by_kind = {o["kind"]: o for o in objs}
    pod, svc = by_kind["Pod"], by_kind["Service"]
    assert pod["metadata"] == {"name": "hello-pod", "labels": {"app": "hello"}}
    assert pod["spec"]["containers"][0]["image"] == "localhost:5001/kubetm/hello:1.0"
    assert pod["spec"]["containers"][0]["ports"][0]["containerPort"] == 8000
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"][0] == {"port": 8200, "targetPort": 8000, "nodePort": 30000}
    assert svc["spec"]["selector"] == {"app": "hello"}


@pytest.mark.parametrize(
    "text,line,fragment",
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n", 5, ""),  # YAML syntax
        ("kind: Pod\nmetadata: {name: x}\n", 1, "no apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}\n", 1, "no kind"),
        ("apiVersion: v1\nkind: Pod\n", 1, "no metadata.name"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\n", 3, "needs metadata.name"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: 7\n", 4, "needs metadata.name"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n    tier: 1\n",
            6,
            "quote numbers",
        ),
        ("- a\n- b\n", 1, "is a list"),
        ("just a string\n", 1, "is a string"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\napiVersion: 1\nkind: Pod\nmetadata: {name: y}\n",
            5,
            "apiVersion must be",
        ),
    ],
)
def test_errors_say_file_and_line(write_file, text, line, fragment):
    p = write_file("bad.yaml", text)
    msg = err(manifests.load_docs, p)
    assert msg.startswith(f"{p}:{line}: "), msg
    assert fragment in msg
    assert "\n" not in msg


def test_empty_and_whitespace_files(write_file):
    assert "empty file" in err(manifests.load_docs, write_file("e.yaml", ""))
    assert "empty file" in err(manifests.load_docs, write_file("w.yaml", "  \n\n"))
    assert "only empty documents" in err(
        manifests.load_docs, write_file("c.yaml", "# nothing\n---\n---\n")
    )


def test_missing_path_and_empty_folder(tmp_path):
    assert "no such file" in err(manifests.load_docs, tmp_path / "nope.yaml")
    (tmp_path / "empty").mkdir()
    assert "no *.yaml" in err(manifests.load_docs, tmp_path / "empty")


def test_binary_and_utf16_junk(write_file):
    assert "UTF-16" in err(
        manifests.load_docs, write_file("u.yaml", "apiVersion: v1".encode("utf-16"))
    )
    assert "binary" in err(
        manifests.load_docs, write_file("b.yaml", b"\x7fELF\x02\x01\x01\x00\x00\x00")
    )
    msg = err(manifests.load_docs, write_file("l.yaml", b"apiVersion: v1\nkind: \xff\xfe Pod\n"))
    assert (
        msg.startswith(f"{write_file('l2.yaml', b'')}".replace("l2.yaml", "l.yaml:2"))
        and "UTF-8" in msg
    )
    assert "control character" in err(
        manifests.load_docs, write_file("c.yaml", "apiVersion: v1\x1b[0m\n")
    )


def test_utf8_bom_and_korean_text_are_fine(write_file):
    p = write_file(
        "k.yaml",
        "\ufeffapiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\ndata: {msg: 대세는 쿠버네티스}\n",
    )
    assert manifests.load_docs(p)[0].obj["data"]["msg"] == "대세는 쿠버네티스"


def test_alias_bomb_is_refused(write_file):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        bomb.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n"
        + "\n".join("  " + b for b in bomb)
        + "\n"
    )
    msg = err(manifests.load_docs, write_file("bomb.yaml", text))
    assert "aliases" in msg or "alias bomb" in msg


def test_few_aliases_expanding_too_much_are_refused(write_file, monkeypatch):
    monkeypatch.setattr(manifests, "MAX_NODES", 500)
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nbase: &b ["
        + ", ".join(["1"] * 100)
        + "]\n"
        "more: [*b, *b, *b, *b, *b, *b]\n"
    )
    assert "alias bomb" in err(manifests.load_docs, write_file("big.yaml", text))


def test_unsafe_tags_are_refused(write_file):
    p = write_file(
        "evil.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nx: !!python/object/apply:os.system [echo hi]\n",
    )
    msg = err(manifests.load_docs, p)
    assert msg.startswith(f"{p}:4:")


def test_duplicate_objects_are_refused(write_file):
    p = write_file(
        "dup.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
    )
    assert "defined twice" in err(manifests.load_docs, p)


def test_list_kind_is_expanded(write_file):
    p = write_file(
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n",
    )
    docs = manifests.load_docs(p)
    assert [d.name for d in docs] == ["a", "b"]
    assert docs[1].source.endswith(":7")


# ------------------------------------------------------------------------------- substitution


def _images(obj):
    spec = obj["spec"]
    return [c["image"] for c in spec.get("initContainers", []) + spec["containers"]]


def test_substitution_default_registry_is_identity(write_file, monkeypatch):
    monkeypatch.delenv("KUBETM_REGISTRY", raising=False)
    objs = manifests.load(write_file("p.yaml", POD))
    assert _images(objs[0]) == [
        "localhost:5001/kubetm/init:1.0",
        "localhost:5001/kubetm/app:v1",
        "busybox:1.36",
    ]


def test_substitution_rewrites_only_the_course_prefix(write_file, monkeypatch):
    monkeypatch.delenv("KUBETM_REGISTRY", raising=False)
    objs = manifests.load(write_file("p.yaml", POD), registry="registry.lab:5000/team/")
    assert _images(objs[0]) == [
        "registry.lab:5000/team/kubetm/init:1.0",
        "registry.lab:5000/team/kubetm/app:v1",
        "busybox:1.36",
    ]


def test_substitution_from_env_and_in_templates(monkeypatch):
    monkeypatch.setenv("KUBETM_REGISTRY", "10.0.0.5:5000")
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "a", "image": "localhost:5001/kubetm/app:v2"}]}
            }
        },
    }
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "a", "image": "localhost:5001/kubetm/init:1.0"}
                            ],
                            "initContainers": [{"name": "i", "image": "localhost:50011/other:1"}],
                        }
                    }
                }
            }
        },
    }
    out = manifests.substitute([deploy, cron])
    assert (
        out[0]["spec"]["template"]["spec"]["containers"][0]["image"]
        == "10.0.0.5:5000/kubetm/app:v2"
    )
    tmpl = out[1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert tmpl["containers"][0]["image"] == "10.0.0.5:5000/kubetm/init:1.0"
    assert tmpl["initContainers"][0]["image"] == "localhost:50011/other:1"  # not the course prefix
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "localhost:5001/"
    )  # input intact


def test_substitution_leaves_non_container_fields_alone():
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"image": "localhost:5001/kubetm/app:v1"},
    }
    assert (
        manifests.substitute([cm], registry="r:1")[0]["data"]["image"]
        == "localhost:5001/kubetm/app:v1"
    )


def test_bad_registry_is_refused():
    assert "invalid registry" in err(manifests.registry_from_env, "has space:5000")


# ----------------------------------------------------------------------------------- ordering


def test_order_namespaces_then_crds_then_rest_stable():
    def o(kind, name):
        return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}

    objs = [
        o("Service", "s"),
        o("CustomResourceDefinition", "c"),
        o("Pod", "p"),
        o("Namespace", "n"),
        o("ConfigMap", "m"),
        o("Namespace", "n2"),
    ]
    assert [x["metadata"]["name"] for x in manifests.order(objs)] == ["n", "n2", "c", "s", "p", "m"]


def test_describe():
    assert (
        manifests.describe({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}})
        == "ns/Pod/p"
    )


# ============================================ Secrets, unsafe YAML tags, registry credentials


def test_loading_a_secret_manifest_registers_its_values(write_file):
    from kubetm import manifests

    value = "loaded-secret-value-42"
    manifests.load(
        write_file(
            "s.yaml",
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n"
            f"stringData: {{password: {value}}}\n",
        )
    )
    assert redact(f"echo {value}") == "echo <redacted>"


def test_secret_value_type_errors_do_not_print_the_value(write_file):
    from kubetm import manifests

    p = write_file(
        "s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  pin: 123456789\n",
    )
    with pytest.raises(KubetmError) as e:
        manifests.load(p)
    assert str(e.value).startswith(f"{p}:5: Secret stringData.pin must be a string")
    assert "123456789" not in str(e.value)


def test_python_tags_construct_nothing(tmp_path, write_file):
    from kubetm import manifests

    marker = tmp_path / "pwned"
    for tag in (
        "!!python/object/apply:os.system",
        "!!python/object/new:os.system",
        "!!python/name:os.system",
        "!!python/object/apply:subprocess.check_call",
    ):
        p = write_file(
            "evil.yaml",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n"
            f'data:\n  a: {tag} ["touch {marker}"]\n',
        )
        with pytest.raises(KubetmError) as e:
            manifests.load(p)
        assert str(e.value).startswith(f"{p}:5:")
    assert not marker.exists()


def test_registry_credentials_are_never_taken_nor_echoed():
    from kubetm.manifests import registry_from_env

    with pytest.raises(KubetmError) as e:
        registry_from_env("alice:hunter2@registry.example:5000")
    assert "hunter2" not in str(e.value) and "docker login" in str(e.value)
