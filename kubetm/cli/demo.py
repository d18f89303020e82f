"""`kubetm demo list|recreate|rolling-update|blue-green|compare|run|view|delete` -> kubetm/demos/
(and kubetm/web/ for --web and `view`).

The demo knobs (--replicas, --from, --to, ...) are defined once, in KNOBS, and added to every
command that runs a demo by `with_knobs`, together with the live page's options (common.WEB_OPTIONS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import typer

from kubetm.cli import complete
from kubetm.cli.common import (
    WEB_OPTIONS,
    OutputOpt,
    dict_text,
    interrupt_keeps_partial,
    live_page,
    new_app,
    show,
    state,
    with_options,
)

app = new_app("Deployment strategy demos (recreate, rolling-update, blue-green).")

# (parameter name, type, option): the knobs of kubetm.demos.run / compare, in help order.
KNOBS: tuple[tuple[str, Any, Any], ...] = (
    (
        "replicas",
        Optional[int],
        typer.Option(None, "--replicas", help="Pods of the Deployment (default 2)."),
    ),
    (
        "from_tag",
        Optional[str],
        typer.Option(None, "--from", help="Image tag before the update (default v1)."),
    ),
    (
        "to_tag",
        Optional[str],
        typer.Option(None, "--to", help="Image tag after the update (default v2)."),
    ),
    (
        "max_surge",
        Optional[str],
        typer.Option(
            None, "--max-surge", help="rolling-update: extra pods allowed, N or N% (default 1)."
        ),
    ),
    (
        "max_unavailable",
        Optional[str],
        typer.Option(
            None,
            "--max-unavailable",
            help="rolling-update: pods that may be missing, N or N% (default 0).",
        ),
    ),
    (
        "min_ready_seconds",
        Optional[int],
        typer.Option(
            None,
            "--min-ready-seconds",
            help="Seconds a new pod must be Ready to count as available (default 10).",
        ),
    ),
    (
        "rate",
        Optional[float],
        typer.Option(None, "--rate", help="Prober requests per second (default 20)."),
    ),
    (
        "duration",
        Optional[float],
        typer.Option(
            None,
            "--duration",
            help="Seconds to keep probing after the rollout finished (default 2).",
        ),
    ),
    ("keep", bool, typer.Option(False, "--keep", help="Keep the demo's namespace and objects.")),
    (
        "wait_lock",
        bool,
        typer.Option(
            False,
            "--wait-lock",
            help="Another run of this demo holds its lock: wait for it (default: refuse at once).",
        ),
    ),
    (
        "plot",
        Optional[str],
        typer.Option(None, "--plot", help="Write a timeline plot here (.png or .svg)."),
    ),
    ("output", str, OutputOpt),
)

# The demos a command exists for (`kubetm demo NAME`), and the command's help.
COMMANDS = (
    ("recreate", "Recreate v1 -> v2 under traffic: downtime, no overlap (NodePort 30003)."),
    (
        "rolling-update",
        "RollingUpdate v1 -> v2 under traffic: no failures, overlap (NodePort 30004).",
    ),
    (
        "blue-green",
        "Blue/Green: switch the Service selector v1 -> v2: no failures, no overlap (NodePort 30005).",
    ),
    (
        "compare",
        'recreate and rolling-update back to back, side by side (-o json: {"runs": [...]}).',
    ),
)


def with_knobs(fn: Callable[..., None]) -> Callable[..., None]:
    """``fn(ctx, [strategy,] **knobs)`` as a Typer command whose options are KNOBS + WEB_OPTIONS."""
    return with_options(*KNOBS, *WEB_OPTIONS)(fn)


def _run(
    ctx: typer.Context,
    strategy: str,
    *,
    keep: bool,
    plot: Optional[str],
    output: str,
    wait_lock: bool = False,
    web: bool = False,
    port: Optional[int] = None,
    no_browser: bool = False,
    **knobs: Any,
) -> None:
    from kubetm import demos
    from kubetm.output import check_output

    check_output(output)
    st = state(ctx)
    options = {k: v for k, v in knobs.items() if v is not None}

    def body(page: Any = None) -> dict:
        observer = page.demo_observer() if page is not None else None
        if strategy == "compare":
            return demos.compare(
                st.kube,
                registry=st.registry,
                keep=keep,
                plot=plot,
                observer=observer,
                wait_lock=wait_lock,
                **options,
            )
        return demos.run(
            st.kube,
            strategy,
            registry=st.registry,
            keep=keep,
            plot=plot,
            observer=observer,
            wait_lock=wait_lock,
            **options,
        )

    if web:
        from kubetm.demos.strategies import strategy_of
        from kubetm.web.server import check_port

        check_port(port)
        if strategy != "compare":
            strategy_of(strategy)  # unknown demo: exit 2 before serving
        with interrupt_keeps_partial():
            result = live_page(body, port, no_browser, kind="demo", title=strategy)
    else:
        with interrupt_keeps_partial():
            result = body()
    show(result, output, text=demos.render)


@app.command("list")
def list_(output: str = OutputOpt) -> None:
    """List the deployment strategy demos."""
    from kubetm import demos

    show(demos.list_demos(), output, text=demos.render_list)


def _named(strategy: str, doc: str) -> Callable[..., None]:
    def command(ctx: typer.Context, **knobs: Any) -> None:
        _run(ctx, strategy, **knobs)

    command.__doc__ = doc
    command.__name__ = f"demo_{strategy.replace('-', '_')}"
    return with_knobs(command)


for _name, _doc in COMMANDS:
    app.command(_name)(_named(_name, _doc))


@app.command("run")
@with_knobs
def run(
    ctx: typer.Context,
    strategy: str = typer.Argument(
        ...,
        help="recreate, rolling-update, blue-green or compare.",
        autocompletion=complete.demos,
    ),
    **knobs: Any,
) -> None:
    """Run a strategy demo by name (same as `kubetm demo STRATEGY`)."""
    _run(ctx, strategy.strip().lower(), **knobs)


@app.command("view")
@with_options(*WEB_OPTIONS[1:])
def view(
    run_json: str = typer.Argument(
        ...,
        metavar="RUN.json",
        help="A saved `kubetm demo ... -o json` (one run or compare).",
    ),
    output: str = OutputOpt,
    **live: Any,
) -> None:
    """Show a saved run in the browser, as the live page ended (serves until the page has it, or Ctrl-C)."""
    from kubetm import demos
    from kubetm.output import check_output
    from kubetm.web import load_run, replay_events
    from kubetm.web.server import check_port

    port, no_browser = live["port"], live["no_browser"]
    output = check_output(output)
    check_port(port)
    data = load_run(run_json)

    def body(page: Any) -> dict:
        for event in replay_events(data):
            page.publish(event)
        return data

    live_page(body, port, no_browser, kind="view", title=run_json, wait=None)
    show(data, output, text=demos.render)


@app.command("delete")
def delete(
    ctx: typer.Context,
    strategy: str = typer.Argument(..., autocompletion=complete.demos),
    wait_lock: bool = typer.Option(
        False, "--wait-lock", help="A run of the demo holds its lock: wait for it to finish."
    ),
    force: bool = typer.Option(
        False, "--force", help="Delete even while a run holds the demo's lock (a stuck run)."
    ),
    output: str = OutputOpt,
) -> None:
    """Delete a demo's namespace and objects (refused while a run of the demo holds its lock)."""
    from kubetm import demos

    show(
        demos.delete(state(ctx).kube, strategy, wait_lock=wait_lock, force=force),
        output,
        text=dict_text,
    )
