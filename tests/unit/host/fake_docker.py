"""A stand-in for the docker CLI at the one place kubetm starts it (kubetm.host.exec's
subprocess.run and subprocess.Popen): answers by subcommand, records every argv and env.

    @pytest.fixture
    def fake(monkeypatch):
        return install(monkeypatch)
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess

from kubetm.host import exec as hexec


class FakeDocker:
    """``docker ...`` answered in memory. ``streams[subcommand] = (rc, output)`` scripts the
    streamed commands (build, push); everything else is answered by ``answer``."""

    def __init__(
        self, present=(), running=True, pull_ok=False, networks=("bridge",), containers=None
    ):
        self.present = set(present)
        self.running = running
        self.pull_ok = pull_ok
        self.networks = set(networks)
        self.containers = containers or {}
        self.streams: dict[str, tuple[int, str]] = {}
        self.buildx_driver: str | None = None  # None: no buildx plugin
        self.calls: list[list[str]] = []
        self.envs: list[dict | None] = []
        self.inputs: list[str | None] = []

    def __call__(self, argv, **kw):  # subprocess.run
        assert isinstance(argv, list), "commands are argument lists, never shell strings"
        self.calls.append(argv)
        self.envs.append(kw.get("env"))
        self.inputs.append(kw.get("input"))
        return self.answer(argv[1:])

    def popen(self, argv, **kw):  # subprocess.Popen
        assert isinstance(argv, list), "commands are argument lists, never shell strings"
        self.calls.append(argv)
        self.envs.append(kw.get("env"))
        if argv[1] == "pull" and "pull" not in self.streams:
            cp = self.answer(argv[1:])
            return _Proc(cp.returncode, (cp.stdout or "") + (cp.stderr or ""))
        rc, out = self.streams.get(argv[1], (0, ""))
        return _Proc(rc, out)

    @staticmethod
    def cp(rc=0, out="", err=""):
        return subprocess.CompletedProcess([], rc, out, err)

    def answer(self, a):
        if a[0] == "version":
            return (
                self.cp(0, "20.10.24\n")
                if self.running
                else self.cp(
                    1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"
                )
            )
        if a[:2] == ["buildx", "inspect"]:
            if self.buildx_driver is None:
                return self.cp(1, "", "docker: unknown command: docker buildx")
            return self.cp(0, f"Name:   default\nDriver: {self.buildx_driver}\n")
        if a[:2] == ["image", "inspect"]:
            refs = [x for x in a[2:] if not x.startswith("--") and not x.startswith("{{")]
            if not all(r in self.present for r in refs):
                return self.cp(1, "", "Error: No such image")
            return self.cp(
                0,
                json.dumps(
                    [
                        {
                            "Id": "sha256:" + "1" * 64,
                            "Size": 57_000_000,
                            "Created": "2026-01-01T00:00:00.000Z",
                            "RepoDigests": [],
                            "Config": {"Labels": {}},
                        }
                        for _ in refs
                    ]
                ),
            )
        if a[0] == "pull":
            if self.pull_ok:
                self.present.add(a[-1])
                return self.cp(0)
            return self.cp(
                1,
                "",
                "Error response from daemon: dial tcp: lookup registry-1.docker.io: no such host",
            )
        if a[:2] == ["container", "inspect"]:
            c = self.containers.get(a[-1])
            return self.cp(0, json.dumps([c])) if c else self.cp(1, "", "Error: No such container")
        if a[:2] == ["network", "inspect"]:
            return self.cp(0 if a[2] in self.networks else 1)
        if a[0] == "ps":
            return self.cp(0, "someone-else\n")
        return self.cp(0)


class _Proc:
    def __init__(self, rc: int, out: str):
        self.stdout = io.StringIO(out)
        self._rc = rc

    def wait(self):
        return self._rc

    def kill(self):
        pass


def install(monkeypatch) -> FakeDocker:
    """Put a FakeDocker in place of the docker CLI for one test; KUBETM_OFFLINE is unset."""
    from kubetm.host import docker

    f = FakeDocker()
    docker._builder.clear()  # asked again of this fake
    monkeypatch.setattr(hexec.subprocess, "run", f)
    monkeypatch.setattr(hexec.subprocess, "Popen", f.popen)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.delenv("KUBETM_OFFLINE", raising=False)
    return f
