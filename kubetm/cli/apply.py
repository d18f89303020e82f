"""`kubetm apply -f` and `kubetm delete` (-f, KIND/NAME, or a bundle name like `hello`)."""

from __future__ import annotations

from typing import Optional

import typer

from kubetm.cli.common import OutputOpt, lines, on_interrupt, show, state
from kubetm.errors import EXIT_USAGE, KubetmError


def apply(
    ctx: typer.Context,
    filename: str = typer.Option(
        ..., "-f", "--filename", help="Manifest file or folder (*.yaml, *.yml)."
    ),
    output: str = OutputOpt,
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="Take over fields owned by other managers."
    ),
) -> None:
    """Server-side apply manifests (field manager kubetm).

    Like `kubectl apply`, an interrupted apply (Ctrl-C/SIGTERM) is NOT rolled back: objects
    already written stay (re-running converges; `kubetm delete -f` removes them) and one stderr
    line names exactly which ones were written. Nothing is written when any object is refused:
    every object is dry-run on the server first.
    """
    from kubetm import manifests
    from kubetm.output import check_output

    check_output(output)
    st = state(ctx)
    objs = manifests.load(filename, registry=st.registry)  # validated before the first API call
    st.dry_run_first = True  # refuse everything before writing anything
    kube = st.kube
    mark = len(getattr(kube, "applied", ()))

    def kept() -> str:
        done = kube.applied_since(mark) if hasattr(kube, "applied_since") else []
        return (
            f"interrupted: kept {len(done)} of {len(objs)} object(s) already applied (apply is not rolled "
            f"back, like kubectl apply; `kubetm delete -f {filename}` removes them)"
            + (": " + ", ".join(str(r) for r in done) if done else "")
        )

    from kubetm.output import spinner

    with on_interrupt(kept), spinner() as say:
        results = kube.apply(
            objs, namespace=st.namespace, force_conflicts=force_conflicts, progress=say
        )
    show(results, output, text=lines)


def delete(
    ctx: typer.Context,
    target: Optional[str] = typer.Argument(
        None, metavar="[NAME|KIND/NAME]", help="'hello' (what `deploy hello` created) or KIND/NAME."
    ),
    filename: Optional[str] = typer.Option(
        None, "-f", "--filename", help="Delete the objects of a manifest file or folder."
    ),
    no_wait: bool = typer.Option(
        False, "--no-wait", help="Do not wait until the objects are gone."
    ),
    output: str = OutputOpt,
) -> None:
    """Delete objects (foreground propagation) and wait until they are gone."""
    from kubetm.output import check_output

    check_output(output)
    st = state(ctx)
    if bool(target) == bool(filename):
        raise KubetmError(
            "give either -f PATH or a NAME/KIND/NAME",
            hint="e.g. `kubetm delete hello`",
            exit_code=EXIT_USAGE,
        )
    from kubetm.output import spinner

    if filename:
        from kubetm import manifests

        objs = manifests.load(filename, registry=st.registry)
        with spinner() as say:
            results = st.kube.delete(objs, namespace=st.namespace, wait=not no_wait, progress=say)
    elif target and "/" in target:
        with spinner() as say:
            results = st.kube.delete(target, namespace=st.namespace, wait=not no_wait, progress=say)
    else:
        from kubetm import deploy

        if target not in deploy.BUNDLES:
            raise KubetmError(
                f"unknown name {target!r}",
                hint=f"expected {' or '.join(deploy.BUNDLES)} or KIND/NAME",
                exit_code=EXIT_USAGE,
            )
        results = deploy.BUNDLES[target](st.kube, wait=not no_wait)
    show(results, output, text=lines)
