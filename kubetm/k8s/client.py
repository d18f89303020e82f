"""The Kube object: one cluster (kubeconfig + context + default namespace), its API clients, the
ONE door to the API server (``call``: retries, /readyz probing, typed errors), discovery and
get/list. Apply/delete, watches and pod operations live in their own modules; ``Kube`` exposes
them as methods so callers write ``kube.apply(...)``, ``kube.watch_until(...)``.

Constructing a ``Kube`` costs nothing and contacts nothing; ``kubernetes`` is imported lazily.

Example:
    kube = Kube(context="kind-kubetm", namespace="default")
    kube.apply(manifests.load("manifests/getting-started"))
    kube.watch_until("Pod", "hello-pod", conditions.pod_ready, timeout=120)
"""

from __future__ import annotations

import builtins
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kubetm.errors import KubetmError, NotFound
from kubetm.k8s import apply as _apply
from kubetm.k8s import pods as _pods
from kubetm.k8s import watch as _watch
from kubetm.k8s.config import contexts, load_configuration
from kubetm.k8s.errors import (
    is_api_exception,
    is_connection_error,
    is_retryable,
    is_tls_error,
    map_api_error,
    retry_after_seconds,
    status_of,
)
from kubetm.k8s.objects import KINDS, REQUEST_TIMEOUT, Result, describe, plain, selector_text

if TYPE_CHECKING:  # the client ships no types (Any), named here for the reader
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.dynamic import DynamicClient

__all__ = ["Kube", "Progress", "DEFAULT_RETRY_SECONDS", "FIRST_CONTACT_SECONDS", "REQUEST_TIMEOUT"]

Progress = Callable[[str], None]  # receives short status lines ("waiting for pod p to be Ready")

DEFAULT_RETRY_SECONDS = float(os.environ.get("KUBETM_RETRY_SECONDS", "30"))
FIRST_CONTACT_SECONDS = 5.0  # budget for connection errors before the API server ever answered
# After an outage this process saw, 401/403 are retried while /readyz is not OK: a restarting
# kube-apiserver denies requests until its authenticators and RBAC caches are loaded.
RECOVERY_WINDOW = 120.0


class Kube:
    """Lazy handle on one cluster (kubeconfig + context + default namespace).

    ``dry_run_first``: every ``apply`` first sends each object as a server-side dry run, so an
    object the server refuses is refused before any object is written (`kubetm apply -f`).
    """

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        namespace: str | None = None,
        retry_seconds: float | None = None,
        dry_run_first: bool = False,
    ):
        self.kubeconfig = kubeconfig
        self.context = context
        self._namespace = namespace
        self.retry_seconds = (
            DEFAULT_RETRY_SECONDS if retry_seconds is None else float(retry_seconds)
        )
        self.dry_run_first = bool(dry_run_first)
        self._lock = threading.RLock()
        # The dynamic client's discovery cache is not thread-safe: labs and apply resolve kinds
        # from worker threads, so every lookup goes through this lock (cached lookups are cheap).
        self._discovery_lock = threading.RLock()
        self._api_client: ApiClient | None = None
        self._configuration: Configuration | None = None
        self._dynamic: DynamicClient | None = None
        self._typed: dict[str, Any] = {}
        self._context_namespace: str | None = None
        self._contact_ok = False
        self._last_outage: float | None = None
        self.journal = _apply.Journal()

    def __repr__(self) -> str:
        return f"Kube(context={self.context!r}, namespace={self._namespace!r})"

    # ------------------------------------------------------------------ kubeconfig and clients
    def contexts(self) -> tuple[list[str], str | None]:
        """(context names, current context) of the kubeconfig."""
        return contexts(self.kubeconfig)

    def _load(self):
        if self._api_client is not None:
            return self._api_client
        with self._lock:
            if self._api_client is not None:
                return self._api_client
            configuration, context, namespace = load_configuration(self.kubeconfig, self.context)
            from kubernetes import client

            self.context = context
            self._context_namespace = namespace
            self._configuration = configuration
            self._api_client = client.ApiClient(configuration)
            return self._api_client

    @property
    def api_client(self):
        return self._load()

    @property
    def configuration(self):
        self._load()
        return self._configuration

    @property
    def server(self) -> str:
        """API server URL of the selected context."""
        return self.configuration.host

    @property
    def namespace(self) -> str:
        """Namespace from -n, else the context's namespace, else "default"."""
        if self._namespace:
            return self._namespace
        try:
            self._load()
        except KubetmError:
            return "default"
        return self._context_namespace or "default"

    def _typed_client(self, name: str):
        with self._lock:
            if name not in self._typed:
                from kubernetes import client

                self._typed[name] = getattr(client, name)(self.api_client)
            return self._typed[name]

    core = property(lambda self: self._typed_client("CoreV1Api"))
    apps = property(lambda self: self._typed_client("AppsV1Api"))
    batch = property(lambda self: self._typed_client("BatchV1Api"))
    version_api = property(lambda self: self._typed_client("VersionApi"))

    @property
    def dynamic(self):
        """kubernetes.dynamic.DynamicClient (discovery is cached by the library)."""
        if self._dynamic is None:
            with self._lock:
                if self._dynamic is None:
                    from kubernetes import dynamic

                    self._dynamic = self.call(
                        dynamic.DynamicClient, self.api_client, what="API discovery"
                    )
        return self._dynamic

    # ------------------------------------------------------------------------- the one door
    def call(self, fn: Callable, *args, what: str = "", retry: bool = True, **kwargs):
        """Call ``fn(*args, **kwargs)`` with retries for transient failures, mapping errors.

        Retried with exponential backoff bounded by ``retry_seconds`` in total: connection
        refused/reset, timeouts, 429 (honouring Retry-After), 500/502/503/504 (not a schema error:
        an unknown field is permanent even when the server answers 500). Not retried: every other
        API status -> the typed error of ``map_api_error`` (NotFound, Conflict, Invalid, ...) with
        the API's message. Before the API server has ever answered, connection errors get only a
        short budget so a stopped cluster fails fast.
        """
        import tenacity

        start = time.monotonic()

        def budget(exc: BaseException | None) -> float:
            if exc is not None and not self._contact_ok and is_connection_error(exc):
                return min(self.retry_seconds, FIRST_CONTACT_SECONDS)
            return self.retry_seconds

        def stop(rs: tenacity.RetryCallState) -> bool:
            exc = rs.outcome.exception() if rs.outcome else None
            return time.monotonic() - start >= budget(exc)

        backoff = tenacity.wait_exponential(multiplier=0.25, max=4)

        def wait(rs: tenacity.RetryCallState) -> float:
            exc = rs.outcome.exception() if rs.outcome else None
            delay = retry_after_seconds(exc) if exc is not None else None
            if delay is None:
                delay = backoff(rs)
            remaining = budget(exc) - (time.monotonic() - start)
            return max(0.0, min(delay, remaining))

        retryer = tenacity.Retrying(
            retry=tenacity.retry_if_exception(self.transient) if retry else tenacity.retry_never,
            stop=stop,
            wait=wait,
            reraise=True,
        )
        try:
            result = retryer(fn, *args, **kwargs)
        except KubetmError:
            raise
        except Exception as exc:
            if is_api_exception(exc) or is_connection_error(exc) or is_tls_error(exc):
                server = self._configuration.host if self._configuration is not None else ""
                raise map_api_error(exc, what, server) from exc
            raise
        self._contact_ok = True
        return result

    def transient(self, exc: BaseException) -> bool:
        """Worth retrying? `is_retryable`, plus 401/403 from a server still starting up after an
        outage (its /readyz not OK). Remembers connection errors as outages."""
        if is_retryable(exc):
            if is_connection_error(exc):
                self._last_outage = time.monotonic()
            return True
        if is_api_exception(exc) and status_of(exc) in (401, 403):
            return self._starting_up()
        return False

    def _starting_up(self) -> bool:
        """True when /readyz says the server is not ready (5xx), or when it cannot be read at all
        shortly after an outage this process saw (a starting server may deny /readyz too)."""
        recent = (
            self._last_outage is not None and time.monotonic() - self._last_outage < RECOVERY_WINDOW
        )
        try:
            status = self._raw("/readyz", timeout=(5, 10))[0]
        except Exception as exc:
            status = status_of(exc) or 0
        if 200 <= status < 300:
            return False
        return status >= 500 or recent

    def _raw(self, path: str, timeout: tuple[float, float] = REQUEST_TIMEOUT) -> tuple[int, bytes]:
        """GET ``path`` on the API server once (no retry, no mapping): (status, body)."""
        client = self.api_client
        method, url, headers, _, _ = client.param_serialize(
            "GET", path, auth_settings=["BearerToken"]
        )
        response = client.call_api(method, url, header_params=headers, _request_timeout=timeout)
        data = response.read()  # also hands the connection back to the pool
        return response.status, data

    def tls_files(self) -> dict[str, str | None]:
        """The context's server URL and the files its client reads (the library writes inline
        ``*-data`` to temporary files): ``server``, ``ca_file``, ``cert_file``, ``key_file``."""
        c = self.configuration
        return {
            "server": c.host,
            "ca_file": c.ssl_ca_cert,
            "cert_file": c.cert_file,
            "key_file": c.key_file,
        }

    def create(self, obj: dict) -> dict:
        """POST one object (for create-only kinds: SelfSubjectReview, SelfSubjectAccessReview);
        the server's answer as a dict."""
        res = self.resource(obj["kind"], obj.get("apiVersion"))
        ns = obj.get("metadata", {}).get("namespace") if res.namespaced else None
        return plain(
            self.call(
                res.create,
                body=obj,
                namespace=ns,
                what=f"create {obj['kind']}",
                _request_timeout=REQUEST_TIMEOUT,
            )
        )

    def get_json(self, path: str, what: str = "") -> Any:
        """GET a raw API path (``/openapi/v3``) through ``call``; its JSON body."""
        import json

        from kubernetes.client.exceptions import ApiException

        def fetch():
            status, data = self._raw(path)
            if status >= 300:
                raise ApiException(status=status, reason=data.decode("utf-8", "replace")[:300])
            return json.loads(data or b"null")

        return self.call(fetch, what=what or f"GET {path}")

    def check_connection(self) -> dict:
        """Contact the API server once; returns its version info (gitVersion, platform ...)."""
        info = self.call(
            self.version_api.get_code, what="API server version", _request_timeout=REQUEST_TIMEOUT
        )
        return plain(info)

    # ------------------------------------------------------------------------- discovery
    def resource(self, kind: str, api_version: str | None = None):
        """Dynamic-client resource for a kind (``"Pod"``, ``"deploy"``, ``"Widget"`` + apiVersion).

        A kind the cluster serves in another version of the same group (``batch/v1beta1``
        CronJob on a cluster serving batch/v1) is ``NotFound`` naming the served versions.
        Safe to call from several threads at once.
        """
        with self._discovery_lock:
            return self._resource(kind, api_version)

    def _resource(self, kind: str, api_version: str | None = None):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

        key = kind.lower()
        if key in KINDS and (not api_version or KINDS[key][0] == api_version):
            api_version, kind = KINDS[key]
        dyn = self.dynamic
        what = f"discovery of {kind}" + (f" ({api_version})" if api_version else "")
        found: list = []
        try:
            if api_version:
                return self.call(dyn.resources.get, api_version=api_version, kind=kind, what=what)
            found = self.call(dyn.resources.search, kind=kind, what=what)
            if not found:  # plural / short name / other case: scan all resources once
                found = [
                    r
                    for r in self.call(list, dyn.resources, what=what)
                    if key in (r.name, r.kind.lower(), getattr(r, "singular_name", None))
                    or key in (getattr(r, "short_names", None) or [])
                ]
        except (ResourceNotFoundError, ResourceNotUniqueError):
            found = []
        except NotFound:
            pass
        found = [r for r in found if "/" not in r.name and not r.kind.endswith("List")]
        if found:
            preferred = [r for r in found if getattr(r, "preferred", False)]
            return (preferred or found)[0]
        served = self._served_versions(kind, api_version) if api_version else []
        if served:
            raise NotFound(
                f"{kind} is not served as {api_version} on this cluster",
                hint=f"use {' or '.join(served)}",
            )
        raise NotFound(
            f"unknown kind {kind}"
            + (f" ({api_version})" if api_version else "")
            + " on this cluster",
            hint="is its CustomResourceDefinition installed?",
        )

    def _served_versions(self, kind: str, api_version: str) -> builtins.list[str]:
        """The group/versions of ``api_version``'s group in which the server serves ``kind``."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        try:
            found = self.call(
                self.dynamic.resources.search,
                group=group,
                kind=kind,
                what=f"discovery of {kind} in {group or 'the core group'}",
            )
        except (ResourceNotFoundError, NotFound):
            return []
        versions = {
            r.group_version for r in found if "/" not in r.name and r.group_version != api_version
        }
        preferred = sorted(
            r.group_version
            for r in found
            if getattr(r, "preferred", False) and r.group_version in versions
        )
        return list(dict.fromkeys(preferred + sorted(versions)))

    def _ns_for(self, resource, namespace: str | None) -> str | None:
        if not resource.namespaced:
            return None
        return namespace or self.namespace

    # ------------------------------------------------------------------------- get / list
    def get(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> dict | None:
        """One object as a dict, or None when it does not exist."""
        res = self.resource(kind, api_version)
        ns = self._ns_for(res, namespace)
        try:
            return plain(
                self.call(
                    res.get,
                    name=name,
                    namespace=ns,
                    what=describe(res.kind, name, ns),
                    _request_timeout=REQUEST_TIMEOUT,
                )
            )
        except NotFound:
            return None

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        selector: str | dict | None = None,
        field_selector: str | None = None,
        api_version: str | None = None,
        all_namespaces: bool = False,
    ) -> builtins.list[dict]:
        """Objects of a kind (label ``selector`` as ``"app=hello"`` or ``{"app": "hello"}``)."""
        res = self.resource(kind, api_version)
        ns = None if all_namespaces else self._ns_for(res, namespace)
        raw = plain(
            self.call(
                res.get,
                namespace=ns,
                label_selector=selector_text(selector),
                field_selector=field_selector,
                what=describe(res.kind, None, ns),
                _request_timeout=REQUEST_TIMEOUT,
            )
        )
        items = raw.get("items") or []
        for it in items:  # list items lack kind/apiVersion; add them for uniformity
            it.setdefault("kind", res.kind)
            it.setdefault("apiVersion", res.group_version)
        return items

    # ------------------------------------------------------------- apply / delete (apply.py)
    def apply(
        self,
        objs: Iterable[dict],
        namespace: str | None = None,
        force_conflicts: bool = False,
        workers: int = _apply.APPLY_WORKERS,
        dry_run_first: bool | None = None,
        progress: Progress | None = None,
    ) -> builtins.list[Result]:
        """Server-side apply; see ``kubetm.k8s.apply.apply``."""
        return _apply.apply(
            self,
            objs,
            namespace=namespace,
            force_conflicts=force_conflicts,
            workers=workers,
            dry_run_first=self.dry_run_first if dry_run_first is None else dry_run_first,
            progress=progress,
        )

    def delete(
        self,
        target: str | dict | Sequence[dict],
        namespace: str | None = None,
        wait: bool = True,
        timeout: float = 180,
        propagation: str = "Foreground",
        progress: Progress | None = None,
    ) -> builtins.list[Result]:
        """Delete objects; see ``kubetm.k8s.apply.delete``."""
        return _apply.delete(
            self,
            target,
            namespace=namespace,
            wait=wait,
            timeout=timeout,
            propagation=propagation,
            progress=progress,
        )

    def delete_namespaces(
        self,
        names: Iterable[str],
        timeout: float = 180,
        progress: Progress | None = None,
        pods_at_once: bool = False,
    ):
        """Delete namespaces so a dead node cannot block it; see ``kubetm.k8s.cleanup``."""
        from kubetm.k8s.cleanup import delete_namespaces

        return delete_namespaces(
            self, names, timeout=timeout, progress=progress, pods_at_once=pods_at_once
        )

    def run_lock(
        self,
        namespace: str,
        *,
        what: str,
        labels: dict[str, str] | None = None,
        progress: Progress | None = None,
    ):
        """The run lock (a Lease) of a lab or demo in its namespace; see ``kubetm.k8s.lease``."""
        from kubetm.k8s.lease import RunLock

        return RunLock(self, namespace, what=what, labels=labels, progress=progress)

    @property
    def applied(self) -> builtins.list[Result]:
        """Every object this Kube has written with ``apply``, in the order the writes finished."""
        return self.journal.since(0)

    def applied_since(self, mark: int) -> builtins.list[Result]:
        """Objects written since ``mark = len(kube.applied)``."""
        return self.journal.since(mark)

    def cleanup_on_interrupt(
        self, keep: bool = False, report: Progress | None = None, timeout: float = 90
    ):
        """See ``kubetm.k8s.apply.cleanup_on_interrupt``."""
        return _apply.cleanup_on_interrupt(self, keep=keep, report=report, timeout=timeout)

    # --------------------------------------------------------------------- watch (watch.py)
    def watch_until(
        self,
        kind: str,
        name: str | None = None,
        predicate: Callable[[Any], bool] = lambda o: o is not None,
        *,
        selector: str | dict | None = None,
        namespace: str | None = None,
        api_version: str | None = None,
        timeout: float = 120,
        what: str | None = None,
        progress: Progress | None = None,
    ) -> Any:
        """Read, test ``predicate``, then watch until it holds; see ``kubetm.k8s.watch.watch_until``."""
        return _watch.watch_until(
            self,
            kind,
            name,
            predicate,
            selector=selector,
            namespace=namespace,
            api_version=api_version,
            timeout=timeout,
            what=what,
            progress=progress,
        )

    def wait_ready(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        timeout: float = 180,
        api_version: str | None = None,
        progress: Progress | None = None,
    ) -> dict:
        """Watch until an object is ready the way its kind defines it; returns the object."""
        return _watch.wait_ready(
            self,
            kind,
            name,
            namespace=namespace,
            timeout=timeout,
            api_version=api_version,
            progress=progress,
        )

    def wait_nodes_ready(
        self, count: int | None = None, timeout: float = 300, progress: Progress | None = None
    ) -> builtins.list[dict]:
        """Watch until every node (and at least ``count`` of them) reports Ready=True."""
        return _watch.wait_nodes_ready(self, count=count, timeout=timeout, progress=progress)

    @staticmethod
    def _watch_events(res, watcher, **params):
        """The raw watch events of ``res`` (what DynamicClient.watch does, plus a read timeout)."""
        return watcher.stream(res.get, serialize=False, **params)

    # ---------------------------------------------------------------------- pods (pods.py)
    def exec(
        self,
        pod: str,
        cmd: Sequence[str],
        container: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
        stdin: str | None = None,
    ) -> tuple[int, str, str]:
        """Run ``cmd`` in a pod: (exit_code, stdout, stderr); see ``kubetm.k8s.pods.exec_in``."""
        return _pods.exec_in(
            self, pod, cmd, container=container, namespace=namespace, timeout=timeout, stdin=stdin
        )

    def pod_logs(
        self,
        pod: str,
        namespace: str | None = None,
        container: str | None = None,
        tail_lines: int | None = None,
        previous: bool = False,
    ) -> str:
        return _pods.logs(
            self,
            pod,
            namespace=namespace,
            container=container,
            tail_lines=tail_lines,
            previous=previous,
        )

    def events(
        self, namespace: str | None = None, involved_name: str | None = None
    ) -> builtins.list[dict]:
        """Core events (oldest first), optionally only those about one object name."""
        return _pods.events(self, namespace=namespace, involved_name=involved_name)
