"""Deployment strategy demos: traffic prober, timeline summary, live view and plot.

- strategies.py the catalogue: one `Strategy` per demo (recreate, rolling-update, blue-green), each
                with its objects (manifests/demo/<strategy>.yaml + knobs) and its own update step
- options.py    `validate_options` / `validate_plot`: every knob checked before any API call
- objects.py    pure transforms of the demo objects (image tag, replicas, Service selector)
- runner.py     `run_demo`: one run, the same for every strategy (setup, prober, the strategy's
                update in a worker thread, live view, timeline summary, clean-up); `delete_demo`
- rendering.py  human text: a run, a comparison, the demo list
- rollout.py    `kubetm rollout status|history|undo` with kubectl's semantics, through the API
- prober.py     `Prober`: open-loop GET traffic in background threads -> `Sample`s
- timeline.py   `summarize()`: samples -> summary dict (downtime, overlap, ...); `render_table()`
- live.py       `LiveView`: rich live panel fed with samples while a rollout runs
- plot.py       `plot_runs()`: version served against time, one subplot per run (matplotlib)

The CLI calls `list_demos`, `run`, `compare`, `delete` below.

    summary = run(kube, "rolling-update", registry="localhost:5001", rate=40)
    both = compare(kube, registry="localhost:5001", plot="strategies.png")   # {"runs": [...]}

Keep this module free of imports at top level: `kubetm --help` must stay fast.
"""

COMPARED = ("recreate", "rolling-update")


def list_demos() -> list[dict]:
    """The demos: name, namespace, NodePort, lesson (and `compare`)."""
    from kubetm.demos.strategies import STRATEGIES

    rows = [
        {"name": s.name, "namespace": s.namespace, "node_port": s.node_port, "lesson": s.lesson}
        for s in STRATEGIES.values()
    ]
    rows.append(
        {
            "name": "compare",
            "namespace": ", ".join(STRATEGIES[n].namespace for n in COMPARED),
            "node_port": None,
            "lesson": "recreate and rolling-update back to back, side by side",
        }
    )
    return rows


def render_list(rows: list[dict]) -> str:
    from kubetm.demos.rendering import render_list as render

    return render(rows)


def run(
    kube,
    strategy: str,
    *,
    registry: str,
    keep: bool = False,
    plot: str | None = None,
    observer=None,
    wait_lock: bool = False,
    **options,
) -> dict:
    """Run one strategy demo; ``options`` are the knobs of `options.validate_options` (replicas,
    from_tag, to_tag, max_surge, max_unavailable, min_ready_seconds, rate, duration).

    Everything is validated before the first API call. Returns the summary dict (strategy,
    requests, failures, downtime_ms, overlap_ms, first_new_ms, last_old_ms, rollout_seconds,
    ..., timeline). ``observer``: the live web page (see runner.run_demo).
    """
    from kubetm.demos import runner
    from kubetm.demos.options import validate_options, validate_plot
    from kubetm.demos.strategies import strategy_of

    s = strategy_of(strategy)
    opts = validate_options(s.name, **options)
    plot = validate_plot(plot)
    watch = {"observer": observer} if observer is not None else {}  # --web only
    summary = runner.run_demo(
        kube, s.name, opts, registry=registry, keep=keep, wait_lock=wait_lock, **watch
    )
    if plot:
        from kubetm.demos.plot import plot_runs

        summary = {**summary, "plot": str(plot_runs([summary], plot))}
    return summary


def compare(
    kube,
    *,
    registry: str,
    keep: bool = False,
    plot: str | None = None,
    observer=None,
    wait_lock: bool = False,
    **options,
) -> dict:
    """recreate, then rolling-update, with the same knobs; ``{"runs": [recreate, rolling-update]}``.

    --max-surge / --max-unavailable apply to the rolling-update run only.
    """
    from kubetm.demos import runner
    from kubetm.demos.options import validate_options, validate_plot

    rolling_only = {k: options.pop(k) for k in ("max_surge", "max_unavailable") if k in options}
    per_run = {
        "recreate": validate_options("recreate", **options),
        "rolling-update": validate_options("rolling-update", **options, **rolling_only),
    }
    plot = validate_plot(plot)
    watch = {"observer": observer} if observer is not None else {}  # --web only
    runs: list[dict] = []
    for name, opts in per_run.items():
        try:
            runs.append(
                runner.run_demo(
                    kube, name, opts, registry=registry, keep=keep, wait_lock=wait_lock, **watch
                )
            )
        except BaseException as exc:  # `-o json` on failure: the runs so far and this one's part
            part = getattr(exc, "partial", None)
            try:
                exc.partial = {"runs": runs + ([part] if part else [])}  # type: ignore[attr-defined]
            except AttributeError:  # pragma: no cover
                pass
            raise
    result: dict = {"runs": runs}
    if plot:
        from kubetm.demos.plot import plot_runs

        result["plot"] = str(plot_runs(runs, plot))
    return result


def delete(kube, strategy: str, wait_lock: bool = False, force: bool = False) -> dict:
    """Delete a demo's namespace (``compare``: both of its namespaces); refused while a run
    holds the demo's run lock unless ``wait_lock`` (wait for it) or ``force``."""
    from kubetm.demos.runner import delete_demo

    if strategy.strip().lower() == "compare":
        return {"deleted": [delete_demo(kube, name, wait_lock, force) for name in COMPARED]}
    return delete_demo(kube, strategy, wait_lock, force)


def render(result: dict) -> str:
    """Human text for a `run` or `compare` result."""
    from kubetm.demos.rendering import render_compare, render_run

    return render_compare(result) if "runs" in result else render_run(result)
