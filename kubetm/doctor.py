"""`kubetm doctor`: is this machine ready for the course's kind cluster? One check per known trap.

The checklist follows kind's "Known Issues" page, narrowed to what kubetm needs: the engine (and
whose it is: Docker Engine, Docker Desktop; podman is refused, see ``PODMAN_WHY``), the user's
docker group, the cgroup version (and, rootless, the controllers systemd delegates), inotify
limits, free disk where Docker keeps its data, the engine's memory, the host ports the cluster and
the registry publish, the image store and the builder, kind's and helm's versions against the
pinned ones.

Each check is a pure function of ``kubetm.host.facts.Facts`` (unit tests feed made-up facts) and
returns a ``Check``: ok / warn / fail, what it saw, and one line per problem with its fix. A failed
check marked ``fatal`` stops `kubetm cluster up` before it creates anything (``preflight``).

    >>> from kubetm import doctor
    >>> doctor.report(doctor.gather([("127.0.0.1", 30000)]))["ok"]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from kubetm.errors import KubetmError
from kubetm.host.facts import DENIED, FREE, IN_USE, NO_ADDRESS, Facts

OK, WARN, FAIL = "ok", "warn", "fail"
GiB = 1024**3
DISK_GIB = {"online": 6, "offline": 16}  # the same need as `kubetm cluster up`'s own disk check
MEMORY_GIB = {"fail": 2, "warn": 4}
INOTIFY = {"instances": 512, "watches": 524288}  # kind's known-issues values (3 nodes and more)
ROOTLESS_CONTROLLERS = ("cpu", "memory", "pids")
PODMAN_WHY = (
    "kubetm drives Docker: it publishes node ports on 127.0.0.x through Docker's port mapping, "
    "joins its registry to Docker's `kind` network and runs kind's docker provider; kind's "
    "podman provider is experimental and none of this was tried with it"
)


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str  # what was seen, one line
    problems: list[str] = field(default_factory=list)  # "<problem> (fix: <command>)", one each
    fatal: bool = False  # a failure stops `kubetm cluster up`

    @property
    def failed_fatally(self) -> bool:
        return self.status == FAIL and self.fatal


def _problem(what: str, fix: str) -> str:
    return f"{what} (fix: {fix})"


# ------------------------------------------------------------------------------ the checks


def is_podman(f: Facts) -> bool:
    info = f.info or {}
    return (
        "podman" in f.docker_cli_version.lower()
        or any("podman" in c.lower() for c in f.server_components)
        or "podman" in str(info.get("OperatingSystem", "")).lower()
        or "podman" in f.docker_host.lower()
    )


def is_desktop(f: Facts) -> bool:
    return "docker desktop" in str((f.info or {}).get("OperatingSystem", "")).lower()


def is_rootless(f: Facts) -> bool:
    return any("rootless" in str(o) for o in (f.info or {}).get("SecurityOptions") or [])


def _start_fix(f: Facts) -> str:
    if f.system == "darwin" or f.system.startswith("win"):
        return "start Docker Desktop"
    return "sudo systemctl start docker, or hack/docker-up.sh on Debian"


def check_engine(f: Facts) -> Check:
    if not f.docker_cli:
        fix = (
            "install Docker Desktop"
            if f.system in ("darwin", "win32")
            else "install Docker Engine (hack/docker-up.sh on Debian)"
        )
        return Check(
            "engine", FAIL, "no docker CLI", [_problem("Docker is not installed", fix)], True
        )
    if is_podman(f):
        return Check(
            "engine",
            FAIL,
            f"podman ({f.docker_cli_version or f.docker_host})",
            [
                _problem(
                    f"podman is not supported: {PODMAN_WHY}", "use Docker Engine or Docker Desktop"
                )
            ],
            True,
        )
    if f.info is None:
        if "permission denied" in f.info_error.lower():
            return Check(
                "engine",
                FAIL,
                f.info_error,
                [
                    _problem(
                        f"{f.user or 'you'} may not use the Docker socket",
                        "sudo usermod -aG docker $USER, then log out and in (or: newgrp docker)",
                    )
                ],
                True,
            )
        return Check(
            "engine",
            FAIL,
            f.info_error or "no answer",
            [_problem("Docker is not running (the engine does not answer)", _start_fix(f))],
            True,
        )
    info = f.info
    if str(info.get("OSType", "linux")) != "linux":
        return Check(
            "engine",
            FAIL,
            f"{info.get('OSType')} containers",
            [_problem("kind needs Linux containers", "Docker Desktop: Switch to Linux containers")],
            True,
        )
    who = "Docker Desktop" if is_desktop(f) else "Docker Engine"
    detail = f"{who} {info.get('ServerVersion', '?')} on {info.get('OperatingSystem', '?')}"
    if is_rootless(f):
        detail += " (rootless)"
    if f.docker_cli and "/snap/" in f.docker_cli:
        return Check(
            "engine",
            WARN,
            detail + ", installed with snap",
            [
                _problem(
                    "snap's docker cannot read $TMPDIR",
                    "export TMPDIR=$HOME/tmp (kind known issue)",
                )
            ],
        )
    return Check("engine", OK, detail)


def check_docker_group(f: Facts) -> Check:
    if not f.system.startswith("linux") or is_desktop(f):
        return Check("docker-group", OK, "not needed (Docker Desktop)")
    if f.uid in (0, None):
        return Check("docker-group", OK, "running as root")
    if is_rootless(f):
        return Check("docker-group", OK, "rootless Docker: no group needed")
    if "docker" in f.groups:
        return Check("docker-group", OK, f"{f.user} is in the docker group")
    if f.info is not None:
        return Check("docker-group", OK, f"{f.user} reaches the engine without the docker group")
    fix = "sudo usermod -aG docker $USER, then log out and in (or: newgrp docker)"
    if not f.docker_group_exists:
        fix = "sudo groupadd docker && " + fix
    return Check(
        "docker-group",
        FAIL,
        f"{f.user} is not in the docker group",
        [_problem(f"{f.user} is not in the docker group", fix)],
        True,
    )


def check_cgroup(f: Facts) -> Check:
    version = str((f.info or {}).get("CgroupVersion", "")) or (
        "2" if f.host_cgroup2 else "1" if f.host_cgroup2 is False else ""
    )
    if not version:
        return Check("cgroup", WARN, "cgroup version unknown (the engine did not say)")
    rootless = is_rootless(f)
    if version == "1":
        if rootless:
            return Check(
                "cgroup",
                FAIL,
                "cgroup v1 with rootless Docker",
                [
                    _problem(
                        "rootless kind needs cgroup v2",
                        "boot with systemd.unified_cgroup_hierarchy=1, or use rootful Docker",
                    )
                ],
                True,
            )
        return Check(
            "cgroup",
            WARN,
            "cgroup v1: a known limit here (the pinned Kubernetes 1.34 runs on it; v1 is in "
            "maintenance since 1.31 and kubelet refuses it by default from 1.35)",
            [
                _problem(
                    "cgroup v1 (known limit: fine for the pinned Kubernetes 1.34, not for 1.35+)",
                    "boot with systemd.unified_cgroup_hierarchy=1; Docker Desktop >= 4.3 is v2",
                )
            ],
        )
    if rootless:
        have = f.delegated_controllers
        missing = [c for c in ROOTLESS_CONTROLLERS if have is not None and c not in have]
        if have is None or missing:
            what = (
                f"controllers {', '.join(missing)} are not delegated to {f.user}"
                if missing
                else "cannot read which cgroup controllers are delegated to you"
            )
            return Check(
                "cgroup",
                FAIL if missing else WARN,
                f"cgroup v2, rootless: {what}",
                [
                    _problem(
                        f"rootless kind needs {', '.join(ROOTLESS_CONTROLLERS)} delegated",
                        "a systemd drop-in /etc/systemd/system/user@.service.d/delegate.conf with "
                        "[Service] Delegate=yes, then systemctl daemon-reload and log in again",
                    )
                ],
                bool(missing),
            )
        return Check("cgroup", OK, f"cgroup v2, rootless, delegated: {' '.join(have)}")
    return Check("cgroup", OK, "cgroup v2")


def check_inotify(f: Facts) -> Check:
    if not f.system.startswith("linux") or is_desktop(f):
        return Check("inotify", OK, "set inside Docker Desktop's VM (not measurable from here)")
    if f.inotify_instances is None or f.inotify_watches is None:
        return Check("inotify", WARN, "could not read /proc/sys/fs/inotify")
    problems = []
    if f.inotify_instances < INOTIFY["instances"]:
        problems.append(
            _problem(
                f"fs.inotify.max_user_instances is {f.inotify_instances} (< {INOTIFY['instances']}:"
                " pods may fail with 'too many open files')",
                f"sudo sysctl fs.inotify.max_user_instances={INOTIFY['instances']}, "
                "and the same line in /etc/sysctl.conf",
            )
        )
    if f.inotify_watches < INOTIFY["watches"]:
        problems.append(
            _problem(
                f"fs.inotify.max_user_watches is {f.inotify_watches} (< {INOTIFY['watches']})",
                f"sudo sysctl fs.inotify.max_user_watches={INOTIFY['watches']}, "
                "and the same line in /etc/sysctl.conf",
            )
        )
    detail = f"max_user_instances {f.inotify_instances}, max_user_watches {f.inotify_watches}"
    return Check("inotify", WARN if problems else OK, detail, problems)


def check_disk(f: Facts) -> Check:
    where = f.disk_path or "Docker's data root"
    if f.disk_free is None:
        fix = (
            "Docker Desktop: Settings > Resources > Disk"
            if is_desktop(f) or f.system != "linux"
            else f"df -h {where}"
        )
        return Check(
            "disk",
            WARN,
            f"free space at {where} not measurable from here",
            [_problem(f"could not measure free disk at {where}", fix)],
        )
    free = f.disk_free / GiB
    detail = f"{free:.1f} GiB free at {where} (Docker's data root)"
    if free < DISK_GIB["online"]:
        return Check(
            "disk",
            FAIL,
            detail,
            [
                _problem(
                    f"only {free:.1f} GiB free at {where}: the cluster needs about "
                    f"{DISK_GIB['online']} GiB",
                    "docker system prune (and make clean-offline)",
                )
            ],
            True,
        )
    if free < DISK_GIB["offline"]:
        return Check(
            "disk",
            WARN,
            detail,
            [
                _problem(
                    f"{free:.1f} GiB free at {where}: enough online, the offline build needs about "
                    f"{DISK_GIB['offline']} GiB",
                    "docker system prune",
                )
            ],
        )
    return Check("disk", OK, detail)


def check_memory(f: Facts) -> Check:
    total = (f.info or {}).get("MemTotal")
    if not total:
        return Check("memory", WARN, "the engine did not say how much memory it has")
    gib = int(total) / GiB
    fix = (
        "Docker Desktop: Settings > Resources > Memory"
        if is_desktop(f)
        else "close other programs or use a bigger machine"
    )
    detail = f"{gib:.1f} GiB for containers, {(f.info or {}).get('NCPU', '?')} CPUs"
    if gib < MEMORY_GIB["fail"]:
        return Check(
            "memory",
            FAIL,
            detail,
            [_problem(f"{gib:.1f} GiB: three kind nodes need about {MEMORY_GIB['warn']} GiB", fix)],
            True,
        )
    if gib < MEMORY_GIB["warn"]:
        return Check(
            "memory",
            WARN,
            detail,
            [_problem(f"{gib:.1f} GiB is tight for three nodes and the labs", fix)],
        )
    return Check("memory", OK, detail)


def check_platform(f: Facts) -> Check:
    arch = f.machine.lower()
    if arch in ("x86_64", "amd64", "aarch64", "arm64"):
        return Check("platform", OK, f"{f.system} {f.machine}")
    return Check(
        "platform",
        WARN,
        f"{f.system} {f.machine}",
        [
            _problem(
                f"kind publishes node images for amd64 and arm64 only, not {f.machine}",
                "use the offline build (--offline)",
            )
        ],
    )


def _owned(holder: str, owners: Iterable[str]) -> bool:
    return any(holder == o or holder.startswith(o + "-") for o in owners)


def check_ports(f: Facts, owners: Iterable[str] = ("kubetm", "kubetm-registry")) -> Check:
    owners = tuple(owners)
    no_address: dict[str, list[int]] = {}
    busy: list[str] = []
    denied: list[str] = []
    mine = 0
    for key, state in f.ports.items():
        addr, _, port = key.rpartition(":")
        holder = f.port_holders.get(key, "")
        if state == FREE:
            continue
        if state == IN_USE and holder and _owned(holder, owners):
            mine += 1
        elif state == NO_ADDRESS:
            no_address.setdefault(addr, []).append(int(port))
        elif state == DENIED:
            denied.append(key)
        else:
            busy.append(f"{key} ({'container ' + holder if holder else 'another program'})")
    problems = []
    for addr in sorted(no_address):
        alias = (
            f"sudo ifconfig lo0 alias {addr} up"
            if f.system == "darwin"
            else f"sudo ip addr add {addr}/8 dev lo"
        )
        fix = f"{alias}, or publish every node on 127.0.0.1: KUBETM_PORT_SCHEME=localhost"
        problems.append(
            _problem(
                f"{addr}: address not available (this loopback address does not exist here; "
                "nothing is using the port)",
                fix,
            )
        )
    if busy:
        problems.append(
            _problem(
                f"port in use: {', '.join(busy[:4])}{' ...' if len(busy) > 4 else ''}",
                "stop what listens there (ss -ltnp, or lsof -i :PORT on macOS), or publish "
                "elsewhere with KUBETM_HOST_PORT_OFFSET=1000",
            )
        )
    if denied:
        problems.append(
            _problem(
                f"binding {', '.join(denied[:4])} is not allowed",
                "check the firewall / security policy",
            )
        )
    detail = f"{len(f.ports)} ports: {len(f.ports) - len(busy) - len(denied) - sum(map(len, no_address.values())) - mine} free, {mine} held by kubetm's own containers"
    return Check("ports", FAIL if problems else OK, detail, problems, bool(problems))


def check_image_store(f: Facts) -> Check:
    info = f.info or {}
    status = {str(k): str(v) for k, v in (info.get("DriverStatus") or [])}
    snapshotter = status.get("driver-type", "").startswith("io.containerd.snapshotter")
    if not info:
        return Check("image-store", WARN, "unknown (the engine did not answer)")
    what = (
        f"containerd image store ({info.get('Driver')})"
        if snapshotter
        else f"classic image store ({info.get('Driver')})"
    )
    return Check("image-store", OK, what + ": images reach kind as an archive, either works")


def check_builder(f: Facts) -> Check:
    if f.info is None:
        return Check("builder", WARN, "unknown (the engine did not answer)")
    if f.buildx:
        return Check("builder", OK, "BuildKit (docker buildx)")
    return Check(
        "builder",
        WARN,
        "classic builder only (docker buildx is missing)",
        [
            _problem(
                "no BuildKit: kubetm uses the deprecated classic builder",
                "install the buildx plugin: docker-buildx-plugin, or docker-buildx on Debian",
            )
        ],
    )


def check_kind(f: Facts, pinned: str, install: str, go: bool) -> Check:
    if f.kind_error:
        return Check(
            "kind", FAIL, f.kind_error, [_problem(f.kind_error, f"delete it; {install}")], True
        )
    if not f.kind_path:
        if go:
            return Check(
                "kind", OK, f"not installed: `kubetm cluster up` builds kind {pinned} with Go"
            )
        return Check(
            "kind",
            FAIL,
            "not installed",
            [_problem(f"kind {pinned} is not installed", install)],
            True,
        )
    if f.kind_version != pinned:
        return Check(
            "kind",
            FAIL,
            f"{f.kind_path}: {f.kind_version or 'unknown version'}",
            [
                _problem(
                    f"kind {f.kind_version or '(unknown)'} at {f.kind_path} is not the pinned {pinned}",
                    install,
                )
            ],
            True,
        )
    return Check("kind", OK, f"{pinned} ({f.kind_path})")


def check_helm(f: Facts, pinned: str) -> Check:
    if f.helm_error:
        return Check("helm", WARN, f.helm_error, [_problem(f.helm_error, "make helm")])
    if not f.helm_path:
        return Check(
            "helm",
            WARN,
            "not installed (only the helm-* labs need it)",
            [_problem("helm is not installed", "make helm (builds the pinned one with Go)")],
        )
    if f.helm_version != pinned:
        return Check(
            "helm",
            WARN,
            f"{f.helm_version} at {f.helm_path}",
            [_problem(f"helm {f.helm_version} is not the pinned {pinned}", "make helm")],
        )
    return Check("helm", OK, f"{pinned} ({f.helm_path})")


# ------------------------------------------------------------------------------ running them


def checks(f: Facts, owners: Iterable[str] = ("kubetm", "kubetm-registry")) -> list[Check]:
    """Every check on ``f``, in the order they are shown."""
    import shutil

    from kubetm.host import kind, offline

    v = offline.versions()
    install = kind.install_command(f.system)
    runs: list[Callable[[], Check]] = [
        lambda: check_engine(f),
        lambda: check_docker_group(f),
        lambda: check_platform(f),
        lambda: check_cgroup(f),
        lambda: check_inotify(f),
        lambda: check_disk(f),
        lambda: check_memory(f),
        lambda: check_image_store(f),
        lambda: check_builder(f),
        lambda: check_kind(f, v["KIND_VERSION"], install, bool(shutil.which("go"))),
        lambda: check_helm(f, v["HELM_VERSION"]),
        lambda: check_ports(f, owners),
    ]
    return [run() for run in runs]


def gather(published: Iterable[tuple[str, int]]) -> Facts:
    """This machine's facts (kubetm.host.facts), with the kind kubetm would run."""
    import shutil

    from kubetm.host import facts, kind

    path = shutil.which("kind")
    if path is None:
        path = kind._cached()
    return facts.gather(published, kind=path)


def report(f: Facts, owners: Iterable[str] = ("kubetm", "kubetm-registry")) -> dict:
    """The doctor's report: every check, the problems (one line each), whether nothing fatal failed."""
    results = checks(f, owners)
    return {
        "ok": not any(c.failed_fatally for c in results),
        "checks": [asdict(c) for c in results],
        "problems": [p for c in results for p in c.problems],
    }


def preflight(f: Facts, owners: Iterable[str] = ("kubetm", "kubetm-registry")) -> None:
    """Raise the first fatal problem as one line (what `kubetm cluster up` runs first)."""
    for c in checks(f, owners):
        if c.failed_fatally:
            what, _, fix = (c.problems[0] if c.problems else c.detail).partition(" (fix: ")
            raise KubetmError(
                what,
                hint=(fix[:-1] + "; `kubetm doctor` lists every check")
                if fix
                else "see `kubetm doctor`",
            )


def render(rep: dict) -> str:
    """One row per check (ok/warn/fail, name, what it saw), then one line per problem."""
    from kubetm.text import table

    rows = [(c["status"], c["name"], c["detail"]) for c in rep["checks"]]
    out = [table(rows, ["", "check", "seen"])] if rows else []
    if rep["problems"]:
        out.append("")
        out += [f"- {p}" for p in rep["problems"]]
    bad = [c["name"] for c in rep["checks"] if c["status"] == FAIL and c["fatal"]]
    out.append("")
    out.append(
        f"not ready: {', '.join(bad)} must be fixed before `kubetm cluster up`"
        if bad
        else "ready for `kubetm cluster up`"
    )
    return "\n".join(out)
