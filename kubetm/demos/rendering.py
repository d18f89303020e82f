"""Human text for demo results: one run, a comparison, the demo list, the live view's pods line.

print(render_run(summary))
"""

from __future__ import annotations

from typing import cast

from kubetm.demos.objects import APP_IMAGE, image_tag

__all__ = ["render_run", "render_compare", "render_list", "replicaset_line"]


def render_list(rows: list[dict]) -> str:
    from kubetm.text import table

    return table(
        [(r["name"], r["namespace"], r["node_port"] or "-", r["lesson"]) for r in rows],
        ["demo", "namespace", "nodeport", "lesson"],
    )


def replicaset_line(replicasets: list[dict]) -> str:
    """``pods: app-7d9c4 v1 2/2 ready · app-5f4b8 v2 1/1 ready`` (ReplicaSets with pods, oldest first)."""
    parts = []
    for rs in sorted(replicasets, key=lambda r: r["metadata"].get("creationTimestamp") or ""):
        spec, st = rs.get("spec") or {}, rs.get("status") or {}
        want, have, ready = (
            spec.get("replicas", 0),
            st.get("replicas", 0),
            st.get("readyReplicas", 0),
        )
        if not (want or have):
            continue
        images = [
            c.get("image", "")
            for c in spec.get("template", {}).get("spec", {}).get("containers") or []
        ]
        tag = next((image_tag(i) for i in images if APP_IMAGE in i), None) or "?"
        parts.append(f"{rs['metadata']['name']} {tag} {ready}/{want} ready")
    return "pods: " + (" · ".join(parts) if parts else "none")


def _headline(run: dict) -> str:
    return (
        f"{run['strategy']}: {run['requests']} requests, {run['failures']} failed, downtime "
        f"{run['downtime_ms'] / 1000:.2f}s, overlap {run['overlap_ms'] / 1000:.2f}s, rollout "
        f"{run['rollout_seconds']:.1f}s ({run.get('from', '?')} -> {run.get('to', '?')}, "
        f"{run.get('replicas', '?')} replicas, {run.get('rate', 0):g} req/s)"
    )


def render_run(run: dict) -> str:
    from kubetm.demos.timeline import Summary, render_table

    # ``run`` is a timeline Summary plus the demo's own keys (from, to, lesson, plot, ...).
    lines = [
        _headline(run),
        "",
        render_table([cast(Summary, run)]),
        "",
        f"lesson: {run.get('lesson', '')}",
    ]
    if run.get("plot"):
        lines.append(f"plot: {run['plot']}")
    return "\n".join(lines)


def render_compare(result: dict) -> str:
    from kubetm.demos.timeline import render_table

    runs = result["runs"]
    lines = [render_table(runs), ""] + [f"{r['strategy']}: {r.get('lesson', '')}" for r in runs]
    if result.get("plot"):
        lines.append(f"plot: {result['plot']}")
    return "\n".join(lines)
