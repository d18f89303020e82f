"""The course's images, built from source: `kubetm image build | push | load | run | list`.

Images (sources in images/<name>/, one Dockerfile each with ``ARG BASE``), named as manifests
write them, ``localhost:5001/kubetm/<name>:<tag>``:

    hello:1.0        the course's hello.js (port 8000, "Hello Kubernetes!")
    app:v1 v2 v3     the practice app (port 8080): /version /hostname /healthz /ready /memory /cpu
    init:1.0         shell toolbox (sh sleep curl wget mount nc dig)
    ports:1.0        the course's p8000/p8080: answers with the port it listens on

Online the Dockerfiles build FROM public bases (node:20-slim, debian:bookworm-slim). Offline
(KUBETM_OFFLINE=1, or a public base is neither present locally nor pullable) they build FROM the
Debian images hack/offline/base-images.sh makes (kubetm.local/nodejs:bookworm,
kubetm.local/debian:bookworm). The classic builder (DOCKER_BUILDKIT=0) never resolves a local
base remotely.

Why the docker CLI, not the Docker SDK: the docker CLI is what students already have, handles credential helpers, and adds no dependency.
Commands are argument lists, never shell strings; registry credentials stay in docker's own
store (docker login / credential helpers), never on argv or in output.

    >>> from kubetm import images
    >>> images.build(["hello"])                     # -> [{"image": "localhost:5001/kubetm/hello:1.0", ...}]
    >>> images.push(["all"])                        # -> [{"image": ..., "digest": "sha256:..."}]
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kubetm.errors import KubetmError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY = "localhost:5001"
NAMESPACE = "kubetm"
LABEL = "kubetm.io/image"
MANAGED = "app.kubernetes.io/managed-by=kubetm"
DOCKER_DOWN = "Docker is not running: start it (or run hack/docker-up.sh)"


@dataclass(frozen=True)
class Spec:
    """One course image: its folder under images/, default tags, base kind and served port."""
    name: str
    tags: tuple[str, ...]
    base: str                 # key of BASES
    port: int | None = None   # container port `image run` publishes (None: not a server)


IMAGES: dict[str, Spec] = {
    "hello": Spec("hello", ("1.0",), "nodejs", 8000),
    "app": Spec("app", ("v1", "v2", "v3"), "nodejs", 8080),
    "init": Spec("init", ("1.0",), "debian"),
    "ports": Spec("ports", ("1.0",), "nodejs", 8000),
}

# base kind -> (public image used online, local image hack/offline/base-images.sh builds)
BASES: dict[str, tuple[str, str]] = {
    "nodejs": ("node:20-slim", "kubetm.local/nodejs:bookworm"),
    "debian": ("debian:bookworm-slim", "kubetm.local/debian:bookworm"),
}


# --------------------------------------------------------------------------- docker plumbing

def docker(args: list[str], *, check: bool = True, timeout: float | None = None,
           env: dict | None = None, what: str = "") -> subprocess.CompletedProcess:
    """Run ``docker <args>`` (argument list, output captured); failures become one-line errors."""
    try:
        cp = subprocess.run(["docker", *args], capture_output=True, check=False, text=True, timeout=timeout,
                            env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise KubetmError("Docker is not installed", hint="install Docker, or run hack/docker-up.sh on Debian") from None
    except subprocess.TimeoutExpired:
        raise KubetmError(f"{what or 'docker ' + args[0]} did not finish within {timeout:.0f} s") from None
    if check and cp.returncode != 0:
        raise _docker_error(cp.stderr or cp.stdout, what or f"docker {' '.join(args[:2])}")
    return cp


def _docker_error(output: str, what: str) -> KubetmError:
    text = output or ""
    if "Cannot connect to the Docker daemon" in text or "Is the docker daemon running" in text:
        return KubetmError(DOCKER_DOWN)
    return KubetmError(f"{what} failed: {last_error_line(text)}")


def last_error_line(output: str) -> str:
    """The most telling line of a docker/kind output: the last one mentioning an error, else the last."""
    lines = [ln.strip() for ln in (output or "").splitlines() if ln.strip()
             and not ln.startswith("DEPRECATED") and "legacy builder is deprecated" not in ln
             and "BuildKit" not in ln and "docs.docker.com/go/buildx" not in ln]
    for ln in reversed(lines):
        if re.search(r"error|denied|refused|failed|not found|unauthorized", ln, re.IGNORECASE):
            return ln
    return lines[-1] if lines else "no output"


def require_docker() -> None:
    """Raise the one-line 'Docker is not running' error unless a Docker engine answers."""
    if not shutil.which("docker"):
        raise KubetmError("Docker is not installed", hint="install Docker, or run hack/docker-up.sh on Debian")
    cp = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                        capture_output=True, check=False, text=True, stdin=subprocess.DEVNULL)
    if cp.returncode != 0 or not cp.stdout.strip():
        raise KubetmError(DOCKER_DOWN)


def image_present(image: str) -> bool:
    return docker(["image", "inspect", "--format", "{{.Id}}", image], check=False).returncode == 0


def _classic_env() -> dict:
    # Classic builder: FROM a local image is used as is, never resolved against a registry.
    return {**os.environ, "DOCKER_BUILDKIT": "0"}


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_user(port: int) -> str:
    """Who holds a host port, for error messages: a container name when Docker publishes it."""
    cp = docker(["ps", "--filter", f"publish={port}", "--format", "{{.Names}}"], check=False)
    names = cp.stdout.split()
    return f"container {names[0]}" if names else "another program"


# --------------------------------------------------------------------------- names and bases

def images_dir() -> Path:
    """images/ of the source checkout (override: KUBETM_IMAGES_DIR)."""
    d = Path(os.environ.get("KUBETM_IMAGES_DIR") or REPO_ROOT / "images")
    if not d.is_dir():
        raise KubetmError(f"image sources not found at {d}", hint="run from a kubetm checkout or set KUBETM_IMAGES_DIR")
    return d


def resolve(names: list[str] | tuple[str, ...] | None) -> list[Spec]:
    """Image names (or 'all'; empty means all) -> specs, in course order; unknown names are refused."""
    wanted = list(names or ["all"])
    if "all" in wanted:
        return list(IMAGES.values())
    unknown = [n for n in wanted if n not in IMAGES]
    if unknown:
        raise KubetmError(f"unknown image {unknown[0]!r}", hint=f"valid names: {', '.join(IMAGES)}, all", exit_code=2)
    return [IMAGES[n] for n in dict.fromkeys(wanted)]


def ref(name: str, tag: str, registry: str = DEFAULT_REGISTRY) -> str:
    """``localhost:5001/kubetm/hello:1.0``: the name manifests use."""
    return f"{registry.rstrip('/')}/{NAMESPACE}/{name}:{tag}"


def _jobs(specs: list[Spec], tag: str | None) -> list[tuple[Spec, str]]:
    return [(s, t) for s in specs for t in ([tag] if tag else s.tags)]


def decide_offline(kinds: set[str] | None = None, offline: bool | None = None) -> tuple[bool, str]:
    """Offline when asked (argument, KUBETM_OFFLINE=1) or a public base is neither local nor pullable."""
    if offline is not None:
        return offline, "asked"
    env = os.environ.get("KUBETM_OFFLINE", "").strip().lower()
    if env in ("1", "true", "yes"):
        return True, "KUBETM_OFFLINE=1"
    if env in ("0", "false", "no"):
        return False, "KUBETM_OFFLINE=0"
    for kind in sorted(kinds or BASES):
        public = BASES[kind][0]
        if image_present(public):
            continue
        from kubetm.output import note

        note(f"{public} is not present locally: trying to pull it")
        if docker(["pull", "--quiet", public], check=False, timeout=600, what=f"docker pull {public}").returncode != 0:
            return True, f"{public} is neither present locally nor pullable"
    return False, "public base images available"


def base_images(kinds: set[str], offline: bool | None = None) -> tuple[dict[str, str], bool, str]:
    """{base kind: image to build FROM}, whether offline, and why. Offline bases are built if missing."""
    off, reason = decide_offline(kinds, offline)
    bases = {k: BASES[k][1 if off else 0] for k in kinds}
    if off:
        for kind, image in sorted(bases.items()):
            if not image_present(image):
                _build_offline_base(kind, image)
    return bases, off, reason


def _build_offline_base(kind: str, image: str) -> None:
    script = REPO_ROOT / "hack" / "offline" / "base-images.sh"
    if not script.exists() or os.geteuid() != 0:
        raise KubetmError(f"offline base image {image} is missing", hint=f"build it: sudo hack/offline/base-images.sh {kind}")
    rc = subprocess.call([str(script), kind], stdin=subprocess.DEVNULL)  # prints its own progress
    if rc != 0 or not image_present(image):
        raise KubetmError(f"building the offline base image {image} failed (exit {rc})", hint="see the output above")


# --------------------------------------------------------------------------- output parsing

STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
BUILT = re.compile(r"^Successfully built ([0-9a-f]{12,64})\s*$")
LAYER = re.compile(r"^([0-9a-f]{12}): (Preparing|Waiting|Pushing|Pushed|Layer already exists|Mounted from .*|Retrying.*)")
DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64}) size: (\d+)")


def parse_step(line: str) -> tuple[int, int, str] | None:
    """'Step 3/7 : COPY hello.js ./' -> (3, 7, 'COPY hello.js ./') from the classic builder."""
    m = STEP.match(line.strip())
    return (int(m[1]), int(m[2]), m[3]) if m else None


class PushTracker:
    """Follows `docker push` output: layers seen, layers finished, the pushed manifest's digest."""

    DONE = ("Pushed", "Layer already exists", "Mounted from")

    def __init__(self) -> None:
        self.layers: dict[str, str] = {}
        self.digest: str | None = None

    def feed(self, line: str) -> None:
        line = line.strip()
        m = LAYER.match(line)
        if m:
            self.layers[m[1]] = m[2]
        d = DIGEST.search(line)
        if d:
            self.digest = d[1]

    @property
    def total(self) -> int:
        return len(self.layers)

    @property
    def done(self) -> int:
        return sum(1 for s in self.layers.values() if s.startswith(self.DONE))


class Display:
    """One rich progress row per image on stderr (stdout stays clean for -o json); no-op when off."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._p = None

    def __enter__(self) -> Display:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._p = Progress(SpinnerColumn(), TextColumn("{task.fields[label]}"), BarColumn(bar_width=20),
                               MofNCompleteColumn(), TimeElapsedColumn(),
                               TextColumn("{task.fields[status]}", style="dim"),
                               console=Console(stderr=True))
            self._p.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._p:
            self._p.stop()

    def add(self, label: str) -> int | None:
        return self._p.add_task("", label=label, status="", total=None) if self._p else None

    def update(self, task: int | None, *, completed: int | None = None, total: int | None = None,
               status: str | None = None) -> None:
        if self._p is None or task is None:
            return
        kw = {k: v for k, v in (("completed", completed), ("total", total)) if v is not None}
        if status is not None:
            kw["status"] = status[:40]
        self._p.update(task, **kw)


def _stream(args: list[str], on_line, env: dict | None = None) -> tuple[int, str]:
    """Run ``docker <args>``, calling on_line for each output line; returns (rc, output tail)."""
    tail: list[str] = []
    try:
        proc = subprocess.Popen(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, bufsize=1, env=env)
    except FileNotFoundError:
        raise KubetmError("Docker is not installed", hint="install Docker, or run hack/docker-up.sh on Debian") from None
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            tail = (tail + [line.rstrip("\n")])[-40:]
            on_line(line)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc.wait(), "\n".join(tail)


# --------------------------------------------------------------------------- commands

def build(names: list[str], tag: str | None = None, offline: bool | None = None,
          progress: bool = True) -> list[dict]:
    """Build course images from images/<name>/ (all default tags, or only ``tag``).

    >>> build(["app"], tag="v2")     # VERSION=v2 -> localhost:5001/kubetm/app:v2
    """
    specs = resolve(names)
    src = images_dir()
    require_docker()
    bases, off, reason = base_images({s.base for s in specs}, offline)
    env = _classic_env()
    results = []
    with Display(progress) as show:
        for spec, t in _jobs(specs, tag):
            image = ref(spec.name, t)
            base = bases[spec.base]
            task = show.add(image)
            args = ["build", "--build-arg", f"BASE={base}", "--label", f"org.opencontainers.image.base.name={base}",
                    "--tag", image]
            if spec.name == "app":
                args += ["--build-arg", f"VERSION={t}"]
            args.append(str(src / spec.name))

            def on_line(line: str, task=task) -> None:
                step = parse_step(line)
                if step:
                    show.update(task, completed=step[0] - 1, total=step[1], status=step[2])

            t0 = time.monotonic()
            rc, out = _stream(args, on_line, env=env)
            if rc != 0:
                show.update(task, status="failed")
                raise _docker_error(out, f"building {image} (FROM {base})")
            info = _inspect([image])[0]
            show.update(task, completed=1, total=1, status=f"{_mb(info['Size'])}")
            results.append({"name": spec.name, "tag": t, "image": image, "id": info["Id"],
                            "size_bytes": info["Size"], "size": _mb(info["Size"]), "base": base,
                            "mode": "offline" if off else "online", "reason": reason,
                            "seconds": round(time.monotonic() - t0, 1)})
    return results


def push(names: list[str], registry: str = DEFAULT_REGISTRY, tag: str | None = None,
         progress: bool = True) -> list[dict]:
    """Push built images to ``registry`` (default: the local one, started if needed); returns digests.

    >>> push(["hello"])   # -> [{"image": "localhost:5001/kubetm/hello:1.0", "digest": "sha256:..."}]
    """
    specs = resolve(names)
    require_docker()
    jobs = _jobs(specs, tag)
    missing = [ref(s.name, t) for s, t in jobs if not image_present(ref(s.name, t))]
    if missing:
        raise KubetmError(f"{missing[0]} is not built" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                          hint=f"kubetm image build {' '.join(dict.fromkeys(m.split('/')[-1].split(':')[0] for m in missing))}")
    registry = registry.rstrip("/")
    if registry == DEFAULT_REGISTRY:
        from kubetm import registry as local_registry

        local_registry.ensure()
    results = []
    with Display(progress) as show:
        for spec, t in jobs:
            local, target = ref(spec.name, t), ref(spec.name, t, registry)
            if target != local:
                docker(["tag", local, target], what=f"docker tag {target}")
            task = show.add(f"push {target}")
            tracker = PushTracker()

            def on_line(line: str, task=task, tracker=tracker) -> None:
                tracker.feed(line)
                show.update(task, completed=tracker.done, total=tracker.total or None)

            rc, out = _stream(["push", target], on_line)
            if rc != 0 or not tracker.digest:
                show.update(task, status="failed")
                raise _push_error(out, target, registry)
            show.update(task, status=tracker.digest[:19])
            results.append({"name": spec.name, "tag": t, "image": target, "digest": tracker.digest,
                            "pinned": f"{target.rsplit(':', 1)[0]}@{tracker.digest}"})
    return results


def _push_error(output: str, target: str, registry: str) -> KubetmError:
    line = last_error_line(output)
    if re.search(r"connection refused|no such host|i/o timeout|dial tcp", line, re.IGNORECASE):
        return KubetmError(f"pushing {target} failed: registry {registry} is not reachable",
                           hint="`kubetm cluster up` starts the local registry on localhost:5001"
                           if registry == DEFAULT_REGISTRY else f"check that {registry} is up and reachable")
    if re.search(r"unauthorized|denied|authentication required", line, re.IGNORECASE):
        return KubetmError(f"pushing {target} was refused by {registry}",
                           hint=f"log in with `docker login {registry}` (kubetm never takes credentials)")
    return _docker_error(output, f"pushing {target}")


def kind_binary() -> str:
    """kind from PATH, else the one hack/offline built under ~/.cache/kubetm/offline/bin/<version>/."""
    found = shutil.which("kind")
    if found:
        return found
    cache = Path(os.environ.get("KUBETM_CACHE") or Path.home() / ".cache" / "kubetm") / "offline" / "bin"
    built = sorted(cache.glob("*/kind"), key=lambda p: p.stat().st_mtime)
    if built:
        return str(built[-1])
    raise KubetmError("kind is not installed", hint="`kubetm cluster up` builds it, or install kind")


def load(names: list[str], cluster: str = "kubetm", tag: str | None = None) -> list[dict]:
    """Copy built images straight into the kind cluster's nodes (``kind load docker-image``).

    >>> load(["hello"])   # pods with imagePullPolicy IfNotPresent then start without a registry
    """
    specs = resolve(names)
    require_docker()
    refs = [ref(s.name, t) for s, t in _jobs(specs, tag)]
    missing = [r for r in refs if not image_present(r)]
    if missing:
        raise KubetmError(f"{missing[0]} is not built", hint=f"kubetm image build {missing[0].split('/')[-1].split(':')[0]}")
    kind = kind_binary()
    try:
        cp = subprocess.run([kind, "load", "docker-image", "--name", cluster, *refs],
                            capture_output=True, check=False, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise KubetmError(f"kind not found at {kind}", hint="install kind") from None
    if cp.returncode != 0:
        out = cp.stderr + cp.stdout
        if "no nodes found" in out:
            raise KubetmError(f"kind cluster {cluster!r} does not exist", hint="kubetm cluster up")
        raise _docker_error(out, "kind load docker-image")
    ids = {r: i["Id"] for r, i in zip(refs, _inspect(refs))}
    return [{"image": r, "id": ids[r], "cluster": cluster} for r in refs]


def run(name: str = "hello", port: int = 8100, tag: str | None = None, timeout: float = 30) -> dict:
    """The course's ``docker run -d -p 8100:8000 kubetm/hello``, published on 127.0.0.1 only.

    Starts container ``kubetm-<name>`` (replacing an earlier one of ours), checks that
    http://127.0.0.1:<port>/ answers, and returns the command that stops it.

    >>> run("hello")["stop"]     # 'docker stop kubetm-hello'
    """
    if name == "all":
        raise KubetmError("image run takes one image name", hint="valid names: " + ", ".join(n for n, s in IMAGES.items() if s.port))
    spec = resolve([name])[0]
    if spec.port is None:
        raise KubetmError(f"image {name!r} does not serve HTTP",
                          hint="run one of: " + ", ".join(n for n, s in IMAGES.items() if s.port))
    require_docker()
    image = ref(name, tag or spec.tags[0])
    if not image_present(image):
        raise KubetmError(f"{image} is not built", hint=f"kubetm image build {name}")
    container = f"kubetm-{name}"
    old = docker(["container", "inspect", "--format", '{{index .Config.Labels "app.kubernetes.io/managed-by"}}',
                  container], check=False)
    if old.returncode == 0:
        if old.stdout.strip() != "kubetm":
            raise KubetmError(f"a container named {container} exists and is not kubetm's", hint=f"docker rm -f {container}")
        docker(["rm", "--force", container], what=f"removing the old {container}")
    if not port_free(port):
        raise KubetmError(f"port 127.0.0.1:{port} is already in use by {port_user(port)}",
                          hint="stop it, or pick another port with --port")
    cid = docker(["run", "--detach", "--rm", "--name", container, "--label", MANAGED,
                  "--publish", f"127.0.0.1:{port}:{spec.port}", image], what=f"docker run {image}").stdout.strip()
    url = f"http://127.0.0.1:{port}/"
    try:
        body = _http_get_when_up(url, container, timeout)
    except BaseException:
        docker(["rm", "--force", container], check=False)
        raise
    if name == "hello" and body.strip() != "Hello Kubernetes!":
        docker(["rm", "--force", container], check=False)
        raise KubetmError(f"{url} answered {body.strip()[:60]!r}, not 'Hello Kubernetes!'")
    return {"container": container, "id": cid[:12], "image": image, "url": url,
            "response": body.strip(), "stop": f"docker stop {container}"}


def _http_get_when_up(url: str, container: str, timeout: float) -> str:
    """GET url, retrying (tenacity, backoff) while the server starts; stop early if the container died."""
    import urllib.error
    import urllib.request

    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_delay,
        wait_exponential,
    )

    class NotYet(Exception):
        pass

    def attempt() -> str:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return r.read().decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            state = docker(["container", "inspect", "--format", "{{.State.Running}}", container], check=False)
            if state.stdout.strip() != "true":
                logs = docker(["logs", "--tail", "5", container], check=False)
                raise KubetmError(f"container {container} stopped before answering on {url}",
                                  hint=last_error_line(logs.stderr + logs.stdout)) from None
            raise NotYet(str(e)) from None

    try:
        for a in Retrying(retry=retry_if_exception_type(NotYet), stop=stop_after_delay(timeout),
                          wait=wait_exponential(multiplier=0.05, max=1), reraise=True):
            with a:
                return attempt()
    except NotYet as e:
        raise KubetmError(f"{url} did not answer within {timeout:.0f} s", hint=str(e)) from None
    raise AssertionError("unreachable")


def list_images(registry: str = DEFAULT_REGISTRY) -> list[dict]:
    """Every course image with whether it is built locally, its id, size and pushed digest.

    >>> [i["image"] for i in list_images() if i["built"]]
    """
    require_docker()
    rows = docker(["image", "ls", "--filter", f"label={LABEL}", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()
    prefix = f"{registry.rstrip('/')}/{NAMESPACE}/"
    built = {r for r in rows if r.startswith(prefix) and r.split("/")[-1].split(":")[0] in IMAGES
             and not r.endswith(":<none>")}  # an image left untagged by a rebuild is not a course image
    wanted = [ref(s.name, t, registry) for s in IMAGES.values() for t in s.tags]
    wanted += sorted(built - set(wanted))
    info = {r: i for r, i in zip(sorted(built), _inspect(sorted(built)))} if built else {}
    out = []
    for r in wanted:
        name, tag = r[len(prefix):].split(":", 1)
        i = info.get(r)
        digest = next((d.split("@", 1)[1] for d in (i or {}).get("RepoDigests") or []
                       if d.startswith(r.rsplit(":", 1)[0] + "@")), None)
        out.append({"name": name, "tag": tag, "image": r, "built": i is not None,
                    "id": i["Id"][7:19] if i else None, "size": _mb(i["Size"]) if i else None,
                    "size_bytes": i["Size"] if i else None, "created": i["Created"][:19] if i else None,
                    "base": ((i.get("Config") or {}).get("Labels") or {}).get("org.opencontainers.image.base.name") if i else None,
                    "digest": digest})
    return out


def _inspect(refs: list[str]) -> list[dict]:
    return json.loads(docker(["image", "inspect", *refs], what="docker image inspect").stdout)


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


# ------------------------------------------------------------------------------ text output

def render_build(rows: list[dict]) -> str:
    """`kubetm image build`: one line per image (like `docker images`), then why offline."""
    from kubetm.output import table

    text = table([(r["image"], r["id"][7:19], r["size"], r["base"], f"{r['seconds']:.1f}s") for r in rows],
                 ["image", "image id", "size", "built from", "took"])
    reasons = {r.get("reason") for r in rows if r.get("mode") == "offline" and r.get("reason")}
    return text + "".join(f"\noffline bases: {why}" for why in sorted(reasons))


def render_push(rows: list[dict]) -> str:
    from kubetm.output import table

    return table([(r["image"], r["digest"]) for r in rows], ["image", "digest"])


def render_load(rows: list[dict]) -> str:
    from kubetm.output import table

    return table([(r["image"], r["id"][7:19], r["cluster"]) for r in rows], ["image", "image id", "cluster"])


def render_run(info: dict) -> str:
    return (f"{info['image']} runs as container {info['container']} ({info['id']})\n"
            f"GET {info['url']} -> {info['response']}\nstop it with: {info['stop']}")


def render_list(rows: list[dict]) -> str:
    from kubetm.output import table

    return table([(r["image"], r["id"] or "-", r["size"] or "-", r["created"] or "-",
                   (r["digest"] or "")[:19] or ("not pushed" if r["built"] else "not built")) for r in rows],
                 ["image", "image id", "size", "created", "pushed digest"])
