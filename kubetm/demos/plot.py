"""Plot: which version answered, against time, one subplot per run on a shared time axis.

    plot_runs([recreate_summary, rolling_summary], "strategies.png")

Runs are `kubetm.demos.timeline.summarize()` dicts (their timeline is relative to the update
start, so runs line up at 0). matplotlib is imported lazily, with the Agg canvas (no display).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kubetm.demos.timeline import failure_spans as _failure_spans
from kubetm.errors import KubetmError

COLORS = ("tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:cyan")
FORMATS = {".png": "png", ".svg": "svg"}


def plot_runs(runs: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Draw version served vs. time for each run (stacked, shared x axis) into a PNG or SVG.

    Rows: one per version (colored points) and a "failed" row (red x); dashed line = update start;
    shaded: red = no successful answer, yellow = old and new versions both answering.
    """
    out = Path(path)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise KubetmError(
            f"cannot plot to {out.name}: unknown format", hint="use a .png or .svg file name"
        )
    if not runs:
        raise KubetmError("nothing to plot: no runs")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as exc:
        raise KubetmError("plotting needs matplotlib", hint="pip install 'kubetm[plot]'") from exc

    versions: dict[str, None] = {}
    for run in runs:
        for p in run["timeline"]:
            if p["ok"] and p["version"] is not None:
                versions.setdefault(p["version"], None)
    rows = {v: i + 1 for i, v in enumerate(versions)}  # row 0 is "failed"
    colors = {v: COLORS[i % len(COLORS)] for i, v in enumerate(versions)}

    fig = Figure(figsize=(10, 1.0 + 1.7 * len(runs)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(runs), 1, sharex=True, squeeze=False)[:, 0]
    for ax, run in zip(axes, runs):
        tl = run["timeline"]
        for start, end in _failure_spans(tl):
            ax.axvspan(start / 1000, end / 1000, color="tab:red", alpha=0.12, lw=0)
        if (
            run.get("overlap_ms")
            and run.get("first_new_ms") is not None
            and run.get("last_old_ms") is not None
        ):
            ax.axvspan(
                run["first_new_ms"] / 1000,
                run["last_old_ms"] / 1000,
                color="gold",
                alpha=0.25,
                lw=0,
            )
        for v in versions:
            xs = [p["t_ms"] / 1000 for p in tl if p["ok"] and p["version"] == v]
            ax.scatter(xs, [rows[v]] * len(xs), s=30, marker="|", color=colors[v], label=v)
        fails = [p["t_ms"] / 1000 for p in tl if not p["ok"]]
        ax.scatter(
            fails,
            [0] * len(fails),
            s=18,
            marker="x",
            color="tab:red",
            linewidths=1.0,
            label="failed",
        )
        ax.axvline(0, color="0.3", ls="--", lw=1)
        ax.set_yticks(range(len(rows) + 1), ["failed", *rows])
        ax.set_ylim(-0.6, len(rows) + 0.6)
        ax.grid(axis="x", alpha=0.3)
        title = (
            f"{run.get('strategy', '?')}: {run.get('requests', len(tl))} requests, "
            f"{run.get('failures', len(fails))} failed, downtime {run.get('downtime_ms', 0) / 1000:.2f}s, "
            f"overlap {run.get('overlap_ms', 0) / 1000:.2f}s"
        )
        ax.set_title(title, loc="left", fontsize=10)
    axes[0].annotate(
        "update start",
        xy=(0, 1),
        xycoords=("data", "axes fraction"),
        xytext=(3, -10),
        textcoords="offset points",
        fontsize=8,
        color="0.3",
    )
    axes[-1].set_xlabel("seconds since update start")
    shading = [
        Patch(color="tab:red", alpha=0.12, label="no successful answer"),
        Patch(color="gold", alpha=0.25, label="old and new both answer"),
    ]
    fig.legend(handles=shading, loc="outside upper right", ncols=2, fontsize=8, frameon=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=fmt, dpi=120)
    return out
