"""`kubetm cluster up|down|status` -> kubetm/cluster.py."""

from __future__ import annotations

from typing import Optional

import typer

from kubetm.cli.common import OutputOpt, new_app, show

app = new_app("Create, delete and inspect the local kind cluster.")


@app.command("up")
def up(
    name: str = typer.Option("kubetm", "--name", help="kind cluster name."),
    offline: Optional[bool] = typer.Option(
        None,
        "--offline/--online",
        help="Force the offline (hack/offline) or online node image (default: auto).",
    ),
    recreate: bool = typer.Option(
        False, "--recreate", help="Delete and recreate an existing cluster."
    ),
    output: str = OutputOpt,
) -> None:
    """Create (or reuse) the kind cluster and the local registry."""
    from kubetm import cluster
    from kubetm.output import check_output, note

    check_output(output)
    show(
        cluster.up(name, offline=offline, recreate=recreate, progress=note),
        output,
        text=cluster.render,
    )


@app.command("down")
def down(
    name: str = typer.Option("kubetm", "--name"),
    registry_too: bool = typer.Option(False, "--registry", help="Remove the local registry too."),
    output: str = OutputOpt,
) -> None:
    """Delete the kind cluster."""
    from kubetm import cluster

    show(cluster.down(name, registry_too=registry_too), output, text=cluster.render)


@app.command("status")
def status(name: str = typer.Option("kubetm", "--name"), output: str = OutputOpt) -> None:
    """Show cluster, nodes and registry status."""
    from kubetm import cluster

    show(cluster.status(name), output, text=cluster.render)
