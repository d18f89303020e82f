"""The course's images, built from source: `kubetm image build | push | load | run | list`.

Images (sources in images/<name>/, one Dockerfile each with ``ARG BASE``), named as manifests
write them, ``localhost:5001/kubetm/<name>:<tag>``:

    hello:1.0        the course's hello.js (port 8000, "Hello Kubernetes!")
    app:v1 v2 v3     the practice app (port 8080): /version /hostname /healthz /ready /memory /cpu
    init:1.0         shell toolbox (sh sleep curl wget mount nc dig)
    ports:1.0        the course's p8000/p8080: answers with the port it listens on

Online the Dockerfiles build FROM public bases, offline FROM the Debian images of the offline
build (kubetm.bases decides and builds them). Docker is driven through kubetm.host.docker (the
classic builder, which never resolves a local base remotely; credentials stay in docker's store).

    >>> from kubetm import images
    >>> images.build(["hello"])                     # -> [{"image": "localhost:5001/kubetm/hello:1.0", ...}]
    >>> images.push(["all"])                        # -> [{"image": ..., "digest": "sha256:..."}]
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubetm import labels
from kubetm.bases import BASES, base_images, images_dir
from kubetm.errors import KubetmError
from kubetm.host import docker, kind, net
from kubetm.host.exec import last_error_line

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = [
    "BASES",
    "DEFAULT_REGISTRY",
    "IMAGES",
    "Spec",
    "build",
    "push",
    "load",
    "run",
    "list_images",
    "resolve",
    "ref",
    "base_images",
    "images_dir",
]

DEFAULT_REGISTRY = "localhost:5001"
NAMESPACE = "kubetm"
LABEL = labels.IMAGE


@dataclass(frozen=True)
class Spec:
    """One course image: its folder under images/, default tags, base kind and served port."""

    name: str
    tags: tuple[str, ...]
    base: str  # key of BASES
    port: int | None = None  # container port `image run` publishes (None: not a server)


IMAGES: dict[str, Spec] = {
    "hello": Spec("hello", ("1.0",), "nodejs", 8000),
    "app": Spec("app", ("v1", "v2", "v3"), "nodejs", 8080),
    "init": Spec("init", ("1.0",), "debian"),
    "ports": Spec("ports", ("1.0",), "nodejs", 8000),
}


# --------------------------------------------------------------------------- names and bases


def resolve(names: list[str] | tuple[str, ...] | None) -> list[Spec]:
    """Image names (or 'all'; empty means all) -> specs, in course order; unknown names are refused."""
    wanted = list(names or ["all"])
    if "all" in wanted:
        return list(IMAGES.values())
    unknown = [n for n in wanted if n not in IMAGES]
    if unknown:
        raise KubetmError(
            f"unknown image {unknown[0]!r}",
            hint=f"valid names: {', '.join(IMAGES)}, all",
            exit_code=2,
        )
    return [IMAGES[n] for n in dict.fromkeys(wanted)]


def ref(name: str, tag: str, registry: str = DEFAULT_REGISTRY) -> str:
    """``localhost:5001/kubetm/hello:1.0``: the name manifests use."""
    return f"{registry.rstrip('/')}/{NAMESPACE}/{name}:{tag}"


def _jobs(specs: list[Spec], tag: str | None) -> list[tuple[Spec, str]]:
    return [(s, t) for s in specs for t in ([tag] if tag else s.tags)]


# --------------------------------------------------------------------------- output parsing

STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
BUILDKIT_STEP = re.compile(r"^#\d+ \[(?:[\w.-]+ )?(\d+)/(\d+)\] (.*)$")  # "#6 [2/4] COPY ..."
BUILT = re.compile(r"^Successfully built ([0-9a-f]{12,64})\s*$")
LAYER = re.compile(
    r"^([0-9a-f]{12}): (Preparing|Waiting|Pushing|Pushed|Layer already exists|Mounted from .*|Retrying.*)"
)
DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64}) size: (\d+)")


def parse_step(line: str) -> tuple[int, int, str] | None:
    """'Step 3/7 : COPY hello.js ./' (classic builder) or '#7 [3/7] COPY hello.js ./' (BuildKit)
    -> (3, 7, 'COPY hello.js ./')."""
    m = STEP.match(line.strip()) or BUILDKIT_STEP.match(line.strip())
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
        self._p: Progress | None = None

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

            self._p = Progress(
                SpinnerColumn(),
                TextColumn("{task.fields[label]}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[status]}", style="dim"),
                console=Console(stderr=True),
            )
            self._p.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._p:
            self._p.stop()

    def add(self, label: str) -> TaskID | None:
        return self._p.add_task("", label=label, status="", total=None) if self._p else None

    def update(
        self,
        task: TaskID | None,
        *,
        completed: int | None = None,
        total: int | None = None,
        status: str | None = None,
    ) -> None:
        if self._p is None or task is None:
            return
        kw: dict[str, Any] = {
            k: v for k, v in (("completed", completed), ("total", total)) if v is not None
        }
        if status is not None:
            kw["status"] = status[:40]
        self._p.update(task, **kw)


# --------------------------------------------------------------------------- commands


def build(
    names: list[str], tag: str | None = None, offline: bool | None = None, progress: bool = True
) -> list[dict]:
    """Build course images from images/<name>/ (all default tags, or only ``tag``).

    >>> build(["app"], tag="v2")     # VERSION=v2 -> localhost:5001/kubetm/app:v2
    """
    specs = resolve(names)
    src = images_dir()
    docker.require_docker()
    bases, off, reason = base_images({s.base for s in specs}, offline)
    results = []
    with Display(progress) as show:
        for spec, t in _jobs(specs, tag):
            image = ref(spec.name, t)
            base = bases[spec.base]
            task = show.add(image)
            build_args = {"BASE": base, **({"VERSION": t} if spec.name == "app" else {})}

            def on_line(line: str, task=task) -> None:
                step = parse_step(line)
                if step:
                    show.update(task, completed=step[0] - 1, total=step[1], status=step[2])

            t0 = time.monotonic()
            try:
                docker.build(
                    str(src / spec.name),
                    image,
                    build_args=build_args,
                    labels={"org.opencontainers.image.base.name": base},
                    on_line=on_line,
                    what=f"building {image} (FROM {base})",
                )
            except KubetmError:
                show.update(task, status="failed")
                raise
            info = docker.inspect_images([image])[0]
            show.update(task, completed=1, total=1, status=f"{_mb(info['Size'])}")
            results.append(
                {
                    "name": spec.name,
                    "tag": t,
                    "image": image,
                    "id": info["Id"],
                    "size_bytes": info["Size"],
                    "size": _mb(info["Size"]),
                    "base": base,
                    "mode": "offline" if off else "online",
                    "reason": reason,
                    "seconds": round(time.monotonic() - t0, 1),
                }
            )
    return results


def push(
    names: list[str],
    registry: str = DEFAULT_REGISTRY,
    tag: str | None = None,
    progress: bool = True,
) -> list[dict]:
    """Push built images to ``registry`` (default: the local one, started if needed); returns digests.

    >>> push(["hello"])   # -> [{"image": "localhost:5001/kubetm/hello:1.0", "digest": "sha256:..."}]
    """
    specs = resolve(names)
    docker.require_docker()
    jobs = _jobs(specs, tag)
    missing = [ref(s.name, t) for s, t in jobs if not docker.image_present(ref(s.name, t))]
    if missing:
        raise KubetmError(
            f"{missing[0]} is not built"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            hint=f"kubetm image build {' '.join(dict.fromkeys(m.split('/')[-1].split(':')[0] for m in missing))}",
        )
    registry = registry.rstrip("/")
    if registry == DEFAULT_REGISTRY:
        from kubetm import registry as local_registry

        local_registry.ensure()
    results = []
    with Display(progress) as show:
        for spec, t in jobs:
            local, target = ref(spec.name, t), ref(spec.name, t, registry)
            if target != local:
                docker.tag(local, target)
            task = show.add(f"push {target}")
            tracker = PushTracker()

            def on_line(line: str, task=task, tracker=tracker) -> None:
                tracker.feed(line)
                show.update(task, completed=tracker.done, total=tracker.total or None)

            pushed = docker.push(target, on_line)
            if not pushed.ok or not tracker.digest:
                show.update(task, status="failed")
                raise _push_error(pushed.output, target, registry)
            show.update(task, status=tracker.digest[:19])
            results.append(
                {
                    "name": spec.name,
                    "tag": t,
                    "image": target,
                    "digest": tracker.digest,
                    "pinned": f"{target.rsplit(':', 1)[0]}@{tracker.digest}",
                }
            )
    return results


def images_in(objs: Any) -> list[str]:
    """Every container image named in manifests (``image:`` fields, any depth), in order."""
    found: dict[str, None] = {}
    stack = [objs]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if isinstance(cur.get("image"), str):
                found[cur["image"]] = None
            stack.extend(v for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            stack.extend(reversed(cur))
    return list(found)


def ensure_pushed(objs: Any, registry: str = DEFAULT_REGISTRY) -> list[dict]:
    """Course images the objects use that the local registry lacks (its volume was removed, it
    was never pushed) are pushed again now, when they are built here: a missing image is found
    before the apply, not as an image pull error in a pod minutes later. The registry is started
    when stopped (``push``). Another registry is left alone. Returns what was pushed.

    >>> ensure_pushed(manifests.load("manifests/pod"))   # [] when everything is there
    """
    registry = registry.rstrip("/")
    if registry != DEFAULT_REGISTRY:
        return []
    from kubetm import registry as local_registry

    prefix = f"{registry}/{NAMESPACE}/"
    missing: dict[tuple[str, str], None] = {}
    for image in images_in(objs):
        if not image.startswith(prefix) or ":" not in image[len(prefix) :]:
            continue
        name, tag = image[len(prefix) :].split(":", 1)
        if name in IMAGES and not local_registry.has_tag(f"{NAMESPACE}/{name}", tag):
            missing[(name, tag)] = None
    pushed: list[dict] = []
    for name, tag in missing:
        if not docker.image_present(ref(name, tag)):
            raise KubetmError(
                f"{ref(name, tag, registry)} is not in the registry, and not built here",
                hint=f"kubetm image build {name} && kubetm image push {name}",
            )
        pushed += push([name], registry=registry, tag=tag, progress=False)
    return pushed


def push_missing(kube: Any, objs: Any, registry: str | None) -> list[str]:
    """Before a lab or demo applies ``objs`` to a kind cluster (which pulls from the local
    registry): `ensure_pushed`; lines saying what was pushed again. A kube that is not a kind
    cluster's (or an in-memory one, in unit tests): nothing."""
    if not hasattr(kube, "configuration"):
        return []
    _ = kube.configuration  # loads the kubeconfig: kube.context is the context in use
    if not str(getattr(kube, "context", "") or "").startswith("kind-"):
        return []
    pushed = ensure_pushed(objs, registry or DEFAULT_REGISTRY)
    return [f"{p['image']} was missing from the registry: pushed again" for p in pushed]


def _push_error(output: str, target: str, registry: str) -> KubetmError:
    line = last_error_line(output)
    if re.search(r"connection refused|no such host|i/o timeout|dial tcp", line, re.IGNORECASE):
        return KubetmError(
            f"pushing {target} failed: registry {registry} is not reachable",
            hint="`kubetm cluster up` starts the local registry on localhost:5001"
            if registry == DEFAULT_REGISTRY
            else f"check that {registry} is up and reachable",
        )
    if re.search(r"unauthorized|denied|authentication required", line, re.IGNORECASE):
        return KubetmError(
            f"pushing {target} was refused by {registry}",
            hint=f"log in with `docker login {registry}` (kubetm never takes credentials)",
        )
    return docker.error(output, f"pushing {target}")


def load(names: list[str], cluster: str = "kubetm", tag: str | None = None) -> list[dict]:
    """Copy built images straight into the kind cluster's nodes (``docker save`` + ``kind load image-archive``).

    >>> load(["hello"])   # pods with imagePullPolicy IfNotPresent then start without a registry
    """
    specs = resolve(names)
    docker.require_docker()
    refs = [ref(s.name, t) for s, t in _jobs(specs, tag)]
    missing = [r for r in refs if not docker.image_present(r)]
    if missing:
        raise KubetmError(
            f"{missing[0]} is not built",
            hint=f"kubetm image build {missing[0].split('/')[-1].split(':')[0]}",
        )
    kind.load_images(cluster, refs)
    ids = {r: i["Id"] for r, i in zip(refs, docker.inspect_images(refs))}
    return [{"image": r, "id": ids[r], "cluster": cluster} for r in refs]


def run(name: str = "hello", port: int = 8100, tag: str | None = None, timeout: float = 30) -> dict:
    """The course's ``docker run -d -p 8100:8000 kubetm/hello``, published on 127.0.0.1 only.

    Starts container ``kubetm-<name>`` (replacing an earlier one of ours), checks that
    http://127.0.0.1:<port>/ answers, and returns the command that stops it.

    >>> run("hello")["stop"]     # 'docker stop kubetm-hello'
    """
    if name == "all":
        raise KubetmError(
            "image run takes one image name",
            hint="valid names: " + ", ".join(n for n, s in IMAGES.items() if s.port),
        )
    spec = resolve([name])[0]
    if spec.port is None:
        raise KubetmError(
            f"image {name!r} does not serve HTTP",
            hint="run one of: " + ", ".join(n for n, s in IMAGES.items() if s.port),
        )
    docker.require_docker()
    image = ref(name, tag or spec.tags[0])
    if not docker.image_present(image):
        raise KubetmError(f"{image} is not built", hint=f"kubetm image build {name}")
    container = f"kubetm-{name}"
    old = docker.inspect_container(container)
    if old is not None:
        if ((old.get("Config") or {}).get("Labels") or {}).get(
            labels.MANAGED_BY
        ) != labels.MANAGED_BY_VALUE:
            raise KubetmError(
                f"a container named {container} exists and is not kubetm's",
                hint=f"docker rm -f {container}",
            )
        docker.remove(container, what=f"removing the old {container}")
    if not net.port_free(port):
        raise KubetmError(
            f"port 127.0.0.1:{port} is already in use by {docker.port_user(port)}",
            hint="stop it, or pick another port with --port",
        )
    cid = docker.run_container(
        [
            "--rm",
            "--name",
            container,
            "--label",
            labels.MANAGED_SELECTOR,
            "--publish",
            f"127.0.0.1:{port}:{spec.port}",
            image,
        ],
        what=f"docker run {image}",
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        body = _http_get_when_up(url, container, timeout)
    except BaseException:
        docker.remove(container, check=False)
        raise
    if name == "hello" and body.strip() != "Hello Kubernetes!":
        docker.remove(container, check=False)
        raise KubetmError(f"{url} answered {body.strip()[:60]!r}, not 'Hello Kubernetes!'")
    return {
        "container": container,
        "id": cid[:12],
        "image": image,
        "url": url,
        "response": body.strip(),
        "stop": f"docker stop {container}",
    }


def _http_get_when_up(url: str, container: str, timeout: float) -> str:
    """GET url, retrying while the server starts; stop early if the container died."""

    def alive() -> None:
        if not docker.running(container):
            raise KubetmError(
                f"container {container} stopped before answering on {url}",
                hint=last_error_line(docker.logs_tail(container)),
            )

    return net.wait_answer(url, alive, timeout).decode("utf-8", "replace")


def list_images(registry: str = DEFAULT_REGISTRY) -> list[dict]:
    """Every course image with whether it is built locally, its id, size and pushed digest.

    >>> [i["image"] for i in list_images() if i["built"]]
    """
    docker.require_docker()
    rows = docker.image_refs(LABEL)
    prefix = f"{registry.rstrip('/')}/{NAMESPACE}/"
    built = {
        r
        for r in rows
        if r.startswith(prefix)
        and r.split("/")[-1].split(":")[0] in IMAGES
        and not r.endswith(":<none>")
    }  # an image left untagged by a rebuild is not a course image
    wanted = [ref(s.name, t, registry) for s in IMAGES.values() for t in s.tags]
    wanted += sorted(built - set(wanted))
    info = dict(zip(sorted(built), docker.inspect_images(sorted(built)))) if built else {}
    out = []
    for r in wanted:
        name, tag = r[len(prefix) :].split(":", 1)
        i = info.get(r)
        digest = next(
            (
                d.split("@", 1)[1]
                for d in (i or {}).get("RepoDigests") or []
                if d.startswith(r.rsplit(":", 1)[0] + "@")
            ),
            None,
        )
        out.append(
            {
                "name": name,
                "tag": tag,
                "image": r,
                "built": i is not None,
                "id": i["Id"][7:19] if i else None,
                "size": _mb(i["Size"]) if i else None,
                "size_bytes": i["Size"] if i else None,
                "created": i["Created"][:19] if i else None,
                "base": ((i.get("Config") or {}).get("Labels") or {}).get(
                    "org.opencontainers.image.base.name"
                )
                if i
                else None,
                "digest": digest,
            }
        )
    return out


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


# ------------------------------------------------------------------------------ text output


def render_build(rows: list[dict]) -> str:
    """`kubetm image build`: one line per image (like `docker images`), then why offline."""
    from kubetm.text import table

    text = table(
        [(r["image"], r["id"][7:19], r["size"], r["base"], f"{r['seconds']:.1f}s") for r in rows],
        ["image", "image id", "size", "built from", "took"],
    )
    reasons = {r["reason"] for r in rows if r.get("mode") == "offline" and r.get("reason")}
    return text + "".join(f"\noffline bases: {why}" for why in sorted(reasons))


def render_push(rows: list[dict]) -> str:
    from kubetm.text import table

    return table([(r["image"], r["digest"]) for r in rows], ["image", "digest"])


def render_load(rows: list[dict]) -> str:
    from kubetm.text import table

    return table(
        [(r["image"], r["id"][7:19], r["cluster"]) for r in rows], ["image", "image id", "cluster"]
    )


def render_run(info: dict) -> str:
    return (
        f"{info['image']} runs as container {info['container']} ({info['id']})\n"
        f"GET {info['url']} -> {info['response']}\nstop it with: {info['stop']}"
    )


def render_list(rows: list[dict]) -> str:
    from kubetm.text import table

    return table(
        [
            (
                r["image"],
                r["id"] or "-",
                r["size"] or "-",
                r["created"] or "-",
                (r["digest"] or "")[:19] or ("not pushed" if r["built"] else "not built"),
            )
            for r in rows
        ],
        ["image", "image id", "size", "created", "pushed digest"],
    )
