"""`kubetm rollout status|history|undo` -> kubetm/demos/rollout.py (kubectl's semantics)."""

from __future__ import annotations

from typing import Optional

import typer

from kubetm.cli.common import OutputOpt, new_app, show, state

app = new_app("Rollout status, history and undo for Deployments.")


@app.command("status")
def status(
    ctx: typer.Context,
    deployment: str = typer.Argument(...),
    timeout: float = typer.Option(180, "--timeout"),
    output: str = OutputOpt,
) -> None:
    """Wait until a Deployment's rollout finished."""
    from kubetm.demos import rollout
    from kubetm.output import spinner

    with spinner() as say:
        result = rollout.status(state(ctx).kube, deployment, timeout=timeout, progress=say)
    show(result, output, text=rollout.render_status)


@app.command("history")
def history(
    ctx: typer.Context, deployment: str = typer.Argument(...), output: str = OutputOpt
) -> None:
    """Show a Deployment's revisions (its ReplicaSets), like kubectl rollout history."""
    from kubetm.demos import rollout

    show(rollout.history(state(ctx).kube, deployment), output, text=rollout.render_history)


@app.command("undo")
def undo(
    ctx: typer.Context,
    deployment: str = typer.Argument(...),
    to_revision: Optional[int] = typer.Option(
        None, "--to-revision", help="Revision to go back to (default: the previous one)."
    ),
    output: str = OutputOpt,
) -> None:
    """Roll a Deployment back (to the previous or a given revision), like kubectl rollout undo."""
    from kubetm.demos import rollout

    show(
        rollout.undo(state(ctx).kube, deployment, to_revision=to_revision),
        output,
        text=rollout.render_undo,
    )
