"""e2e fixtures: the real kind cluster (context kind-kubetm) and kubectl as an independent oracle.

There are no skips here: `make test` creates the cluster before pytest runs, so a missing cluster
or engine is a failure with a one-line reason, locally and under CI=true alike.

What e2e tests share (issue 13), so `make test` runs them side by side (pytest-xdist) safely:
- a test declares what it uses that another test could too with ``@pytest.mark.shares(...)``, in
  the labs' vocabulary (kubetm/labs/base.py: ``nodeport:N``, ``hostport:N``, ``nodes``,
  ``setting:name``, ``cluster``) plus ``lab:<name>`` (a lab's namespaces) and ``demo:<strategy>``
  (a demo's fixed namespace); ``lab_shares(lab)`` / ``demo_shares(strategy)`` spell those out, from
  the lab catalogue and the demo strategies, so a lab's declaration is written once;
- ``cluster`` (stops a node, recreates the cluster, restarts the control plane) makes the test
  ``serial``: `make test` runs those after the parallel phase, one at a time, then the leftover check;
- every other test gets ``xdist_group(<first resource>)`` (``--dist loadgroup`` keeps a chain of
  tests on one worker) and, around the test, an exclusive file lock per resource (taken in sorted
  order), so two tests whose declarations intersect never overlap even across groups (the demo
  compare test needs both the recreate and the rolling-update namespaces).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

CONTEXT = os.environ.get("KUBETM_E2E_CONTEXT", "kind-kubetm")
REGISTRY = os.environ.get("KUBETM_REGISTRY", "localhost:5001")


def kubectl(*args: str, input: str | None = None, check: bool = True, timeout: float = 120) -> str:
    cp = subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and cp.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {cp.stderr.strip()}")
    return cp.stdout


def kubectl_json(*args: str) -> dict:
    return json.loads(kubectl(*args, "-o", "json"))


def http_get(url: str, timeout: float = 3.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def http_get_eventually(url: str, expect: str, within: float = 60.0) -> str:
    """Poll a URL from the host until it answers with `expect` in the body (test-side only)."""
    deadline, last = time.monotonic() + within, ""
    while time.monotonic() < deadline:
        try:
            status, body = http_get(url)
            if status == 200 and expect in body:
                return body
            last = f"HTTP {status}: {body[:80]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered {expect!r} within {within:.0f} s (last: {last})")


def node_endpoints(port: int) -> dict[str, str]:
    """{node: host:port} where the host reaches every node's NodePort/hostPort ``port``: through
    kubetm.nodes (the one place that knows the port scheme), over kubectl's node list."""
    from kubetm import nodes

    listed = kubectl_json("get", "nodes")["items"]
    return {
        n["metadata"]["name"]: nodes.host_endpoint_from(listed, n["metadata"]["name"], port)
        for n in listed
    }


@pytest.fixture(scope="session")
def cluster() -> str:
    cp = subprocess.run(
        ["kubectl", "--context", CONTEXT, "get", "--raw", "/readyz"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if cp.returncode != 0:
        pytest.fail(
            f"no cluster at context {CONTEXT}: run `make cluster` first ({cp.stderr.strip()[:200]})",
            pytrace=False,
        )
    return CONTEXT


@pytest.fixture
def namespace(cluster):
    """A fresh namespace per test, deleted afterwards (without waiting)."""
    name = f"kubetm-e2e-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "app.kubernetes.io/managed-by=kubetm-e2e")
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def image(name: str) -> str:
    return f"{REGISTRY}/kubetm/{name}"


def apply(ns: str, manifest: str) -> None:
    kubectl("-n", ns, "apply", "-f", "-", input=manifest)


def wait_pods_ready(ns: str, selector: str, timeout: int = 120) -> None:
    kubectl(
        "-n",
        ns,
        "wait",
        "--for=condition=Ready",
        "pod",
        "-l",
        selector,
        f"--timeout={timeout}s",
        timeout=timeout + 10,
    )


def pod_exec(ns: str, pod: str, *cmd: str) -> str:
    return kubectl("-n", ns, "exec", pod, "--", *cmd)


# ------------------------------------------------------------------- what tests share (issue 13)

CLUSTER = "cluster"
LOCK_DIR = Path(tempfile.gettempdir()) / "kubetm-e2e-locks" / CONTEXT


def lab_shares(lab: str) -> tuple[str, ...]:
    """A lab's namespaces and what it declares (``Lab.shares``)."""
    from kubetm.labs import catalog

    return (f"lab:{lab}", *catalog.get(lab).shares)


def demo_shares(strategy: str) -> tuple[str, ...]:
    """A demo's fixed namespace (kubetm-demo-<strategy>) and its NodePort."""
    from kubetm.demos.strategies import strategy_of

    return (f"demo:{strategy}", f"nodeport:{strategy_of(strategy).node_port}")


HELLO = ("nodeport:30000",)  # `kubetm deploy hello`: the course's hello-svc on NodePort 30000


def shares_of(item: pytest.Item) -> tuple[str, ...]:
    found: set[str] = set()
    for mark in item.iter_markers("shares"):
        found.update(mark.args)
    return tuple(sorted(found))


# Seconds each e2e test took in the last full run (JUnit of `make test`): only the ORDER the work
# is handed out in depends on it (longest chain first); a missing entry counts DEFAULT_SECONDS.
DURATIONS = Path(__file__).with_name("durations.json")
DEFAULT_SECONDS = 5.0


def _group(item: pytest.Item) -> str:
    names = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
    return "_".join(names) or item.nodeid


@pytest.hookimpl(tryfirst=True)  # before -m deselects and before xdist reads xdist_group
def pytest_collection_modifyitems(config, items):
    """serial for ``cluster`` tests, xdist_group for the others, demo for the tests of a demo's
    namespace (`make test` runs them in a phase of their own); then the order work is handed
    out in: groups by their summed durations, longest first (so the longest chain of tests that
    share a resource starts at once), unit tests after the e2e ones, the serial tests after
    those (node stop, cluster recreate, fault), the leftover check last."""
    for item in items:
        shares = shares_of(item)
        if any(x.startswith("demo:") for x in shares):
            item.add_marker(pytest.mark.demo)
        if CLUSTER in shares:
            item.add_marker(pytest.mark.serial)
        elif shares:
            item.add_marker(pytest.mark.xdist_group(shares[0]))
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    weight: dict[str, float] = {}
    for item in items:
        e2e = item.nodeid.startswith("tests/e2e/")
        seconds = known.get(item.nodeid, DEFAULT_SECONDS) if e2e else 0.0
        weight[_group(item)] = weight.get(_group(item), 0.0) + seconds
    position = {id(item): i for i, item in enumerate(items)}

    def order(item: pytest.Item):
        tail = (
            2
            if item.get_closest_marker("leftover_check")
            else 1
            if item.get_closest_marker("serial")
            else 0
        )
        if tail == 1 and item.get_closest_marker("fault"):
            tail = 1.5  # the control-plane restarts after the node stop and the recreate
        return (tail, -weight[_group(item)], _group(item), position[id(item)])

    items.sort(key=order)
    if getattr(config.option, "loadgroup", False):  # set in xdist workers of --dist loadgroup
        for item in items:
            _group_in_nodeid(item)


def _group_in_nodeid(item: pytest.Item) -> None:
    """What xdist's loadgroup does (`<nodeid>@<group>`, read by its scheduler), for pytest >= 9.2:
    it keeps the node id in ``_id`` and ignores xdist's ``_nodeid`` (without this every test is its
    own work unit and only the locks keep shared resources apart)."""
    names = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
    if not names or not hasattr(item, "_id") or "@" in item.nodeid.rsplit("]", 1)[-1]:
        return
    from _pytest.nodeid import coerce_node_id

    item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


@contextmanager
def holding(*resources: str, wait: bool = True):
    """Exclusive file locks on ``resources`` (sorted: no deadlock), across pytest-xdist workers and
    other test runs on this machine. ``wait=False``: raises BlockingIOError if one is taken."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for res in sorted(set(resources)):
            f = stack.enter_context(open(LOCK_DIR / res.replace("/", "_"), "a+"))
            fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


# ------------------------------------------------------- hand-offs between side-by-side phases

# `make test` runs `lab run all`, the online rehearsal (a second cluster) and the serial rows that
# tolerate a busy host as two pytest processes at once; they hand the main cluster and the host
# over through files in this directory (unset: nothing waits). Names: ``lab-run-all-alone`` (the
# labs that declare the whole cluster began: every other lab ended), ``lab-run-all-ended``,
# ``online-demo-done`` (the online rehearsal's timing lesson is over; its cluster stays a while).
HANDOFFS = os.environ.get("KUBETM_E2E_HANDOFFS", "")


def hand_off(name: str, why: str) -> None:
    """Create hand-off ``name`` (once; the first reason stays)."""
    if HANDOFFS:
        path = Path(HANDOFFS) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(why + "\n")


def wait_for_handoffs(*names: str, within: float = 2400) -> list[str]:
    """Wait until every hand-off in ``names`` exists (test-side polling of files other tests
    write; each writer also creates its files when it fails); their reasons. Unset: no wait."""
    if not HANDOFFS:
        return []
    deadline = time.monotonic() + within
    paths = [Path(HANDOFFS) / n for n in names]
    while not all(p.exists() for p in paths):
        missing = [p.name for p in paths if not p.exists()]
        assert time.monotonic() < deadline, f"hand-offs {missing} not made within {within:.0f} s"
        time.sleep(1)
    return [p.read_text().strip() for p in paths]


def pytest_sessionstart(session):
    """``KUBETM_E2E_AFTER`` (hand-off names, space-separated): wait for them before any test, so
    the wait counts against no test's timeout. `make test` sets it for its pytest run of the
    serial tests marked ``beside_online`` (only the main cluster, no tight bound), which runs
    beside `lab run all` and the online rehearsal: those start once `lab run all` has ended and
    the online rehearsal's demo is over (``lab-run-all-ended online-demo-done``)."""
    after = os.environ.get("KUBETM_E2E_AFTER", "").split()
    if not after:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    t = time.monotonic()
    reasons = wait_for_handoffs(*after)
    if reporter is not None:
        reporter.write_line(f"waited {time.monotonic() - t:.0f} s for {after}: {reasons}")


@pytest.fixture(autouse=True)
def _declared_resources(request):
    """Hold the test's declared resources for its whole run (set-up and tear-down included)."""
    shares = [r for r in shares_of(request.node) if r != CLUSTER]
    if not shares:
        yield
        return
    with holding(*shares):
        yield
