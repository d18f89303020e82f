"""`kubetm doctor` -> kubetm/cluster.py's doctor (the checks are kubetm/doctor.py)."""

from __future__ import annotations

import typer

from kubetm.cli.common import OutputOpt


def doctor(
    name: str = typer.Option("kubetm", "--name", help="kind cluster name (whose ports are ours)."),
    output: str = OutputOpt,
) -> None:
    """Check this machine for the kind cluster: engine, cgroups, inotify, disk, ports, versions."""
    from kubetm import cluster
    from kubetm import doctor as checks
    from kubetm.output import check_output, emit

    check_output(output)
    report = cluster.doctor(name)
    emit(report, output, text=checks.render)
    if not report["ok"]:
        raise typer.Exit(1)
