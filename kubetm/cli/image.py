"""`kubetm image build|push|load|run|list` -> kubetm/images.py."""

from __future__ import annotations

from typing import Optional

import typer

from kubetm.cli import complete
from kubetm.cli.common import OutputOpt, new_app, show, state

app = new_app("Build, push, load and run the course images.")

ImagesArg = typer.Argument(
    None, help="Image names (default: all course images).", autocompletion=complete.images
)
TagOpt = typer.Option(None, "--tag", help="Only this tag (default: every tag of the image).")


@app.command("build")
def build(
    names: Optional[list[str]] = ImagesArg,
    tag: Optional[str] = TagOpt,
    offline: Optional[bool] = typer.Option(None, "--offline/--online"),
    output: str = OutputOpt,
) -> None:
    """Build the course images with docker."""
    from kubetm import images

    show(images.build(list(names or []), tag, offline=offline), output, text=images.render_build)


@app.command("push")
def push(
    ctx: typer.Context,
    names: Optional[list[str]] = ImagesArg,
    tag: Optional[str] = TagOpt,
    output: str = OutputOpt,
) -> None:
    """Push the course images to the registry (--registry, default localhost:5001)."""
    from kubetm import images

    show(
        images.push(list(names or []), state(ctx).registry, tag=tag),
        output,
        text=images.render_push,
    )


@app.command("load")
def load(
    names: Optional[list[str]] = ImagesArg,
    cluster: str = typer.Option("kubetm", "--cluster"),
    tag: Optional[str] = TagOpt,
    output: str = OutputOpt,
) -> None:
    """Load the course images into the kind nodes (no registry needed)."""
    from kubetm import images

    show(images.load(list(names or []), cluster, tag=tag), output, text=images.render_load)


@app.command("run")
def run(
    name: str = typer.Argument("hello", autocompletion=complete.servers),
    port: int = typer.Option(8100, "--port", min=1, max=65535),
    tag: Optional[str] = TagOpt,
    output: str = OutputOpt,
) -> None:
    """Run a course image locally with docker and GET it."""
    from kubetm import images

    show(images.run(name, port=port, tag=tag), output, text=images.render_run)


@app.command("list")
def list_(ctx: typer.Context, output: str = OutputOpt) -> None:
    """List the course images (local and in the registry)."""
    from kubetm import images

    show(images.list_images(state(ctx).registry), output, text=images.render_list)
