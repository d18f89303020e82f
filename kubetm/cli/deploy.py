"""`kubetm deploy hello`: the course's first app, end to end."""

from __future__ import annotations

import typer

from kubetm.cli.common import OutputOpt, show, state
from kubetm.errors import EXIT_USAGE, KubetmError


def deploy(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., metavar="hello", help="What to deploy: hello (the course's first app)."
    ),
    output: str = OutputOpt,
    timeout: float = typer.Option(
        180, "--timeout", help="Seconds to wait for the pod to be Ready."
    ),
    keep: bool = typer.Option(
        False, "--keep", help="On Ctrl-C/SIGTERM keep what was created (default: delete it)."
    ),
) -> None:
    """Deploy the course's hello app, wait until Ready, GET it through NodePort 30000.

    Interrupted (Ctrl-C/SIGTERM) while applying or waiting, it deletes the objects THIS run
    created (not ones that existed before) and says so, unless --keep. A failure (timeout,
    image pull error) keeps them so they can be inspected; `kubetm delete hello` removes them.
    """
    from kubetm.output import check_output

    check_output(output)
    if name != "hello":
        raise KubetmError(
            f"unknown app {name!r}", hint="only `kubetm deploy hello` exists", exit_code=EXIT_USAGE
        )
    if not timeout > 0:
        raise KubetmError(
            f"--timeout must be a positive number of seconds, got {timeout:g}", exit_code=EXIT_USAGE
        )
    from kubetm import deploy as app
    from kubetm.k8s import cleanup_on_interrupt
    from kubetm.output import note, spinner

    st = state(ctx)
    with cleanup_on_interrupt(st.kube, keep=keep, report=note), spinner() as say:
        result = app.hello(st.kube, registry=st.registry, timeout=timeout, progress=say)
    show(result, output, text=_hello_text)


def _hello_text(r: dict) -> str:
    applied = [f"{a['kind'].lower()}/{a['name']} {a['action']}" for a in r.get("applied", [])]
    return "\n".join(
        applied
        + [f"pod {r['pod']} Ready on node {r['node']}", f"GET {r['url']}", r["body"].rstrip()]
    )
