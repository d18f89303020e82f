"""Hardening (no cluster): the retry policy against a REAL local HTTP server, Secret redaction,
interruption of apply, argument-list subprocesses and safe YAML only.

The fake API server below is a real http.server on 127.0.0.1: kubetm's whole client stack
(kubernetes client, urllib3, tenacity in Kube.call) talks to it through a kubeconfig; nothing in
the client is mocked. It answers the discovery requests the dynamic client makes (/version, /api,
/api/v1, /apis) and plays a *script* for everything else: per (METHOD, path regex) a queue of
answers, each one of
    (status, body_dict_or_None, headers)      an HTTP answer
    ("sleep", seconds, answer)                 the same, after a delay
    "reset"                                    close the connection with a TCP RST, no answer
When a route's queue is down to one answer, that answer repeats. Every request is recorded in
``api.seen`` as (monotonic time, method, path?query, body) so tests count what the client sent.
"""
from __future__ import annotations

import ast
import base64
import os
import signal
import subprocess
import sys
import json
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CORE_RESOURCES = [
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "shortNames": ["po"],
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap",
     "shortNames": ["cm"], "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
     "shortNames": ["ns"], "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
]


def status_body(code: int, message: str, reason: str = "") -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _answer(self) -> None:
        srv: FakeAPI = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        srv.seen.append((time.monotonic(), self.command, self.path, body))
        if srv.hook is not None:
            srv.hook(self.command, self.path)
        answer = srv.answer_for(self.command, path)
        if isinstance(answer, tuple) and answer and answer[0] == "sleep":
            time.sleep(answer[1])
            answer = answer[2]
        if answer == "reset":
            # SO_LINGER(on, 0): close() sends a TCP RST, the client sees "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        status, payload, headers = answer
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class FakeAPI:
    def __init__(self) -> None:
        self.seen: list[tuple[float, str, str, bytes]] = []
        self.hook = None   # optional callable(method, path?query), called on every request
        self._routes: list[tuple[str, re.Pattern, list]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "FakeAPI":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def kubeconfig(self, folder: Path, namespace: str = "default") -> str:
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
               "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
               "users": [{"name": "fake", "user": {"token": "fake-token"}}],
               "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake",
                                                         "namespace": namespace}}]}
        path = Path(folder) / f"kubeconfig-fake-{self.port}"
        path.write_text(json.dumps(cfg), encoding="utf-8")
        return str(path)

    # ------------------------------------------------------------------ script
    def script(self, method: str, path_regex: str, answers: list) -> None:
        with self._lock:
            self._routes.insert(0, (method.upper(), re.compile(path_regex), list(answers)))

    def answer_for(self, method: str, path: str):
        with self._lock:
            for m, rx, answers in self._routes:
                if m == method and rx.search(path):
                    return answers.pop(0) if len(answers) > 1 else answers[0]
        return self._discovery(method, path)

    def _discovery(self, method: str, path: str):
        if method == "GET":
            if path in ("/version", "/version/"):
                return 200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0-fake", "platform": "linux/amd64"}, {}
            if path == "/api":
                return 200, {"kind": "APIVersions", "versions": ["v1"]}, {}
            if path == "/apis":
                return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}, {}
            if path == "/api/v1":
                return 200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": CORE_RESOURCES}, {}
        return 404, status_body(404, f"the server could not find the requested resource ({method} {path})",
                                "NotFound"), {}

    # ------------------------------------------------------------------ what the client sent
    def requests(self, method: str | None = None, contains: str = "") -> list[tuple[float, str, str, bytes]]:
        return [r for r in self.seen if (method is None or r[1] == method) and contains in r[2]]

    def count(self, method: str | None = None, contains: str = "") -> int:
        return len(self.requests(method, contains))


# =============================================================================== fixtures

import pytest  # noqa: E402

from kubetm import errors as errors_mod  # noqa: E402
from kubetm.k8s import client as kube_mod  # noqa: E402
from kubetm.errors import KubetmError, redact, register_secret, register_secret_object  # noqa: E402
from kubetm.k8s import Kube, cleanup_on_interrupt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "kubetm"
SECRET = "hunter2-kubetm-s3cret"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default", "resourceVersion": "7"}}


@pytest.fixture
def api(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the dynamic client's discovery cache
    with FakeAPI() as server:
        yield server


@pytest.fixture
def kube(api, tmp_path) -> Kube:
    return Kube(kubeconfig=api.kubeconfig(tmp_path), retry_seconds=10)


def _pod_gets(api, name: str = "p") -> list:
    return api.requests("GET", f"/api/v1/namespaces/default/pods/{name}")


# ========================================================= retry policy against a real server

def test_429_retry_after_is_honoured_by_the_real_client(api, kube):
    api.script("GET", r"/pods/p$", [(429, status_body(429, "too many requests"), {"Retry-After": "1"}),
                                    (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    seen = _pod_gets(api)
    assert len(seen) == 2
    assert seen[1][0] - seen[0][0] >= 0.9, "the client did not wait Retry-After: 1"


def test_503_twice_then_200(api, kube):
    api.script("GET", r"/pods/p$", [(503, status_body(503, "unavailable"), {}),
                                    (503, status_body(503, "unavailable"), {}), (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 3


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_transient_statuses_are_retried_once_then_succeed(api, kube, status):
    api.script("GET", r"/pods/p$", [(status, status_body(status, "transient"), {}), (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 2


def test_connection_reset_once_then_200(api, kube):
    api.script("GET", r"/pods/p$", ["reset", (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 2


def test_connection_reset_on_the_very_first_request_is_retried(api, kube):
    version = {"major": "1", "minor": "34", "gitVersion": "v1.34.0", "gitCommit": "x", "gitTreeState": "clean",
               "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}
    api.script("GET", r"^/version", ["reset", (200, version, {})])
    info = kube.check_connection()
    assert "v1.34.0" in (info.get("gitVersion"), info.get("git_version"))
    assert api.count("GET", "/version") == 2


@pytest.mark.parametrize("status,message,expect", [
    (403, 'pods "p" is forbidden: User "student" cannot get resource "pods"', "pod default/p: forbidden: pods"),
    (404, 'pods "p" not found', None),  # Kube.get maps 404 to None
    (422, 'Pod "p" is invalid: spec.containers: Required value', "rejected by the API server: Pod \"p\" is invalid"),
])
def test_client_errors_are_not_retried_and_are_one_clear_line(api, kube, status, message, expect):
    api.script("GET", r"/pods/p$", [(status, status_body(status, message), {})])
    if expect is None:
        assert kube.get("Pod", "p") is None
    else:
        with pytest.raises(KubetmError) as e:
            kube.get("Pod", "p")
        assert expect in e.value.message and "\n" not in str(e.value)
    assert len(_pod_gets(api)) == 1


FORBIDDEN = (403, status_body(403, 'pods "p" is forbidden: User "kubernetes-admin" cannot get resource "pods"'), {})
NOT_READY = (500, status_body(500, "[-]poststarthook/rbac/bootstrap-roles failed: not finished"), {})


def test_403_from_a_restarting_server_is_retried_until_readyz_is_ok(api, kube):
    # the control plane restarts: the connection drops, then RBAC denies until its caches load
    api.script("GET", r"/pods/p$", ["reset", FORBIDDEN, FORBIDDEN, (200, POD, {})])
    api.script("GET", r"^/readyz", [NOT_READY, NOT_READY, (200, None, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 4
    assert api.count("GET", "/readyz") == 2


def test_403_while_readyz_is_denied_is_retried_only_right_after_an_outage(api, kube):
    denied = (403, status_body(403, 'forbidden: User "x" cannot get path "/readyz"'), {})
    api.script("GET", r"^/readyz", [denied])
    api.script("GET", r"/pods/p$", [FORBIDDEN])
    with pytest.raises(KubetmError) as e:          # no outage seen: a real 403, at once
        kube.get("Pod", "p")
    assert "forbidden" in e.value.message and len(_pod_gets(api)) == 1
    api.script("GET", r"/pods/p$", ["reset", FORBIDDEN, (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"   # after an outage: retried


def test_403_from_a_ready_server_is_not_retried(api, kube):
    api.script("GET", r"^/readyz", [(200, None, {})])
    api.script("GET", r"/pods/p$", ["reset", FORBIDDEN])
    with pytest.raises(KubetmError) as e:
        kube.get("Pod", "p")
    assert "forbidden: pods" in e.value.message
    assert len(_pod_gets(api)) == 2 and api.count("GET", "/readyz") == 1


def test_a_server_that_keeps_failing_is_given_up_on_in_bounded_time(api, tmp_path):
    api.script("GET", r"/pods/p$", [(503, status_body(503, "etcd leader changed"), {})])
    k = Kube(kubeconfig=api.kubeconfig(tmp_path), retry_seconds=2)
    start = time.monotonic()
    with pytest.raises(KubetmError) as e:
        k.get("Pod", "p")
    assert time.monotonic() - start < 6
    assert "kept failing (HTTP 503: etcd leader changed)" in e.value.message
    assert 2 <= len(_pod_gets(api)) <= 12


def test_api_server_down_fails_fast_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(kube_mod, "FIRST_CONTACT_SECONDS", 1.0)
    cfg = FakeAPI.__new__(FakeAPI)  # only for its kubeconfig writer
    cfg.url, cfg.port = "http://127.0.0.1:1", 1
    k = Kube(kubeconfig=FakeAPI.kubeconfig(cfg, tmp_path), retry_seconds=30)
    start = time.monotonic()
    with pytest.raises(KubetmError) as e:
        k.check_connection()
    assert time.monotonic() - start < kube_mod.FIRST_CONTACT_SECONDS + 3
    assert e.value.message == "cannot reach the API server at http://127.0.0.1:1: is the cluster running?"


# ====================================================================== Secret redaction

def test_redact_hides_registered_values_plain_and_base64():
    register_secret("correct-horse-battery")
    text = "x correct-horse-battery y " + base64.b64encode(b"correct-horse-battery").decode()
    assert redact(text) == "x <redacted> y <redacted>"
    assert "correct-horse" not in KubetmError(f"boom {text}", hint="correct-horse-battery").__str__()
    assert "correct-horse" not in errors_mod.format_error(ValueError(text))


def test_show_secrets_turns_redaction_off_and_back_on():
    register_secret("shown-on-request-value")
    try:
        errors_mod.show_secrets(True)
        assert errors_mod.secrets_shown() and redact("x shown-on-request-value") == "x shown-on-request-value"
    finally:
        errors_mod.show_secrets(False)
    assert redact("x shown-on-request-value") == "x <redacted>"


def test_secret_objects_register_data_and_string_data():
    register_secret_object({"kind": "Secret", "data": {"a": base64.b64encode(b"from-data-value").decode()},
                            "stringData": {"b": "from-string-data"}})
    assert redact("from-data-value from-string-data") == "<redacted> <redacted>"
    assert redact(base64.b64encode(b"from-data-value").decode()) == "<redacted>"
    register_secret_object({"kind": "ConfigMap", "data": {"a": "not-a-secret"}})
    assert redact("not-a-secret") == "not-a-secret"


def test_loading_a_secret_manifest_registers_its_values(write_file):
    from kubetm import manifests

    value = "loaded-secret-value-42"
    manifests.load(write_file("s.yaml", f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n"
                                        f"stringData: {{password: {value}}}\n"))
    assert redact(f"echo {value}") == "echo <redacted>"


def test_secret_value_type_errors_do_not_print_the_value(write_file):
    from kubetm import manifests

    p = write_file("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  pin: 123456789\n")
    with pytest.raises(KubetmError) as e:
        manifests.load(p)
    assert str(e.value).startswith(f"{p}:5: Secret stringData.pin must be a string")
    assert "123456789" not in str(e.value)


def _secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "secret.yaml"
    p.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
                 f"data:\n  password: {SECRET_B64}\n", encoding="utf-8")
    return p


def _kubetm(args: list[str], tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path), "KUBETM_NO_HELP_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "kubetm", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=tmp_path)


def _no_secret(text: str) -> None:
    assert SECRET not in text and SECRET_B64 not in text, text


def test_apply_of_a_secret_never_prints_its_data(api, tmp_path):
    echoed = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "s", "namespace": "default", "resourceVersion": "9"},
              "data": {"password": SECRET_B64}}
    api.script("PATCH", r"/secrets/s$", [(200, echoed, {})])   # dry run and apply echo the object
    cfg = api.kubeconfig(tmp_path)
    for debug, output in (([], []), ([], ["-o", "json"]), (["--debug"], []), (["--debug"], ["-o", "json"])):
        cp = _kubetm(["--kubeconfig", cfg, *debug, "apply", "-f", str(_secret_file(tmp_path)), *output], tmp_path)
        assert cp.returncode == 0, cp.stderr
        _no_secret(cp.stdout + cp.stderr)
        assert "secret/default/s created" in cp.stdout or '"name": "s"' in cp.stdout
    patches = api.requests("PATCH", "/secrets/s")
    assert any(b"dryRun=All" in r[2].encode() for r in patches) and any("dryRun" not in r[2] for r in patches)


def test_api_errors_that_echo_a_secret_are_redacted(api, tmp_path):
    message = (f'Secret "s" is invalid: data[password]: Invalid value: "{SECRET}" ({SECRET_B64}): '
               f"must be a valid docker config")
    api.script("PATCH", r"/secrets/s$", [(422, status_body(422, message, "Invalid"), {})])
    cfg = api.kubeconfig(tmp_path)
    cp = _kubetm(["--kubeconfig", cfg, "apply", "-f", str(_secret_file(tmp_path))], tmp_path)
    assert cp.returncode == 1
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "rejected by the API server" in lines[0] and "<redacted>" in lines[0], cp.stderr
    _no_secret(cp.stdout + cp.stderr)
    dbg = _kubetm(["--kubeconfig", cfg, "--debug", "apply", "-f", str(_secret_file(tmp_path))], tmp_path)
    assert dbg.returncode == 1 and "Traceback" in dbg.stderr   # --debug shows the traceback ...
    _no_secret(dbg.stdout + dbg.stderr)                         # ... still without the value
    shown = _kubetm(["--kubeconfig", cfg, "--show-secrets", "apply", "-f", str(_secret_file(tmp_path))], tmp_path)
    assert shown.returncode == 1 and SECRET in shown.stderr      # ... unless asked for
    assert len([ln for ln in shown.stderr.splitlines() if ln.strip()]) == 1
    # refused on the dry run: nothing was written
    assert all("dryRun=All" in r[2] for r in api.requests("PATCH", "/secrets/s"))


# ================================================================= apply: refuse before writing

def test_unknown_kind_in_a_multi_object_apply_writes_nothing(api, kube):
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}},
            {"apiVersion": "widgets.example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]
    with pytest.raises(KubetmError) as e:
        kube.apply(objs)
    assert "unknown kind Widget (widgets.example.com/v1)" in e.value.message
    assert api.count("PATCH") == 0


def test_dry_run_rejection_of_the_second_object_writes_nothing(api, kube):
    api.script("PATCH", r"/configmaps/bad$", [(422, status_body(422, 'ConfigMap "bad" is invalid: data[a b]: '
                                                                     "Invalid value: \"a b\""), {})])
    api.script("PATCH", r"/configmaps/good$", [(200, {"kind": "ConfigMap", "metadata": {"name": "good"}}, {})])
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}, "data": {"a": "1"}}
            for n in ("good", "bad")]
    with pytest.raises(KubetmError) as e:
        kube.apply(objs, dry_run_first=True)
    assert 'configmap default/bad: rejected by the API server: ConfigMap "bad" is invalid' in e.value.message
    assert [r for r in api.requests("PATCH") if "dryRun=All" not in r[2]] == []


# ======================================================================= interruption

def _configmaps(n: int) -> list[dict]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:02d}"}, "data": {"i": str(i)}}
            for i in range(n)]


def _ctrl_c_at_write(api, n: int) -> None:
    """Ctrl-C (a real SIGINT to this process) when the server receives the n-th write: always
    while kube.apply is running, never later (it would hit pytest itself)."""
    writes = []

    def hook(method: str, path: str) -> None:
        if method == "PATCH" and "dryRun" not in path:
            writes.append(path)
            if len(writes) == n:
                os.kill(os.getpid(), signal.SIGINT)
    api.hook = hook


def test_interrupted_apply_stops_sending_and_knows_exactly_what_it_wrote(api, kube):
    api.script("PATCH", r"/configmaps/", [("sleep", 0.15, (200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {}))])
    _ctrl_c_at_write(api, 5)
    with pytest.raises(KeyboardInterrupt):
        kube.apply(_configmaps(40), workers=2)
    written = {r[2].split("?")[0].rsplit("/", 1)[1] for r in api.requests("PATCH")}
    assert 0 < len(written) < 40, "pending writes must be cancelled on Ctrl-C"
    assert {r.name for r in kube.applied} == written      # exactly what the server saw
    assert all(r.action == "created" for r in kube.applied)


def test_cleanup_on_interrupt_deletes_only_what_the_block_created(api, kube):
    api.script("PATCH", r"/configmaps/", [(200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {})])
    # cm-00 exists already (configured, must stay); cm-01 and cm-02 are new
    api.script("GET", r"/configmaps/cm-00$", [(200, {"kind": "ConfigMap", "metadata": {"name": "cm-00",
                                                                                        "resourceVersion": "1"}}, {})])
    api.script("GET", r"/configmaps$", [(200, {"kind": "ConfigMapList", "items": [],
                                               "metadata": {"resourceVersion": "5"}}, {})])
    api.script("DELETE", r"/configmaps/", [(200, status_body(200, "deleted"), {})])
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with cleanup_on_interrupt(kube, report=lines.append):
            kube.apply(_configmaps(3))
            raise KeyboardInterrupt
    deleted = sorted(r[2].split("?")[0].rsplit("/", 1)[1] for r in api.requests("DELETE"))
    assert deleted == ["cm-01", "cm-02"]
    assert lines == ["interrupted: deleted the 2 object(s) it created: configmap/default/cm-01, "
                     "configmap/default/cm-02"] or lines == [
        "interrupted: deleted the 2 object(s) it created: configmap/default/cm-02, configmap/default/cm-01"]


def test_cleanup_on_interrupt_keep_and_errors(api, kube):
    api.script("PATCH", r"/configmaps/", [(200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {})])
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with cleanup_on_interrupt(kube, keep=True, report=lines.append):
            kube.apply(_configmaps(1))
            raise KeyboardInterrupt
    assert lines == ["interrupted: kept the 1 object(s) it created (--keep): configmap/default/cm-00"]
    with pytest.raises(KubetmError):   # an error is not an interruption: nothing is deleted
        with cleanup_on_interrupt(kube, report=lines.append):
            kube.apply(_configmaps(2))
            raise KubetmError("timed out")
    assert api.count("DELETE") == 0 and len(lines) == 1


def test_cli_apply_interrupted_names_what_it_kept(api, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(30):
        (folder / f"cm-{i:02d}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02d}}}\n")
    api.script("PATCH", r"/configmaps/", [("sleep", 0.3, (200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {}))])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    p = subprocess.Popen([sys.executable, "-m", "kubetm", "--kubeconfig", api.kubeconfig(tmp_path), "apply", "-f",
                          str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [r for r in api.requests("PATCH") if "dryRun" not in r[2]]:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    written = sorted(r[2].split("?")[0].rsplit("/", 1)[1] for r in api.requests("PATCH") if "dryRun" not in r[2])
    assert 0 < len(written) < 30
    kept_line = [ln for ln in err.splitlines() if ln.startswith("interrupted: kept")]
    assert len(kept_line) == 1 and f"kept {len(written)} of 30 object(s)" in kept_line[0], err
    named = sorted(x.split("/")[-1].split()[0] for x in kept_line[0].split(": ", 2)[2].split(", "))
    assert named == written
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "terminated"


# ============================================================ subprocesses and YAML: static

def _sources() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_subprocesses_only_with_argument_lists():
    """No shell: no shell=True, no os.system/os.popen, no command given as one string."""
    spawners = {"run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput"}
    problems = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            owner = getattr(fn.value, "id", "") if isinstance(fn, ast.Attribute) else ""
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if owner == "os" and (name in ("system", "popen") or name.startswith(("exec", "spawn"))):
                problems.append(f"{where}: os.{name}")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    problems.append(f"{where}: shell=")
            if owner == "subprocess" and name in spawners:
                if name in ("getoutput", "getstatusoutput"):
                    problems.append(f"{where}: subprocess.{name} runs a shell")
                elif node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    problems.append(f"{where}: subprocess.{name} with a string command")
    assert not problems, "\n".join(problems)


def test_yaml_only_through_safe_loading():
    import re

    bad = re.compile(r"yaml\.(load|load_all|full_load|full_load_all|unsafe_load|unsafe_load_all)\s*\(|"
                     r"yaml\.(Loader|FullLoader|UnsafeLoader|UnsafeConstructor|FullConstructor|Constructor)\b|"
                     r"\b(FullLoader|UnsafeLoader)\b")
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in _sources()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if bad.search(line)]
    assert not hits, "\n".join(hits)


def test_the_static_checks_catch_what_they_look_for(tmp_path, monkeypatch):
    """The two greps above are not vacuous: planted offenders are found."""
    evil = tmp_path / "kubetm"
    evil.mkdir()
    (evil / "evil.py").write_text("import os, subprocess, yaml\nos.system('x')\nsubprocess.run('ls', shell=True)\n"
                                  "subprocess.Popen(f'ls {x}')\nyaml.load(s, Loader=yaml.FullLoader)\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", evil)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError) as e:
        test_subprocesses_only_with_argument_lists()
    assert "os.system" in str(e.value) and "shell=" in str(e.value) and "string command" in str(e.value)
    with pytest.raises(AssertionError):
        test_yaml_only_through_safe_loading()


def test_python_tags_construct_nothing(tmp_path, write_file):
    from kubetm import manifests

    marker = tmp_path / "pwned"
    for tag in ("!!python/object/apply:os.system", "!!python/object/new:os.system", "!!python/name:os.system",
                "!!python/object/apply:subprocess.check_call"):
        p = write_file("evil.yaml", f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n"
                                    f"data:\n  a: {tag} [\"touch {marker}\"]\n")
        with pytest.raises(KubetmError) as e:
            manifests.load(p)
        assert str(e.value).startswith(f"{p}:5:")
    assert not marker.exists()


def test_deploy_refuses_a_non_positive_timeout(capsys):
    from kubetm import cli

    assert cli.main(["deploy", "hello", "--timeout", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --timeout must be a positive number of seconds, got 0"


def test_registry_credentials_are_never_taken_nor_echoed():
    from kubetm.manifests import registry_from_env

    with pytest.raises(KubetmError) as e:
        registry_from_env("alice:hunter2@registry.example:5000")
    assert "hunter2" not in str(e.value) and "docker login" in str(e.value)


def test_no_docker_login_or_password_on_any_command_line():
    """Registry credentials stay in docker's config / credential helpers: kubetm never runs
    `docker login`, never passes a password or an auth header on argv."""
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.List, ast.Tuple)):
                words = [n.value for n in node.elts if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                if "login" in words or any(w in ("--password", "--password-stdin") for w in words):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {words}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    node.value.lower() in ("x-registry-auth", "registryauth", "identitytoken"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert not offenders, "\n".join(offenders)


def test_tls_eof_from_a_restarting_api_server_is_retried_but_bad_certificates_are_not():
    import ssl

    import urllib3

    from kubetm.k8s.errors import is_connection_error

    eof = urllib3.exceptions.MaxRetryError(None, "/api", urllib3.exceptions.SSLError(
        ssl.SSLEOFError(8, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol")))
    assert is_connection_error(eof)
    bad_cert = urllib3.exceptions.MaxRetryError(None, "/api", urllib3.exceptions.SSLError(
        ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")))
    assert not is_connection_error(bad_cert)


def test_status0_api_exception_from_a_dropped_tls_connection_is_retried():
    from kubernetes.client.exceptions import ApiException

    from kubetm.k8s.errors import is_connection_error, is_retryable

    eof = ApiException(status=0, reason="SSLError\n[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol")
    assert is_connection_error(eof) and is_retryable(eof)
    cert = ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert not is_retryable(cert)
