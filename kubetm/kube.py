"""THE client layer: the only module of kubetm that imports ``kubernetes``.

It owns kubeconfig/context loading, typed + dynamic clients, server-side apply (field manager
``kubetm``), get/list/delete, watch-based waits, pod exec, logs, events, retries (tenacity, in
``Kube.call`` only) and the mapping of API errors to one-line ``KubetmError``s.

Everything heavy is imported lazily: constructing ``Kube`` costs nothing and contacts nothing.

Example:
    kube = Kube(context="kind-kubetm", namespace="default")
    results = kube.apply(manifests.load("manifests/getting-started"))
    kube.watch_until("Pod", "hello-pod", wait.pod_ready, timeout=120, description="pod hello-pod Ready")
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

from kubetm.errors import EXIT_TIMEOUT, KubetmError, register_secret_object

__all__ = ["Kube", "ApplyResult", "cleanup_on_interrupt", "DeleteResult", "FIELD_MANAGER", "MANAGED_BY_LABEL", "parse_target"]

FIELD_MANAGER = "kubetm"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "kubetm"
DEFAULT_RETRY_SECONDS = float(os.environ.get("KUBETM_RETRY_SECONDS", "30"))
FIRST_CONTACT_SECONDS = 5.0   # budget for connection errors before the API server ever answered
REQUEST_TIMEOUT = (5, 60)     # (connect, read) seconds for ordinary requests
WATCH_READ_SLACK = 15.0       # a watch read may stay silent this long past its timeoutSeconds
# After an outage this process saw, 401/403 are retried while /readyz is not OK: a restarting
# kube-apiserver denies requests until its authenticators and RBAC caches are loaded.
RECOVERY_WINDOW = 120.0
APPLY_WORKERS = 4

# Common kinds -> apiVersion, so "pod/x" works without discovery guesses. Keys are lower-case
# singular, plural and short names; values are (apiVersion, Kind).
_KINDS: dict[str, tuple[str, str]] = {}
for _names, _av, _kind in [
    (("pod", "pods", "po"), "v1", "Pod"),
    (("service", "services", "svc"), "v1", "Service"),
    (("namespace", "namespaces", "ns"), "v1", "Namespace"),
    (("node", "nodes", "no"), "v1", "Node"),
    (("configmap", "configmaps", "cm"), "v1", "ConfigMap"),
    (("secret", "secrets"), "v1", "Secret"),
    (("persistentvolume", "persistentvolumes", "pv"), "v1", "PersistentVolume"),
    (("persistentvolumeclaim", "persistentvolumeclaims", "pvc"), "v1", "PersistentVolumeClaim"),
    (("replicationcontroller", "replicationcontrollers", "rc"), "v1", "ReplicationController"),
    (("endpoints", "ep"), "v1", "Endpoints"),
    (("event", "events", "ev"), "v1", "Event"),
    (("serviceaccount", "serviceaccounts", "sa"), "v1", "ServiceAccount"),
    (("resourcequota", "resourcequotas", "quota"), "v1", "ResourceQuota"),
    (("limitrange", "limitranges", "limits"), "v1", "LimitRange"),
    (("deployment", "deployments", "deploy"), "apps/v1", "Deployment"),
    (("replicaset", "replicasets", "rs"), "apps/v1", "ReplicaSet"),
    (("daemonset", "daemonsets", "ds"), "apps/v1", "DaemonSet"),
    (("statefulset", "statefulsets", "sts"), "apps/v1", "StatefulSet"),
    (("job", "jobs"), "batch/v1", "Job"),
    (("cronjob", "cronjobs", "cj"), "batch/v1", "CronJob"),
    (("horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"), "autoscaling/v2", "HorizontalPodAutoscaler"),
    (("ingress", "ingresses", "ing"), "networking.k8s.io/v1", "Ingress"),
    (("networkpolicy", "networkpolicies", "netpol"), "networking.k8s.io/v1", "NetworkPolicy"),
    (("storageclass", "storageclasses", "sc"), "storage.k8s.io/v1", "StorageClass"),
    (("endpointslice", "endpointslices"), "discovery.k8s.io/v1", "EndpointSlice"),
    (("customresourcedefinition", "customresourcedefinitions", "crd", "crds"),
     "apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    (("role", "roles"), "rbac.authorization.k8s.io/v1", "Role"),
    (("rolebinding", "rolebindings"), "rbac.authorization.k8s.io/v1", "RoleBinding"),
    (("clusterrole", "clusterroles"), "rbac.authorization.k8s.io/v1", "ClusterRole"),
    (("clusterrolebinding", "clusterrolebindings"), "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    (("poddisruptionbudget", "poddisruptionbudgets", "pdb"), "policy/v1", "PodDisruptionBudget"),
]:
    for _n in _names:
        _KINDS[_n] = (_av, _kind)


@dataclass
class ApplyResult:
    kind: str
    name: str
    namespace: str | None
    action: str          # created | configured | unchanged
    api_version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()}/{ns}{self.name} {self.action}"


@dataclass
class DeleteResult:
    kind: str
    name: str
    namespace: str | None
    action: str          # deleted | not found
    api_version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()}/{ns}{self.name} {self.action}"


def parse_target(target: str) -> tuple[str, str, str | None]:
    """``"pod/hello-pod"`` -> ``("v1", "Pod", "hello-pod")``-ish: (apiVersion or "", Kind, name).

    Kind may be any known singular/plural/short name; unknown kinds are kept as written (resolved by
    discovery later). Accepts ``kind.group/name`` too (``deployments.apps/web``).
    """
    if "/" not in target:
        raise KubetmError(f"expected KIND/NAME, got {target!r}", hint="e.g. pod/hello-pod")
    kind, name = target.split("/", 1)
    if not kind or not name or "/" in name:
        raise KubetmError(f"expected KIND/NAME, got {target!r}", hint="e.g. pod/hello-pod")
    key = kind.lower()
    group = None
    if "." in key:
        key, group = key.split(".", 1)
    if key in _KINDS:
        api_version, kind_name = _KINDS[key]
        if group and not api_version.startswith(group + "/"):
            return "", kind, name
        return api_version, kind_name, name
    return "", kind, name


# ---------------------------------------------------------------------------------- helpers

def _api_message(exc: Any) -> str:
    """The API server's human message from an ApiException (Status body), else the reason."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return str(data["message"])
        except ValueError:
            return str(body)[:300]
    return str(getattr(exc, "reason", "") or "unknown error")


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _is_api_exception(exc: BaseException) -> bool:
    try:
        from kubernetes.client.exceptions import ApiException
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, ApiException)


def _is_tls_error(exc: BaseException) -> bool:
    import ssl

    import urllib3

    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or "EOF occurred" in str(cur) \
                or "UNEXPECTED_EOF" in str(cur):
            return False  # the server dropped the connection (restarting): a connection error
        if isinstance(cur, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return True
        cur = getattr(cur, "reason", None) if isinstance(getattr(cur, "reason", None), BaseException) \
            else cur.__cause__ or cur.__context__
    return False


TRANSIENT_STATUS0 = ("EOF occurred", "UNEXPECTED_EOF", "Connection reset", "ConnectionReset",
                     "Connection refused", "ConnectionRefused", "Connection aborted", "RemoteDisconnected")


def is_connection_error(exc: BaseException) -> bool:
    """True for refused/reset connections and timeouts (not TLS failures).

    The kubernetes client turns an SSL-level failure into ApiException(status=0): a server that
    drops connections while it restarts shows up so ("EOF occurred"); a bad certificate too, and
    that one is not a connection error.
    """
    import urllib3

    if _is_api_exception(exc) and not _status(exc):
        reason = str(getattr(exc, "reason", "") or exc)
        return any(t in reason for t in TRANSIENT_STATUS0) and "CERTIFICATE_VERIFY_FAILED" not in reason
    if _is_tls_error(exc):
        return False
    return isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)) \
        and not _is_api_exception(exc)


RETRY_STATUSES = {429, 500, 502, 503, 504}


def is_retryable(exc: BaseException) -> bool:
    if _is_api_exception(exc):
        return _status(exc) in RETRY_STATUSES or is_connection_error(exc)
    return is_connection_error(exc)


def retry_after_seconds(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("Retry-After")
    except AttributeError:
        return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def map_api_error(exc: BaseException, what: str = "", server: str = "") -> KubetmError:
    """Turn an ApiException (or connection error) into a one-line KubetmError."""
    what = what or "request"
    if _is_api_exception(exc):
        status = _status(exc)
        msg = _api_message(exc)
        if status == 404 and msg.startswith('namespaces "') and msg.endswith('" not found'):
            missing = msg.split('"')[1]
            return KubetmError(f"{what}: namespace {missing} does not exist",
                               hint=f"create it (kubectl create namespace {missing}) or choose another with -n")
        if status == 404:
            return KubetmError(f"{what}: not found ({msg})" if msg and "not found" not in msg else f"{what}: {msg or 'not found'}")
        if status == 401:
            return KubetmError(f"{what}: unauthorized: the API server rejected the credentials",
                               hint="check --kubeconfig/--context")
        if status == 403:
            return KubetmError(f"{what}: forbidden: {msg}")
        if status == 409:
            return KubetmError(f"{what}: conflict: {msg}")
        if status in (400, 422):
            return KubetmError(f"{what}: rejected by the API server: {msg}")
        if status == 410:
            return KubetmError(f"{what}: resource version too old: {msg}")
        if status in RETRY_STATUSES:
            return KubetmError(f"{what}: the API server kept failing (HTTP {status}: {msg})",
                               hint="is the cluster overloaded? try again")
        return KubetmError(f"{what}: API error (HTTP {status}): {msg}")
    if _is_tls_error(exc):
        return KubetmError(f"TLS error talking to the API server at {server or '?'}: {exc.__class__.__name__}",
                           hint="is the kubeconfig for this cluster current? try `kubetm cluster up`")
    if is_connection_error(exc):
        return KubetmError(f"cannot reach the API server at {server or '?'}: is the cluster running?",
                           hint="try `kubetm cluster up`")
    return KubetmError(f"{what}: {exc.__class__.__name__}: {exc}")


def _plain(obj: Any) -> Any:
    """ResourceInstance / model -> plain dict."""
    if obj is None or isinstance(obj, (dict, list, str, int, float, bool)):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


def _describe(kind: str, name: str | None, namespace: str | None) -> str:
    ns = f"{namespace}/" if namespace else ""
    return f"{kind.lower()} {ns}{name}" if name else f"{kind.lower()}s{' in ' + namespace if namespace else ''}"


# ------------------------------------------------------------------------------------- Kube

class Kube:
    """Lazy handle on one cluster (kubeconfig + context + default namespace)."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None,
                 namespace: str | None = None, retry_seconds: float | None = None):
        self.kubeconfig = kubeconfig
        self.context = context
        self._namespace = namespace
        self.retry_seconds = DEFAULT_RETRY_SECONDS if retry_seconds is None else float(retry_seconds)
        self._lock = threading.RLock()
        self._api_client = None
        self._configuration = None
        self._dynamic = None
        self._typed: dict[str, Any] = {}
        self._context_namespace: str | None = None
        self._contact_ok = False
        self._last_outage: float | None = None
        self._applied: list[ApplyResult] = []
        self.dry_run_first = False   # apply(): dry-run every object before writing any

    def __repr__(self) -> str:
        return f"Kube(context={self.context!r}, namespace={self._namespace!r})"

    # ------------------------------------------------------------------ kubeconfig and clients
    def _kubeconfig_paths(self) -> list[str]:
        raw = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        return [os.path.expanduser(p) for p in raw.split(os.pathsep) if p]

    def contexts(self) -> tuple[list[str], str | None]:
        """(context names, current context) of the kubeconfig."""
        cfg = self._read_kubeconfig()
        names = [c.get("name") for c in cfg.get("contexts") or [] if isinstance(c, dict) and c.get("name")]
        return names, cfg.get("current-context") or None

    def _read_kubeconfig(self) -> dict:
        import yaml

        paths = self._kubeconfig_paths()
        existing = [p for p in paths if os.path.isfile(p)]
        if not existing:
            raise KubetmError(f"no kubeconfig found at {os.pathsep.join(paths)}",
                              hint="create a cluster with `kubetm cluster up` or pass --kubeconfig")
        merged: dict = {"contexts": [], "clusters": {}, "current-context": None}
        for p in existing:
            try:
                with open(p, "rb") as f:
                    data = yaml.safe_load(f)
            except (OSError, yaml.YAMLError) as e:
                problem = getattr(e, "problem", None) or getattr(e, "strerror", None) or str(e)
                mark = getattr(e, "problem_mark", None)
                where = f"{p}:{mark.line + 1}" if mark else p
                raise KubetmError(f"broken kubeconfig {where}: {problem}") from None
            if data is None:
                continue
            if not isinstance(data, dict):
                raise KubetmError(f"broken kubeconfig {p}: expected a mapping")
            for c in data.get("contexts") or []:
                if isinstance(c, dict) and c.get("name") not in {x.get("name") for x in merged["contexts"]}:
                    merged["contexts"].append(c)
            for c in data.get("clusters") or []:
                if isinstance(c, dict) and isinstance(c.get("name"), str):
                    merged["clusters"].setdefault(c["name"], c.get("cluster") if isinstance(c.get("cluster"), dict) else {})
            if not merged["current-context"] and data.get("current-context"):
                merged["current-context"] = data["current-context"]
        return merged

    def _load(self):
        if self._api_client is not None:
            return self._api_client
        with self._lock:
            if self._api_client is not None:
                return self._api_client
            cfg = self._read_kubeconfig()
            names = [c.get("name") for c in cfg["contexts"] if c.get("name")]
            wanted = self.context or cfg.get("current-context")
            valid = ", ".join(names) if names else "none"
            if not wanted:
                raise KubetmError("the kubeconfig has no current context",
                                  hint=f"pass --context; valid contexts: {valid}")
            if wanted not in names:
                raise KubetmError(f"context {wanted!r} not found in kubeconfig",
                                  hint=f"valid contexts: {valid}")
            for c in cfg["contexts"]:
                if c.get("name") == wanted:
                    self._context_namespace = ((c.get("context") or {}).get("namespace")) or None
            from kubernetes import client, config
            from kubernetes.config.config_exception import ConfigException

            configuration = client.Configuration()
            try:
                config.load_kube_config(config_file=os.pathsep.join(self._kubeconfig_paths()),
                                        context=wanted, client_configuration=configuration,
                                        persist_config=False)
            except (ConfigException, ValueError, KeyError, TypeError, OSError) as e:
                raise KubetmError(f"broken kubeconfig for context {wanted!r}: {' '.join(str(e).split())}") from None
            from urllib.parse import urlsplit

            url = urlsplit(configuration.host or "")
            ctx_cluster = next(((c.get("context") or {}).get("cluster") for c in cfg["contexts"]
                                if c.get("name") == wanted), None)
            declared = (cfg.get("clusters") or {}).get(ctx_cluster) or {}
            if url.scheme not in ("http", "https") or not url.hostname or not declared.get("server"):
                raise KubetmError(f"broken kubeconfig for context {wanted!r}: its cluster has no server URL",
                                  hint="expected clusters[].cluster.server like https://127.0.0.1:6443")
            # urllib3 must not retry on its own: Kube.call is the one retry place.
            configuration.retries = False
            self.context = wanted
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
    autoscaling = property(lambda self: self._typed_client("AutoscalingV2Api"))
    networking = property(lambda self: self._typed_client("NetworkingV1Api"))
    storage = property(lambda self: self._typed_client("StorageV1Api"))
    rbac = property(lambda self: self._typed_client("RbacAuthorizationV1Api"))
    policy = property(lambda self: self._typed_client("PolicyV1Api"))
    apiextensions = property(lambda self: self._typed_client("ApiextensionsV1Api"))
    discovery = property(lambda self: self._typed_client("DiscoveryV1Api"))
    version_api = property(lambda self: self._typed_client("VersionApi"))

    @property
    def dynamic(self):
        """kubernetes.dynamic.DynamicClient (discovery is cached by the library)."""
        if self._dynamic is None:
            with self._lock:
                if self._dynamic is None:
                    from kubernetes import dynamic

                    self._dynamic = self.call(dynamic.DynamicClient, self.api_client, what="API discovery")
        return self._dynamic

    # ------------------------------------------------------------------------- the one retry
    def call(self, fn: Callable, *args, what: str = "", retry: bool = True, **kwargs):
        """Call ``fn(*args, **kwargs)`` with retries for transient failures, mapping errors.

        Retried with exponential backoff bounded by ``retry_seconds`` in total: connection
        refused/reset, timeouts, 429 (honouring Retry-After), 500/502/503/504. Not retried: every
        other API status (400/401/403/404/409/422 ...) -> ``KubetmError`` with the API's message.
        Before the API server has ever answered, connection errors get only a short budget so a
        stopped cluster fails fast.
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
            stop=stop, wait=wait, reraise=True)
        try:
            result = retryer(fn, *args, **kwargs)
        except KubetmError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to one user-facing error
            if _is_api_exception(exc) or is_connection_error(exc) or _is_tls_error(exc):
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
        if _is_api_exception(exc) and _status(exc) in (401, 403):
            return self._starting_up()
        return False

    def _starting_up(self) -> bool:
        """True when /readyz says the server is not ready (5xx), or when it cannot be read at all
        shortly after an outage this process saw (a starting server may deny /readyz too)."""
        recent = self._last_outage is not None and time.monotonic() - self._last_outage < RECOVERY_WINDOW
        client = self.api_client
        try:
            method, url, headers, _, _ = client.param_serialize("GET", "/readyz", auth_settings=["BearerToken"])
            response = client.call_api(method, url, header_params=headers, _request_timeout=(5, 10))
            response.read()   # hands the connection back to the pool
            status = response.status
        except Exception as exc:  # noqa: BLE001 - any failure here only decides whether to retry
            status = _status(exc) or 0
        if 200 <= status < 300:
            return False
        return status >= 500 or recent

    def check_connection(self) -> dict:
        """Contact the API server once; returns its version info (gitVersion, platform ...)."""
        info = self.call(self.version_api.get_code, what="API server version", _request_timeout=REQUEST_TIMEOUT)
        return _plain(info)

    # -------------------------------------------------------------------------- resources
    def resource(self, kind: str, api_version: str | None = None):
        """Dynamic-client resource for a kind (``"Pod"``, ``"deploy"``, ``"Widget"`` + apiVersion)."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

        key = kind.lower()
        if key in _KINDS and (not api_version or _KINDS[key][0] == api_version):
            api_version, kind = _KINDS[key]
        dyn = self.dynamic
        what = f"discovery of {kind}" + (f" ({api_version})" if api_version else "")
        found: list = []
        try:
            if api_version:
                return self.call(dyn.resources.get, api_version=api_version, kind=kind, what=what)
            found = self.call(dyn.resources.search, kind=kind, what=what)
            if not found:  # plural / short name / other case: scan all resources once
                found = [r for r in self.call(list, dyn.resources, what=what)
                         if key in (r.name, r.kind.lower(), getattr(r, "singular_name", None))
                         or key in (getattr(r, "short_names", None) or [])]
        except (ResourceNotFoundError, ResourceNotUniqueError):
            found = []
        except KubetmError as e:
            if _status(e.__cause__) != 404:
                raise
        found = [r for r in found if "/" not in r.name and not r.kind.endswith("List")]
        if found:
            preferred = [r for r in found if getattr(r, "preferred", False)]
            return (preferred or found)[0]
        raise KubetmError(f"unknown kind {kind}" + (f" ({api_version})" if api_version else "") +
                          " on this cluster", hint="is its CustomResourceDefinition installed?")

    def _resource_for(self, obj: dict):
        return self.resource(obj["kind"], obj["apiVersion"])

    def _ns_for(self, resource, namespace: str | None) -> str | None:
        if not resource.namespaced:
            return None
        return namespace or self.namespace

    def get(self, kind: str, name: str, namespace: str | None = None,
            api_version: str | None = None) -> dict | None:
        """One object as a dict, or None when it does not exist."""
        res = self.resource(kind, api_version)
        ns = self._ns_for(res, namespace)
        try:
            return _plain(self.call(res.get, name=name, namespace=ns, what=_describe(res.kind, name, ns),
                                    _request_timeout=REQUEST_TIMEOUT))
        except KubetmError as e:
            if _status(e.__cause__) == 404:
                return None
            raise

    def list(self, kind: str, namespace: str | None = None, selector: str | dict | None = None,
             field_selector: str | None = None, api_version: str | None = None,
             all_namespaces: bool = False) -> list[dict]:
        """Objects of a kind (label ``selector`` as ``"app=hello"`` or ``{"app": "hello"}``).

        ``list("v1", "Node")`` (apiVersion first) is accepted too: a namespace is never capitalised.
        """
        if namespace and namespace[:1].isupper() and _looks_like_api_version(kind):
            kind, namespace, api_version = namespace, None, kind
        items, _ = self._list(kind, namespace, selector, field_selector, api_version, all_namespaces)
        return items

    def _list(self, kind, namespace=None, selector=None, field_selector=None, api_version=None,
              all_namespaces=False):
        res = self.resource(kind, api_version)
        ns = None if all_namespaces else self._ns_for(res, namespace)
        sel = _selector(selector)
        raw = _plain(self.call(res.get, namespace=ns, label_selector=sel, field_selector=field_selector,
                               what=_describe(res.kind, None, ns), _request_timeout=REQUEST_TIMEOUT))
        items = raw.get("items") or []
        for it in items:  # list items lack kind/apiVersion; add them for uniformity
            it.setdefault("kind", res.kind)
            it.setdefault("apiVersion", res.group_version)
        return items, (raw.get("metadata") or {}).get("resourceVersion")

    # ------------------------------------------------------------------------------ apply
    def apply(self, objs: Iterable[dict], namespace: str | None = None,
              force_conflicts: bool = False, workers: int = APPLY_WORKERS,
              dry_run_first: bool | None = None) -> list[ApplyResult]:
        """Server-side apply (field manager ``kubetm``) of plain dicts; returns one result each.

        Namespaces and CRDs go first (and CRDs are waited on until Established), then the rest
        concurrently. Each object gets the label app.kubernetes.io/managed-by=kubetm. Namespaced
        objects without metadata.namespace land in ``namespace`` (else the Kube's namespace).
        409 conflicts are re-read and retried; ownership is only forced with ``force_conflicts``.

        Every kind is resolved before the first write (an unknown kind creates nothing). With
        ``dry_run_first`` every object is first sent as a server-side dry run (``dryRun=All``), so
        an object the API server rejects (422, unknown namespace, conflict) is refused before any
        object is written; objects in a Namespace, or of a CRD, created by the same call are not
        dry-run (they cannot be, yet). The default is the Kube's ``dry_run_first`` attribute
        (False; `kubetm apply -f` sets it).

        Interruption (Ctrl-C/SIGTERM) or an error: requests not yet sent are cancelled, those in
        flight finish, and every object written so far is in ``self.applied`` (``applied_since``).
        Like ``kubectl apply``, apply itself never rolls back; callers that promise a cleanup
        (``kubetm deploy hello``) wrap it in ``cleanup_on_interrupt``.
        """
        if dry_run_first is None:
            dry_run_first = self.dry_run_first
        objs = [_with_label(o) for o in objs]
        for o in objs:
            register_secret_object(o)
        first = [o for o in objs if o.get("kind") in ("Namespace", "CustomResourceDefinition")]
        rest = [o for o in objs if o.get("kind") not in ("Namespace", "CustomResourceDefinition")]
        crd_kinds = {(((o.get("spec") or {}).get("group")) or "",
                      ((o.get("spec") or {}).get("names") or {}).get("kind"))
                     for o in first if o.get("kind") == "CustomResourceDefinition"}

        def defined_here(o: dict) -> bool:
            av = o.get("apiVersion") or ""
            return (av.rsplit("/", 1)[0] if "/" in av else "", o.get("kind")) in crd_kinds

        # Resolve kinds sequentially (discovery is not thread-safe) and before the first write.
        resolved = {id(o): self._resource_for(o) for o in objs if not defined_here(o)}
        if dry_run_first:
            new_ns = {o["metadata"]["name"] for o in first if o.get("kind") == "Namespace"}
            checks = [(o, resolved[id(o)]) for o in objs if id(o) in resolved
                      and not (resolved[id(o)].namespaced and
                               (o["metadata"].get("namespace") or namespace or self.namespace) in new_ns)]
            self._parallel([lambda o=o, res=res: self._apply_one(o, res, namespace, force_conflicts, dry_run=True)
                            for o, res in checks], workers)
        results: dict[int, ApplyResult] = {}
        for phase in (first, rest):
            if not phase:
                continue
            planned = [(id(o), o, resolved.get(id(o)) or self._resource_for(o)) for o in phase]
            done = self._parallel([lambda o=o, res=res: self._apply_one(o, res, namespace, force_conflicts)
                                   for _, o, res in planned], workers)
            for (key, _, _), r in zip(planned, done, strict=True):
                results[key] = r
            crds = [o for o in phase if o.get("kind") == "CustomResourceDefinition"]
            for crd in crds:
                from kubetm import wait as _wait

                self.watch_until("CustomResourceDefinition", crd["metadata"]["name"], _wait.crd_established,
                                 api_version="apiextensions.k8s.io/v1", timeout=60,
                                 description=f"CRD {crd['metadata']['name']} established")
            if crds:
                self.dynamic.resources.invalidate_cache()
        return [results[id(o)] for o in objs]

    @staticmethod
    def _parallel(tasks: list[Callable[[], Any]], workers: int) -> list:
        """Run ``tasks`` on a small pool, results in order. On an error, or an interruption of the
        calling thread, tasks not started yet are cancelled and those running are waited for."""
        from concurrent.futures import ThreadPoolExecutor

        if not tasks:
            return []
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks))))
        try:
            futures = [pool.submit(t) for t in tasks]
            out = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return out

    @property
    def applied(self) -> list[ApplyResult]:
        """Every object this Kube has written with ``apply``, in the order the writes finished."""
        with self._lock:
            return list(self._applied)

    def applied_since(self, mark: int) -> list[ApplyResult]:
        """Objects written since ``mark = len(kube.applied)``."""
        with self._lock:
            return list(self._applied[mark:])

    def cleanup_on_interrupt(self, keep: bool = False, report: Callable[[str], None] | None = None,
                             timeout: float = 90):
        """See the module function ``cleanup_on_interrupt``."""
        return cleanup_on_interrupt(self, keep=keep, report=report, timeout=timeout)

    def _apply_one(self, obj: dict, res, namespace: str | None, force: bool,
                   dry_run: bool = False) -> ApplyResult | None:
        meta = obj["metadata"]
        name = meta["name"]
        ns = None
        if res.namespaced:
            ns = meta.get("namespace") or namespace or self.namespace
            obj = {**obj, "metadata": {**meta, "namespace": ns}}
        what = f"apply {_describe(res.kind, name, ns)}"
        for attempt in range(4):
            before = None if dry_run else self._rv(res, name, ns, what)
            extra = {"dry_run": "All"} if dry_run else {}
            try:
                after = self.call(self.dynamic.server_side_apply, res, body=obj, name=name, namespace=ns,
                                  field_manager=FIELD_MANAGER, force_conflicts=True if force else None,
                                  what=what, _request_timeout=REQUEST_TIMEOUT, **extra)
            except KubetmError as e:
                if _status(e.__cause__) == 409 and attempt < 3 and not dry_run:
                    continue  # re-read and try again
                if _status(e.__cause__) == 409:
                    raise KubetmError(f"{what}: conflict: {_api_message(e.__cause__)}",
                                      hint="another field manager owns these fields; re-run with "
                                           "--force-conflicts to take them over") from e.__cause__
                raise
            if dry_run:
                return None
            rv_after = ((_plain(after) or {}).get("metadata") or {}).get("resourceVersion")
            action = "created" if before is None else ("unchanged" if before == rv_after else "configured")
            result = ApplyResult(res.kind, name, ns, action, res.group_version)
            with self._lock:
                self._applied.append(result)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _rv(self, res, name, ns, what) -> str | None:
        try:
            cur = _plain(self.call(res.get, name=name, namespace=ns, what=what, _request_timeout=REQUEST_TIMEOUT))
        except KubetmError as e:
            if _status(e.__cause__) == 404:
                return None
            raise
        return (cur.get("metadata") or {}).get("resourceVersion")

    # ----------------------------------------------------------------------------- delete
    def delete(self, target: str | dict | Sequence[dict], namespace: str | None = None,
               wait: bool = True, timeout: float = 180, description: str | None = None,
               propagation: str = "Foreground") -> list[DeleteResult]:
        """Delete objects (dicts from manifests, or ``"kind/name"``) with foreground propagation.

        With ``wait`` it watches until every object is gone. Missing objects are reported as
        "not found", not as errors. Deletes run in reverse apply order (Namespaces last).
        ``propagation`` is the API's propagationPolicy: "Foreground" (default), "Background", or
        "Orphan" (dependents stay, their ownerReferences removed: ``kubectl delete --cascade=orphan``).
        """
        if propagation not in ("Foreground", "Background", "Orphan"):
            raise KubetmError(f"unknown propagation policy {propagation!r}",
                              hint="use Foreground, Background or Orphan")
        from concurrent.futures import ThreadPoolExecutor

        if isinstance(target, str):
            av, kind, name = parse_target(target)
            objs = [{"apiVersion": av, "kind": kind, "metadata": {"name": name}}]
        elif isinstance(target, dict):
            objs = [target]
        else:
            objs = list(target)
        rank = {"Namespace": 2, "CustomResourceDefinition": 1}
        objs = sorted(objs, key=lambda o: rank.get(o.get("kind"), 0))
        planned = []
        for o in objs:
            res = self.resource(o["kind"], o.get("apiVersion") or None)
            ns = (o["metadata"].get("namespace") or namespace or self.namespace) if res.namespaced else None
            planned.append((res, o["metadata"]["name"], ns))
        results: list[DeleteResult] = []
        with ThreadPoolExecutor(max_workers=max(1, min(APPLY_WORKERS, len(planned)))) as pool:
            for res, name, ns, found in pool.map(lambda p: (*p, self._delete_one(*p, propagation)), planned):
                results.append(DeleteResult(res.kind, name, ns, "deleted" if found else "not found",
                                            res.group_version))
        if wait:
            pending = [(res, name, ns) for (res, name, ns), r in zip(planned, results) if r.action == "deleted"]
            if pending:
                from kubetm.output import progress

                desc = description or (f"waiting for {len(pending)} object(s) to be deleted")
                with progress(desc):
                    with ThreadPoolExecutor(max_workers=max(1, min(8, len(pending)))) as pool:
                        futs = [pool.submit(self.watch_until, res.kind, name, lambda o: o is None,
                                            namespace=ns, api_version=res.group_version, timeout=timeout,
                                            description=None, what=f"{_describe(res.kind, name, ns)} deleted")
                                for res, name, ns in pending]
                        for f in futs:
                            f.result()
        return results

    def _delete_one(self, res, name, ns, propagation: str = "Foreground") -> bool:
        try:
            self.call(res.delete, name=name, namespace=ns, propagation_policy=propagation,
                      what=f"delete {_describe(res.kind, name, ns)}", _request_timeout=REQUEST_TIMEOUT)
            return True
        except KubetmError as e:
            if _status(e.__cause__) == 404:
                return False
            raise

    # ------------------------------------------------------------------------------ watch
    def watch_until(self, kind: str, name: str | None = None,
                    predicate: Callable[[Any], bool] = lambda o: o is not None, *,
                    selector: str | dict | None = None, namespace: str | None = None,
                    api_version: str | None = None, timeout: float = 120,
                    description: str | None = "", what: str | None = None) -> Any:
        """Read, test ``predicate``, then watch from that resourceVersion until it holds.

        With ``name``: predicate(obj_dict_or_None) (None = does not exist).
        With ``selector`` (or neither): predicate(list_of_dicts) over the current matching set.
        A predicate may raise KubetmError to abort early (e.g. image pull failure). On 410 Gone
        or a dropped watch it re-lists. Returns the object (or list) that satisfied it; on
        timeout raises KubetmError (exit code 3). ``description`` shows a progress spinner
        (None: no spinner, "" : a default text).
        """
        from contextlib import nullcontext

        from kubetm.output import progress

        res = self.resource(kind, api_version)
        ns = self._ns_for(res, namespace)
        label = what or description or (f"{_describe(res.kind, name, ns)}" if name else
                                         f"{res.kind.lower()}s matching {_selector(selector) or 'all'}")
        spinner = progress(description or f"waiting for {label}") if description is not None else nullcontext()
        deadline = time.monotonic() + timeout
        with spinner:
            return self._watch_loop(res, name, predicate, _selector(selector), ns, deadline, timeout, label)

    def _watch_loop(self, res, name, predicate, sel, ns, deadline, timeout, label):
        from kubernetes import watch as k8s_watch

        state: dict[str, dict] = {}
        last = None
        while True:
            field = f"metadata.name={name}" if name else None
            raw = _plain(self.call(res.get, namespace=ns, label_selector=sel, field_selector=field,
                                   what=f"list {_describe(res.kind, name, ns)}", _request_timeout=REQUEST_TIMEOUT))
            state = {i["metadata"]["name"]: i for i in raw.get("items") or []}
            for it in state.values():
                it.setdefault("kind", res.kind)
                it.setdefault("apiVersion", res.group_version)
            rv = (raw.get("metadata") or {}).get("resourceVersion")
            last = state.get(name) if name else list(state.values())
            if predicate(last):
                return last
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise KubetmError(f"timed out after {timeout:g}s waiting for {label}",
                                      hint=_state_hint(last), exit_code=EXIT_TIMEOUT)
                watcher = k8s_watch.Watch()
                try:
                    # timeoutSeconds ends the watch on the server; the read timeout ends it on
                    # our side too when the connection silently died (a restarted control plane).
                    for ev in self._watch_events(res, watcher, namespace=ns, field_selector=field,
                                                 label_selector=sel, resource_version=rv,
                                                 timeout_seconds=max(1, int(remaining) + 1),
                                                 _request_timeout=(REQUEST_TIMEOUT[0], remaining + WATCH_READ_SLACK)):
                        obj = ev.get("raw_object") or _plain(ev.get("object"))
                        etype = ev.get("type")
                        if etype == "BOOKMARK" or not isinstance(obj, dict):
                            continue
                        rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                        key = (obj.get("metadata") or {}).get("name")
                        obj.setdefault("kind", res.kind)
                        obj.setdefault("apiVersion", res.group_version)
                        if etype == "DELETED":
                            state.pop(key, None)
                        else:
                            state[key] = obj
                        last = state.get(name) if name else list(state.values())
                        if predicate(last):
                            watcher.stop()
                            return last
                        if time.monotonic() >= deadline:
                            watcher.stop()
                            break
                except Exception as exc:  # noqa: BLE001
                    if _status(exc) == 410 or self.transient(exc):
                        if not (_status(exc) == 410):
                            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))  # backoff, not polling
                        break  # re-list from scratch
                    if _is_api_exception(exc):
                        raise map_api_error(exc, f"watch {label}", self.server) from exc
                    raise
                if time.monotonic() >= deadline:
                    raise KubetmError(f"timed out after {timeout:g}s waiting for {label}",
                                      hint=_state_hint(last), exit_code=EXIT_TIMEOUT)
                # The server closed the watch before our deadline: continue from rv.

    @staticmethod
    def _watch_events(res, watcher, **params):
        """The raw watch events of ``res`` (what DynamicClient.watch does, plus a read timeout)."""
        return watcher.stream(res.get, serialize=False, **params)

    # ------------------------------------------------------------------------- pods et al.
    def exec(self, pod: str, cmd: Sequence[str], container: str | None = None,
             namespace: str | None = None, timeout: float = 60, stdin: str | None = None) -> tuple[int, str, str]:
        """Run ``cmd`` in a pod through the exec stream API: (exit_code, stdout, stderr)."""
        from kubernetes import client
        from kubernetes.stream import stream

        ns = namespace or self.namespace
        what = f"exec in pod {ns}/{pod}"
        # stream() temporarily swaps the ApiClient's transport: give it a private client.
        core = client.CoreV1Api(client.ApiClient(self.configuration))

        def open_stream():
            return stream(core.connect_get_namespaced_pod_exec, pod, ns, command=list(cmd),
                          container=container, stderr=True, stdin=stdin is not None, stdout=True,
                          tty=False, _preload_content=False)

        resp = self.call(open_stream, what=what)
        out: list[str] = []
        err: list[str] = []
        deadline = time.monotonic() + timeout
        try:
            if stdin is not None:
                resp.write_stdin(stdin)
                resp.close_channel(0) if hasattr(resp, "close_channel") else None
            while resp.is_open():
                if time.monotonic() > deadline:
                    raise KubetmError(f"{what}: command {' '.join(cmd)!r} still running after {timeout:g}s",
                                      exit_code=EXIT_TIMEOUT)
                resp.update(timeout=1)  # blocks on the websocket until data arrives (<= 1 s)
                if resp.peek_stdout():
                    out.append(resp.read_stdout())
                if resp.peek_stderr():
                    err.append(resp.read_stderr())
            out.append(resp.read_stdout() or "")
            err.append(resp.read_stderr() or "")
            rc = resp.returncode
        finally:
            resp.close()
        return (rc if rc is not None else -1), "".join(out), "".join(err)

    def pod_logs(self, pod: str, namespace: str | None = None, container: str | None = None,
                 tail_lines: int | None = None, previous: bool = False) -> str:
        ns = namespace or self.namespace
        kwargs: dict[str, Any] = {"previous": previous}
        if container:
            kwargs["container"] = container
        if tail_lines is not None:
            kwargs["tail_lines"] = tail_lines
        return self.call(self.core.read_namespaced_pod_log, pod, ns, what=f"logs of pod {ns}/{pod}",
                         _request_timeout=REQUEST_TIMEOUT, **kwargs)

    def events(self, namespace: str | None = None, involved_name: str | None = None) -> list[dict]:
        """Core events (oldest first), optionally only those about one object name."""
        ns = namespace or self.namespace
        field = f"involvedObject.name={involved_name}" if involved_name else None
        items = self.list("Event", namespace=ns, field_selector=field)

        def when(e: dict) -> str:
            return str(e.get("lastTimestamp") or e.get("eventTime") or
                       (e.get("metadata") or {}).get("creationTimestamp") or "")

        return sorted(items, key=when)


@contextmanager
def cleanup_on_interrupt(kube, keep: bool = False, report: Callable[[str], None] | None = None,
                         timeout: float = 90):
    """Delete what the block *created* when it is interrupted (Ctrl-C, SIGTERM), unless ``keep``.

    Only objects the block created through ``kube.apply`` (action "created") are deleted, and
    waited for until gone; objects that existed before (configured/unchanged) are left alone.
    Errors (``Exception``) are not interruptions: objects stay so the user can look at them.
    ``report`` gets one line saying exactly what was deleted or kept; the interruption is
    re-raised (exit 130/143).

        with cleanup_on_interrupt(kube, keep=False, report=note):
            deploy.hello(kube)
    """
    mark = len(getattr(kube, "applied", ()))
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, Exception) or not hasattr(kube, "applied_since"):
            raise
        created = [r for r in kube.applied_since(mark) if r.action == "created"]
        say = report or (lambda _line: None)
        names = ", ".join(f"{r.kind.lower()}/{r.namespace + '/' if r.namespace else ''}{r.name}" for r in created)
        if not created:
            say("interrupted before anything was created: nothing to clean up")
        elif keep:
            say(f"interrupted: kept the {len(created)} object(s) it created (--keep): {names}")
        else:
            objs = [{"apiVersion": r.api_version, "kind": r.kind,
                     "metadata": {"name": r.name, **({"namespace": r.namespace} if r.namespace else {})}}
                    for r in reversed(created)]
            try:
                kube.delete(objs, wait=True, timeout=timeout, propagation="Background",
                            description=f"interrupted: deleting the {len(created)} object(s) it created")
                say(f"interrupted: deleted the {len(created)} object(s) it created: {names}")
            except KubetmError as e:
                say(f"interrupted: could not delete {names}: {e.message}")
        raise


# --------------------------------------------------------------------------------- helpers

def _looks_like_api_version(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"(?:[a-z0-9.-]+/)?v\d+(?:(?:alpha|beta)\d+)?", value or ""))


def _selector(selector: str | dict | None) -> str | None:
    if selector is None or selector == "":
        return None
    if isinstance(selector, dict):
        return ",".join(f"{k}={v}" for k, v in selector.items())
    return selector


def _with_label(obj: dict) -> dict:
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        what = f"{obj.get('kind', '?')} object" if isinstance(obj, dict) else type(obj).__name__
        raise KubetmError(f"cannot apply a {what} without metadata: not a Kubernetes object")
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)  # never send a stale resourceVersion with apply
    labels = dict(meta.get("labels") or {})
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    meta["labels"] = labels
    return {**obj, "metadata": meta}


def _state_hint(last: Any) -> str | None:
    """Short description of the last observed state, for timeout messages."""
    if last is None:
        return "the object does not exist"
    if isinstance(last, list):
        return f"{len(last)} matching object(s)"
    status = last.get("status") or {}
    reasons = []
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reasons.append(f"{cs.get('name')}: {waiting['reason']}")
    if reasons:
        return "last state: " + ", ".join(reasons)
    conds = [f"{c.get('type')}={c.get('status')}" for c in status.get("conditions") or []]
    if status.get("phase"):
        conds.insert(0, f"phase={status['phase']}")
    return ("last state: " + ", ".join(conds)) if conds else None
