"""`kubetm lab list|show|apply|verify|delete|run` -> kubetm/labs/runner.py (`run --web`: kubetm/web/)."""

from __future__ import annotations

from typing import Any

import typer

from kubetm.cli import complete
from kubetm.cli.common import (
    WEB_OPTIONS,
    OutputOpt,
    interrupt_keeps_partial,
    lines,
    live_page,
    new_app,
    show,
    state,
    with_options,
)
from kubetm.errors import EXIT_CHECK_FAILED

app = new_app("Run the course labs (list, show, apply, verify, delete, run).")


def event_line(event: Any, lab: str, data: Any = None) -> str | None:
    """The stderr line for one lab event (kubetm/labs/events.py), or None for events not shown."""
    from kubetm.labs.events import LabEvent

    event = LabEvent(event)
    if event is LabEvent.CHECKED:
        return f"{lab}: {data.line()}" if hasattr(data, "line") else None
    if event in (LabEvent.APPLY, LabEvent.DELETE, LabEvent.CHECK):
        return f"{lab}: {event.value}{' ' + str(data) if data else ''}"
    if event in (LabEvent.ERROR, LabEvent.LOG):
        return f"{lab}: {data}"
    return None  # APPLIED, DELETED: the command prints the results itself


def _on_event(event: Any, lab: str, data: Any = None) -> None:
    from kubetm.output import note

    text = event_line(event, lab, data)
    if text is not None:
        note(text)


def _results(results, selection, output: str) -> None:
    from kubetm.labs import runner
    from kubetm.output import emit

    results = results if isinstance(results, list) else [results]
    emit(
        runner.as_json(results, selection) if output == "json" else results,
        output,
        text=lambda rs: "\n".join(line for r in rs for line in r.lines()),
    )
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command("list")
def list_(output: str = OutputOpt) -> None:
    """List the labs in course order."""
    from kubetm.labs import runner

    show(runner.list_labs(), output, text=runner.render_list)


@app.command("show")
def show_(
    lab: str = typer.Argument(..., autocompletion=complete.labs), output: str = OutputOpt
) -> None:
    """Show a lab: lesson, manifests, checks."""
    from kubetm.labs import runner

    show(runner.show(lab), output, text=runner.render_show)


@app.command("apply")
def apply(
    ctx: typer.Context,
    lab: str = typer.Argument(..., autocompletion=complete.labs),
    output: str = OutputOpt,
) -> None:
    """Apply a lab's manifests (server-side apply) in its namespace."""
    from kubetm.labs import runner

    st = state(ctx)
    show(
        runner.apply(st.kube, lab, registry_name=st.registry, on_event=_on_event),
        output,
        text=lines,
    )


@app.command("verify")
def verify(
    ctx: typer.Context,
    lab: str = typer.Argument(..., autocompletion=complete.labs),
    output: str = OutputOpt,
) -> None:
    """Run a lab's checks against the cluster (exit 4 when one fails)."""
    from kubetm.labs import runner
    from kubetm.output import check_output

    output = check_output(output)
    st = state(ctx)
    _results(
        runner.verify(st.kube, lab, registry_name=st.registry, on_event=_on_event), lab, output
    )


@app.command("delete")
def delete(
    ctx: typer.Context,
    lab: str = typer.Argument(..., autocompletion=complete.labs),
    wait_lock: bool = typer.Option(
        False, "--wait-lock", help="A run of the lab holds its lock: wait for it to finish."
    ),
    force: bool = typer.Option(
        False, "--force", help="Delete even while a run holds the lab's lock (a stuck run)."
    ),
    output: str = OutputOpt,
) -> None:
    """Delete everything a lab created and wait until it is gone (refused while a run of the lab
    holds its lock, naming the holder)."""
    from kubetm.labs import runner

    st = state(ctx)
    show(
        runner.delete(
            st.kube,
            lab,
            registry_name=st.registry,
            on_event=_on_event,
            wait_lock=wait_lock,
            force=force,
        ),
        output,
        text=lines,
    )


@app.command("run")
@with_options(*WEB_OPTIONS)
def run(
    ctx: typer.Context,
    labs: list[str] = typer.Argument(
        ..., help="Lab names, or 'all'.", autocompletion=complete.labs
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the lab's objects (also on failure)."),
    wait_lock: bool = typer.Option(
        False,
        "--wait-lock",
        help="Another run of a lab holds its lock: wait for it (default: refuse that lab at once).",
    ),
    jobs: int = typer.Option(
        6,  # = kubetm.labs.runner.DEFAULT_JOBS (a literal: the CLI imports the runner lazily)
        "--jobs",
        "-j",
        min=1,
        help=(
            "Labs run at once (default 6). Two labs whose declared shared resources intersect "
            "(`lab show`: NodePorts, node labels, a stopped node) never overlap; a lab that stops "
            "a node runs alone. The labs mostly wait on the cluster: 6 on a 2-core machine "
            "measured fastest with the timing lessons (CronJob ticks, HPA, probes) passing run "
            "after run; --jobs 1 runs them one by one."
        ),
    ),
    output: str = OutputOpt,
    **live: Any,
) -> None:
    """Apply, verify and delete labs (exit 4 when a check fails).

    Several labs run side by side (--jobs); `-o json` gives each lab's start and end
    (wall clock and seconds since the run began), so the overlap is visible."""
    from kubetm.labs import runner
    from kubetm.output import check_output

    output = check_output(output)
    st = state(ctx)
    selection: Any = labs[0] if len(labs) == 1 else list(labs)

    def run_labs(on_event: Any) -> Any:
        return runner.run(
            st.kube,
            selection,
            keep=keep,
            registry_name=st.registry,
            jobs=jobs,
            on_event=on_event,
            wait_lock=wait_lock,
        )

    if live["web"]:  # --web: the same run, its events also on a live page
        from kubetm.labs import catalog
        from kubetm.web.observe import lab_plan
        from kubetm.web.server import check_port

        port, no_browser = live["port"], live["no_browser"]
        check_port(port)
        plan = lab_plan(
            [lab.name for lab in catalog.resolve(selection)]
        )  # unknown lab: exit 2 first

        def body(page: Any) -> Any:
            page.publish({"type": "labs", "labs": plan})
            observer = page.lab_observer()

            def both(event: Any, lab: str, data: Any = None) -> None:
                _on_event(event, lab, data)
                observer(event, lab, data)

            return run_labs(both)

        with interrupt_keeps_partial():
            results = live_page(body, port, no_browser, kind="lab", title=" ".join(labs))
    else:
        with interrupt_keeps_partial():
            results = run_labs(_on_event)
    _results(results, selection, output)
