"""Kubeconfig: which files, which contexts, and a client Configuration for one context.

The library's loader (``kubernetes.config.load_kube_config``, which merges the KUBECONFIG list
itself) builds the Configuration. Before it runs, the files are read once more with safe YAML
here, for what the library does not say well: a broken file named with its line, an unknown
context listed with the valid ones, a cluster without a server URL. ``contexts()`` uses only this
light read, so listing contexts never imports ``kubernetes``.

Example:
    cfg = read_kubeconfig(None)            # $KUBECONFIG or ~/.kube/config, merged
    conf, context, namespace = load_configuration(None, "kind-kubetm")
"""

from __future__ import annotations

import os
from typing import Any

from kubetm.errors import Invalid, KubetmError, NotFound

__all__ = ["kubeconfig_paths", "read_kubeconfig", "contexts", "load_configuration"]


def kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    raw = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    return [os.path.expanduser(p) for p in raw.split(os.pathsep) if p]


def read_kubeconfig(kubeconfig: str | None) -> dict:
    """Contexts, clusters and current-context of the merged kubeconfig files (first one wins,
    as kubectl and the library merge them)."""
    import yaml

    paths = kubeconfig_paths(kubeconfig)
    existing = [p for p in paths if os.path.isfile(p)]
    if not existing:
        raise NotFound(
            f"no kubeconfig found at {os.pathsep.join(paths)}",
            hint="create a cluster with `kubetm cluster up` or pass --kubeconfig",
        )
    merged: dict = {"contexts": [], "clusters": {}, "current-context": None}
    for p in existing:
        try:
            with open(p, "rb") as f:
                data = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            problem = getattr(e, "problem", None) or getattr(e, "strerror", None) or str(e)
            mark = getattr(e, "problem_mark", None)
            where = f"{p}:{mark.line + 1}" if mark else p
            raise Invalid(f"broken kubeconfig {where}: {problem}") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise Invalid(f"broken kubeconfig {p}: expected a mapping")
        for c in data.get("contexts") or []:
            if isinstance(c, dict) and c.get("name") not in {
                x.get("name") for x in merged["contexts"]
            }:
                merged["contexts"].append(c)
        for c in data.get("clusters") or []:
            if isinstance(c, dict) and isinstance(c.get("name"), str):
                merged["clusters"].setdefault(
                    c["name"], c.get("cluster") if isinstance(c.get("cluster"), dict) else {}
                )
        if not merged["current-context"] and data.get("current-context"):
            merged["current-context"] = data["current-context"]
    return merged


def contexts(kubeconfig: str | None) -> tuple[list[str], str | None]:
    """(context names, current context) of the kubeconfig."""
    cfg = read_kubeconfig(kubeconfig)
    names = [
        str(c["name"]) for c in cfg.get("contexts") or [] if isinstance(c, dict) and c.get("name")
    ]
    return names, cfg.get("current-context") or None


def load_configuration(kubeconfig: str | None, context: str | None) -> tuple[Any, str, str | None]:
    """(kubernetes Configuration, the context used, that context's namespace or None)."""
    cfg = read_kubeconfig(kubeconfig)
    names = [c.get("name") for c in cfg["contexts"] if c.get("name")]
    wanted = context or cfg.get("current-context")
    valid = ", ".join(names) if names else "none"
    if not wanted:
        raise KubetmError(
            "the kubeconfig has no current context", hint=f"pass --context; valid contexts: {valid}"
        )
    if wanted not in names:
        raise NotFound(
            f"context {wanted!r} not found in kubeconfig", hint=f"valid contexts: {valid}"
        )
    entry = next(c for c in cfg["contexts"] if c.get("name") == wanted)
    namespace = ((entry.get("context") or {}).get("namespace")) or None
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=os.pathsep.join(kubeconfig_paths(kubeconfig)),
            context=wanted,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, ValueError, KeyError, TypeError, OSError) as e:
        raise Invalid(
            f"broken kubeconfig for context {wanted!r}: {' '.join(str(e).split())}"
        ) from None
    from urllib.parse import urlsplit

    url = urlsplit(configuration.host or "")
    declared = (cfg.get("clusters") or {}).get((entry.get("context") or {}).get("cluster")) or {}
    if url.scheme not in ("http", "https") or not url.hostname or not declared.get("server"):
        raise Invalid(
            f"broken kubeconfig for context {wanted!r}: its cluster has no server URL",
            hint="expected clusters[].cluster.server like https://127.0.0.1:6443",
        )
    # urllib3 must not retry on its own: Kube.call is the one retry place.
    configuration.retries = False
    return configuration, wanted, namespace
