"""The bad-input corpus: every way a user (or a hostile file) can hand kubetm something broken.

Each case runs the real command line (`python -m kubetm ...` in a subprocess) and asserts:
  * exit code != 0 (and the expected one where it matters: 2 for usage errors),
  * stderr is exactly ONE non-empty line, starting with "error: ", naming the problem
    (``file:line`` for YAML), with no traceback,
  * nothing was created: cases that cannot reach a cluster run with a kubeconfig pointing at
    127.0.0.1:1 (nothing listens); cases that reach the live cluster (context kind-kubetm) run
    in a fresh namespace and kubectl, an independent oracle, must find no object labelled
    app.kubernetes.io/managed-by=kubetm there,
  * nothing was executed: the YAML python-tag cases must not create their marker file.

Data files live in tests/badinput/data/; the 10 MB manifest is generated at test time.
Run: pytest tests/badinput   (cluster cases need `kind-kubetm`; without it they FAIL, not skip)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import kubetm_badinput_e2e_conftest as e2e  # tests/e2e/conftest.py (kubectl, CONTEXT), loaded by our conftest
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
GOOD = ROOT / "manifests" / "getting-started"
MARKER = "kubetm-pwned-marker"  # the python-tag files try to `touch` this in the working folder
MANAGED = "app.kubernetes.io/managed-by=kubetm"


@dataclass
class Case:
    id: str
    args: list[str]  # after `kubetm`; {data}/{tmp}/{ns}/{good} are filled in
    expect: str  # regex the one stderr line must match (after "error: ")
    exit: int | None = None  # exact exit code when it matters (else: != 0)
    cluster: bool = False  # reaches the live cluster (fresh namespace via {ns})
    setup: str | None = None  # name of a setup helper below
    env: dict = field(default_factory=dict)


def Y(name: str, line: int | None, expect: str, **kw) -> Case:
    """A manifest case: `kubetm apply -f data/<name>.yaml`, error at <file>:<line>."""
    where = re.escape(f"{DATA / (name + '.yaml')}") + (f":{line}: " if line else ": ")
    return Case(f"yaml-{name}", ["apply", "-f", f"{{data}}/{name}.yaml"], where + expect, **kw)


CASES: list[Case] = [
    # ---------------------------------------------------------------- malformed YAML
    Y("tab-indent", 4, r"found character '\\t' that cannot start any token"),
    Y(
        "unclosed-double-quote",
        7,
        r"found unexpected end of stream \(while scanning a quoted scalar started at line 4\)",
    ),
    Y(
        "unclosed-single-quote",
        7,
        r"found unexpected end of stream \(while scanning a quoted scalar started at line 6\)",
    ),
    Y("unclosed-bracket", 5, r"expected ',' or ']'.*started at line 4"),
    Y("bad-indentation", 5, r"mapping values are not allowed here"),
    Y(
        "second-document-broken-yaml",
        12,
        r"found unexpected end of stream \(while scanning a quoted scalar started at line 11\)",
    ),
    # --------------------------------------------------- YAML that is not a Kubernetes object
    Y("a-list", 1, r"document 1 is a list, expected a mapping with apiVersion, kind and metadata"),
    Y("a-string", 1, r"document 1 is a string"),
    Y("a-number", 1, r"document 1 is a number"),
    Y("missing-apiversion", 1, r"document 1 has no apiVersion"),
    Y("missing-kind", 1, r"document 1 has no kind"),
    Y("missing-metadata", 1, r"ConfigMap has no metadata\.name"),
    Y("missing-name", 3, r"ConfigMap needs metadata\.name"),
    Y("name-is-a-number", 4, r"ConfigMap needs metadata\.name \(a non-empty string\)"),
    Y("apiversion-number", 1, r"apiVersion must be a non-empty string"),
    Y("second-document-no-kind", 6, r"document 2 has no kind"),
    Y(
        "duplicate-object",
        5,
        r"ConfigMap dup is defined twice \(first at .*duplicate-object\.yaml:1\)",
    ),
    # ------------------------------------------------------------------ wrong field types
    Y("label-value-number", 6, r"metadata\.labels must map names to strings"),
    Y("namespace-is-a-list", 5, r"metadata\.namespace must be a non-empty string"),
    Y("spec-is-a-list", 6, r"Pod spec must be a mapping, not a list"),
    Y(
        "replicas-is-a-string",
        6,
        r"Deployment spec\.replicas must be a whole number >= 0, got 'three'",
    ),
    Y("replicas-negative", 6, r"Deployment spec\.replicas must be a whole number >= 0, got -3"),
    Y("containers-not-a-list", 6, r"Pod spec\.containers must be a list of containers"),
    Y(
        "configmap-value-number",
        6,
        r"ConfigMap data\.port must be a string, not a number \(quote it\)",
    ),
    # ---------------------------------------------------------------- bad image references
    Y("bad-image-reference", 8, r"Pod container c: invalid image reference 'Hello World:1\.0'"),
    Y(
        "bad-image-reference-two-tags",
        8,
        r"Pod container c: invalid image reference 'localhost:5001/kubetm/hello:1\.0:extra'",
    ),
    # ------------------------------------------------------ YAML that tries to run code / explode
    Y(
        "python-object-apply",
        6,
        r"refusing YAML tag !!python/object/apply:os\.system: kubetm never builds Python objects",
    ),
    Y("python-object-new", 6, r"refusing YAML tag !!python/object/new:subprocess\.Popen"),
    Y("python-name", 6, r"refusing YAML tag !!python/name:os\.system"),
    Y("python-tag-whole-document", 1, r"refusing YAML tag !!python/object/apply:os\.system"),
    Y("alias-bomb", 1, r"document expands to more than \d+ YAML nodes \(alias bomb\?\)"),
    # ------------------------------------------------------------- not text / empty / huge
    Y("empty", None, r"empty file, no Kubernetes objects"),
    Y("only-comments", None, r"no Kubernetes objects \(only empty documents\)"),
    Y("binary-junk", None, r"binary file, not YAML text"),
    Y("utf16", None, r"file is UTF-16 encoded \(save it as UTF-8\)"),
    Y("utf16-no-bom", None, r"file looks UTF-16 encoded \(no byte order mark\)"),
    Y("latin1", 6, r"not valid UTF-8 text \(byte 0xe1\)"),
    Y("control-characters", 6, r"control character '\\x1b' in YAML text"),
    Y("terminal-escape", 1, r"control character '\\x1b' in YAML text"),
    Case(
        "yaml-10mb-manifest",
        ["apply", "-f", "{tmp}/huge.yaml"],
        r".*/huge\.yaml: file is too large for a manifest \(\d+ bytes > \d+\)",
        setup="huge",
    ),
    Case(
        "missing-file",
        ["apply", "-f", "{tmp}/no-such.yaml"],
        r".*/no-such\.yaml: no such file or directory",
    ),
    Case(
        "empty-folder",
        ["apply", "-f", "{tmp}/empty-dir"],
        r".*/empty-dir: folder holds no \*\.yaml or \*\.yml files",
        setup="empty_dir",
    ),
    Case(
        "delete-missing-file",
        ["delete", "-f", "{tmp}/no-such.yaml"],
        r".*/no-such\.yaml: no such file or directory",
    ),
    # -------------------------------------------------- unknown lab / demo / image / app names
    Case(
        "lab-show-unknown", ["lab", "show", "nosuch"], r"unknown lab 'nosuch' \(valid labs: pod, "
    ),
    Case("lab-run-unknown", ["lab", "run", "nosuch"], r"unknown lab 'nosuch'"),
    Case("lab-apply-unknown", ["lab", "apply", "../../etc"], r"unknown lab '\.\./\.\./etc'"),
    Case(
        "demo-run-unknown",
        ["demo", "run", "nosuch"],
        r"unknown demo 'nosuch' \(valid: recreate, ",
        exit=2,
    ),
    Case("demo-unknown-subcommand", ["demo", "nosuch"], r"No such command 'nosuch'", exit=2),
    Case(
        "image-push-unknown",
        ["image", "push", "nosuch"],
        r"unknown image 'nosuch' \(valid names: hello, ",
    ),
    Case("image-run-unknown", ["image", "run", "nosuch"], r"unknown image 'nosuch'"),
    Case("deploy-unknown", ["deploy", "nosuch"], r"unknown app 'nosuch'", exit=2),
    Case("delete-unknown-bundle", ["delete", "nosuch"], r"unknown name 'nosuch'", exit=2),
    # --------------------------------------------------------------------- absurd numbers
    Case(
        "demo-replicas-100000",
        ["demo", "recreate", "--replicas", "100000"],
        r"--replicas must be an integer from 1 to \d+, got 100000",
        exit=2,
    ),
    Case(
        "demo-replicas-negative",
        ["demo", "recreate", "--replicas", "-1"],
        r"--replicas must be .*got -1",
        exit=2,
    ),
    Case(
        "demo-replicas-not-a-number",
        ["demo", "recreate", "--replicas", "lots"],
        r"Invalid value for '--replicas'",
        exit=2,
    ),
    Case(
        "demo-rate-0",
        ["demo", "rolling-update", "--rate", "0"],
        r"--rate must be > 0 .*got 0",
        exit=2,
    ),
    Case(
        "demo-rate-negative",
        ["demo", "rolling-update", "--rate", "-3"],
        r"--rate must be > 0",
        exit=2,
    ),
    Case(
        "demo-rate-nan", ["demo", "rolling-update", "--rate", "nan"], r"--rate must be > 0", exit=2
    ),
    Case(
        "demo-duration-negative",
        ["demo", "recreate", "--duration", "-1"],
        r"--duration must be from 0",
        exit=2,
    ),
    Case(
        "demo-max-surge-negative",
        ["demo", "rolling-update", "--max-surge", "-5"],
        r"--max-surge must be",
        exit=2,
    ),
    Case(
        "demo-min-ready-negative",
        ["demo", "recreate", "--min-ready-seconds", "-1"],
        r"--min-ready-seconds must be",
        exit=2,
    ),
    Case(
        "deploy-timeout-negative",
        ["deploy", "hello", "--timeout", "-5"],
        r"--timeout must be a positive",
        exit=2,
    ),
    Case(
        "image-run-port-70000",
        ["image", "run", "hello", "--port", "70000"],
        r"Invalid value for '--port'",
        exit=2,
    ),
    Case(
        "rollout-undo-revision-negative",
        ["rollout", "undo", "web", "--to-revision", "-1"],
        r"revision must be a positive integer",
        exit=2,
    ),
    # -------------------------------------------------------------- bad image references (flags)
    Case(
        "demo-bad-image-tag",
        ["demo", "recreate", "--from", "v1;rm -rf /"],
        r"--from 'v1;rm -rf /' is not a valid "
        r"image tag",
        exit=2,
    ),
    Case(
        "registry-with-credentials",
        ["--registry", "alice:hunter2@localhost:5001", "apply", "-f", "{good}"],
        r"the registry must not contain credentials \(user:password@\) \(log in with `docker login HOST`",
    ),
    Case(
        "registry-with-space",
        ["--registry", "bad registry", "apply", "-f", "{good}"],
        r"invalid registry 'bad registry'",
    ),
    # ------------------------------------------------------------------- options and flags
    Case(
        "output-yaml",
        ["apply", "-f", "{good}", "-o", "yaml"],
        r"unknown output format 'yaml'",
        exit=2,
    ),
    Case("unknown-command", ["bogus"], r"No such command 'bogus'", exit=2),
    Case("apply-without-f", ["apply"], r"Missing option '-f'", exit=2),
    # ------------------------------------------------------------------- kubeconfig / context
    Case(
        "unknown-context",
        ["--context", "no-such-context", "apply", "-f", "{good}"],
        r"context 'no-such-context' not found in kubeconfig \(valid contexts: down\)",
    ),
    Case(
        "kubeconfig-garbage",
        ["--kubeconfig", "{tmp}/kc-garbage", "apply", "-f", "{good}"],
        r"broken kubeconfig .*/kc-garbage",
        setup="kubeconfigs",
    ),
    Case(
        "kubeconfig-chmod-000",
        ["--kubeconfig", "{tmp}/kc-000", "apply", "-f", "{good}"],
        r"broken kubeconfig .*/kc-000",
        setup="kubeconfigs",
    ),  # as root it is readable: garbage
    Case(
        "kubeconfig-not-a-mapping",
        ["--kubeconfig", "{tmp}/kc-list", "apply", "-f", "{good}"],
        r"broken kubeconfig .*/kc-list: expected a mapping",
        setup="kubeconfigs",
    ),
    Case(
        "kubeconfig-no-server",
        ["--kubeconfig", "{tmp}/kc-noserver", "apply", "-f", "{good}"],
        r"broken kubeconfig for context 'x': its cluster has no server URL",
        setup="kubeconfigs",
    ),
    Case(
        "kubeconfig-is-a-folder",
        ["--kubeconfig", "{tmp}", "apply", "-f", "{good}"],
        r"no kubeconfig found at ",
    ),
    Case(
        "kubeconfig-missing",
        ["--kubeconfig", "{tmp}/nope", "apply", "-f", "{good}"],
        r"no kubeconfig found at ",
    ),
    Case(
        "api-server-down",
        ["apply", "-f", "{good}"],
        r"cannot reach the API server at https://127\.0\.0\.1:1: is the cluster running\? \(try `kubetm cluster up`\)",
    ),
    Case(
        "api-server-down-lab-verify",
        ["lab", "verify", "pod"],
        r"cannot reach the API server at https://127\.0\.0\.1:1",
    ),
    Case(
        "api-server-down-deploy",
        ["deploy", "hello"],
        r"cannot reach the API server at https://127\.0\.0\.1:1",
    ),
    # ------------------------------------------------- cases that reach the live cluster
    Case(
        "cluster-unknown-kind",
        ["-n", "{ns}", "apply", "-f", "{data}/cluster-unknown-kind.yaml"],
        r"unknown kind Widget \(widgets\.kubetm\.example/v1\) on this cluster",
        cluster=True,
    ),
    Case(
        "cluster-unknown-group",
        ["-n", "{ns}", "apply", "-f", "{data}/cluster-unknown-group.yaml"],
        r"unknown kind Deployment \(nope\.k8s\.io/v1\) on this cluster",
        cluster=True,
    ),
    Case(
        "cluster-unknown-namespace",
        ["-n", "kubetm-no-such-namespace-x1", "apply", "-f", "{data}/cluster-good-configmap.yaml"],
        r"apply configmap kubetm-no-such-namespace-x1/fine: namespace kubetm-no-such-namespace-x1 does not exist "
        r"\(create it \(kubectl create namespace kubetm-no-such-namespace-x1\) or choose another with -n\)",
        cluster=True,
    ),
    Case(
        "cluster-second-object-rejected",
        ["-n", "{ns}", "apply", "-f", "{data}/cluster-second-rejected-by-api.yaml"],
        r"apply service {ns}/svc: rejected by the API server: Service \"svc\" is invalid: .*port",
        cluster=True,
    ),
    Case(
        "cluster-invalid-name",
        ["-n", "{ns}", "apply", "-f", "{data}/cluster-invalid-name.yaml"],
        r"apply configmap {ns}/Not_A_Valid_Name: rejected by the API server: .*Invalid value",
        cluster=True,
    ),
    Case(
        "cluster-port-is-a-string",
        ["-n", "{ns}", "apply", "-f", "{data}/cluster-port-is-a-string.yaml"],
        r"apply service {ns}/svc: .*",
        cluster=True,
    ),
    Case(
        "cluster-deploy-unknown-namespace",
        ["-n", "kubetm-no-such-namespace-x2", "deploy", "hello"],
        r"apply (pod|service) kubetm-no-such-namespace-x2/hello-(pod|svc): namespace kubetm-no-such-namespace-x2 "
        r"does not exist",
        cluster=True,
    ),
    Case(
        "cluster-rollout-status-missing",
        ["-n", "{ns}", "rollout", "status", "no-such-deployment", "--timeout", "5"],
        r".*no-such-deployment.*",
        cluster=True,
    ),
    Case(
        "cluster-delete-bad-target",
        ["-n", "{ns}", "delete", "pod/"],
        r"expected KIND/NAME, got 'pod/'",
        cluster=True,
    ),
]


# ------------------------------------------------------------------------------ setups


def _setup_huge(tmp: Path) -> None:
    """A 10 MB manifest: one ConfigMap with a big data value (generated, never committed)."""
    with open(tmp / "huge.yaml", "w", encoding="utf-8") as f:
        f.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n")
        chunk = "x" * 1000
        for i in range(10_500):
            f.write(f"  k{i}: {chunk}\n")
    assert (tmp / "huge.yaml").stat().st_size > 10 * 1024 * 1024


def _setup_empty_dir(tmp: Path) -> None:
    (tmp / "empty-dir").mkdir()
    (tmp / "empty-dir" / "notes.txt").write_text("no manifests here\n")


def _setup_kubeconfigs(tmp: Path) -> None:
    (tmp / "kc-garbage").write_bytes(b"\x00\x01\x02 garbage {{{ \xff")
    (tmp / "kc-000").write_bytes(b"clusters: [\x00garbage")
    os.chmod(tmp / "kc-000", 0)
    (tmp / "kc-list").write_text("- a\n- b\n")
    (tmp / "kc-noserver").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "x",
                "clusters": [{"name": "x", "cluster": {}}],
                "users": [{"name": "x", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
            }
        )
    )


SETUPS = {"huge": _setup_huge, "empty_dir": _setup_empty_dir, "kubeconfigs": _setup_kubeconfigs}


def _down_kubeconfig(tmp: Path) -> Path:
    """A kubeconfig whose only context points at 127.0.0.1:1, where nothing listens."""
    path = tmp / "kc-down"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "down",
                "clusters": [
                    {
                        "name": "down",
                        "cluster": {
                            "server": "https://127.0.0.1:1",
                            "insecure-skip-tls-verify": True,
                        },
                    }
                ],
                "users": [{"name": "down", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": "down", "context": {"cluster": "down", "user": "down"}}],
            }
        )
    )
    return path


# ------------------------------------------------------------------------------ oracle

_NAMESPACED: list[str] = []


def _managed_objects(ns: str) -> list[str]:
    if not _NAMESPACED:
        out = e2e.kubectl("api-resources", "--verbs=list,create", "--namespaced", "-o", "name")
        _NAMESPACED.extend(r for r in out.split() if r not in ("events", "events.events.k8s.io"))
    out = e2e.kubectl(
        "-n", ns, "get", ",".join(_NAMESPACED), "-l", MANAGED, "-o", "name", "--ignore-not-found"
    )
    return [ln for ln in out.splitlines() if ln.strip()]


# ------------------------------------------------------------------------------- the test


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_one_clear_line(case: Case, tmp_path: Path, request):
    ns = ""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KUBETM_NO_HELP_CACHE": "1",
        "COLUMNS": "200",
        "TMPDIR": str(tmp_path),
        **case.env,
    }
    env.pop("KUBETM_REGISTRY", None)
    if case.cluster:
        request.getfixturevalue("cluster")  # FAILS (never skips) without kind-kubetm
        ns = request.getfixturevalue("namespace")  # fresh, deleted afterwards
        env["KUBECONFIG"] = os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config"))
        args = ["--context", e2e.CONTEXT]
    else:
        env["KUBECONFIG"] = str(_down_kubeconfig(tmp_path))  # nothing can be created anywhere
        args = []
    if case.setup:
        SETUPS[case.setup](tmp_path)
    fill = {"data": str(DATA), "tmp": str(tmp_path), "ns": ns, "good": str(GOOD)}
    args += [a.format(**fill) for a in case.args]
    cp = subprocess.run(
        [sys.executable, "-m", "kubetm", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert cp.returncode != 0, f"exit 0 for bad input; stdout={cp.stdout[-300:]!r}"
    if case.exit is not None:
        assert cp.returncode == case.exit, cp.stderr
    assert "Traceback" not in cp.stderr and "Traceback" not in cp.stdout
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{cp.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    expect = case.expect.replace("{ns}", re.escape(ns))
    assert re.match(expect, lines[0][len("error: ") :]), f"{lines[0]!r} does not match {expect!r}"
    assert len(lines[0]) <= 420  # capped, never a wall of text
    assert not (tmp_path / MARKER).exists(), "a YAML tag executed code"
    if case.cluster and ns:
        assert _managed_objects(ns) == [], "a refused input created objects"
        for missing in re.findall(r"kubetm-no-such-namespace-\w+", " ".join(args)):
            assert (
                e2e.kubectl("get", "namespace", missing, "--ignore-not-found", "-o", "name").strip()
                == ""
            )
