"""kubetm command line: the root Typer app, the global options, and `main()` — the one place
that turns what a command raised into what the user sees (one `error: ...` line and the exit
codes of kubetm/errors.py: 0/1/2/3/4, 130 on SIGINT, 143 on SIGTERM).

One module per command group; each command parses, calls ONE domain function, prints:

    apply.py    kubetm apply -f, kubetm delete        deploy.py   kubetm deploy hello
    cluster.py  kubetm cluster up|down|status         doctor.py   kubetm doctor
    image.py    kubetm image build|push|load|run|list
    lab.py      kubetm lab list|show|apply|verify|delete|run
    demo.py     kubetm demo ...                       rollout.py  kubetm rollout status|history|undo
    common.py   State (global options, the lazy client), -o, show()
    argv.py     global options accepted after the command too (kubectl habit)

Progress for humans goes to stderr (kubetm.output.note), never stdout (-o json stays clean).
Nothing heavy is imported at module level (`kubetm --help` stays fast); kubetm/__main__.py
answers `--help`, `lab list` and `demo list` without importing this package at all.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING, Optional, TypeGuard

import typer

from kubetm import __version__, helpcache
from kubetm.cli import apply, cluster, demo, deploy, doctor, image, lab, rollout
from kubetm.cli.common import SETTINGS, Interrupted, State
from kubetm.errors import EXIT_SIGINT, EXIT_SIGTERM, KubetmError, format_error

if TYPE_CHECKING:
    from typer._click.exceptions import ClickException

__all__ = ["app", "main", "render_help", "State"]

app = typer.Typer(
    name="kubetm",
    help="One command per lab of the course '대세는 쿠버네티스' on a local kind cluster.",
    **{**SETTINGS, "add_completion": True},  # --install-completion, --show-completion
)
app.command("apply")(apply.apply)
app.command("delete")(apply.delete)
app.command("deploy")(deploy.deploy)
app.command("doctor")(doctor.doctor)
app.add_typer(cluster.app, name="cluster")
app.add_typer(image.app, name="image")
app.add_typer(lab.app, name="lab")
app.add_typer(demo.app, name="demo")
app.add_typer(rollout.app, name="rollout")

_DEBUG = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kubetm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    kubeconfig: Optional[str] = typer.Option(
        None, "--kubeconfig", help="Path to the kubeconfig file ($KUBECONFIG, ~/.kube/config)."
    ),
    context: Optional[str] = typer.Option(
        None, "--context", help="Kubeconfig context (default: current context)."
    ),
    namespace: Optional[str] = typer.Option(
        None, "-n", "--namespace", help="Namespace (default: the context's, else default)."
    ),
    registry: Optional[str] = typer.Option(
        None,
        "--registry",
        envvar="KUBETM_REGISTRY",
        help="Registry replacing localhost:5001 in course images.",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    show_secrets: bool = typer.Option(
        False,
        "--show-secrets",
        help="Print Secret values (hidden everywhere by default, --debug too).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """kubetm: the beginner Kubernetes course, one command per lab."""
    global _DEBUG
    _DEBUG = debug
    if show_secrets:
        from kubetm.errors import show_secrets as _show_secrets

        _show_secrets(True)
    from kubetm import output, progress

    progress.install(note=output.note, step=output.progress)  # the display is the CLI's
    ctx.obj = State(kubeconfig, context, namespace, registry, debug)


# ---------------------------------------------------------------------------------- main()


class Terminated(BaseException):
    """Raised from the SIGTERM handler so `finally` blocks (cleanup) run before exit 143."""


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by e2e/signal tests
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one-line errors, exit codes 0/1/2/3/4/130/143."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not in the main thread (tests)
        pass
    _click_style_completion()
    debug = "--debug" in args or os.environ.get("KUBETM_DEBUG") == "1"
    if not debug:
        _quiet_library_warnings()
    if args in helpcache.HELP_ARGS:
        sys.stdout.write(render_help(cache=True))
        sys.stdout.flush()
        if argv is None:
            sys.exit(0)
        return 0
    code = 0
    from kubetm.output import json_written

    json_written(reset=True)
    try:
        from kubetm.cli.argv import hoist_global_options

        command = typer.main.get_command(app)
        rv = command.main(
            args=hoist_global_options(command, args), prog_name="kubetm", standalone_mode=False
        )
        code = rv if isinstance(rv, int) else 0
        if code == EXIT_SIGINT:  # Typer turns a KeyboardInterrupt into Exit(130)
            code = _interrupted(EXIT_SIGINT)
    except KubetmError as e:
        if debug or _DEBUG:
            _print_traceback()
        sys.stderr.write(format_error(e) + "\n")
        code = e.exit_code
        _failure_json(args, e, format_error(e, prefix=""), code)
    except (KeyboardInterrupt, typer.Abort, Interrupted) as e:
        code = _interrupted(EXIT_SIGINT)
        _failure_json(args, e, "interrupted", code)
    except Terminated as e:
        code = _interrupted(EXIT_SIGTERM)
        _failure_json(args, e, "terminated", code)
    except typer.Exit as e:
        code = e.exit_code
    except Exception as e:
        if _is_click_exception(e) and type(e).__name__ == "NoArgsIsHelpError":
            e.show()  # `kubetm lab`: the group's help, as asked
            code = e.exit_code
        elif _is_click_exception(e):
            sys.stderr.write(_usage_line(e) + "\n")  # one line, like every other error
            code = e.exit_code
        else:
            if debug or _DEBUG:
                _print_traceback()
                sys.stderr.write(format_error(e) + "\n")
            else:
                sys.stderr.write(format_error(e) + " (re-run with --debug for a traceback)\n")
            code = 1
            _failure_json(args, e, format_error(e, prefix=""), code)
    finally:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass
    if argv is None:
        sys.exit(code)
    return code


COMPLETE_VAR = "_KUBETM_COMPLETE"
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _click_style_completion() -> None:
    """Accept Click's completion instructions too (``bash_complete``, ``zsh_source``: shell first)
    beside Typer's (``complete_bash``): Typer reads only its own order."""
    value = os.environ.get(COMPLETE_VAR, "")
    shell, _, instruction = value.partition("_")
    if shell in SHELLS and instruction in ("complete", "source"):
        os.environ[COMPLETE_VAR] = f"{instruction}_{shell}"


def wants_json(args: list[str]) -> bool:
    """Did the command line ask for ``-o json`` (``-o json``, ``-ojson``, ``--output[=]json``)?"""
    for i, a in enumerate(args):
        if a == "--":
            return False
        value = None
        if a in ("-o", "--output") and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith("--output="):
            value = a.split("=", 1)[1]
        elif a.startswith("-o") and not a.startswith("--") and len(a) > 2:
            value = a[2:]
        if value is not None and value.lower() == "json":
            return True
    return False


def _failure_json(args: list[str], exc: BaseException, error: str, code: int) -> None:
    """`-o json` prints ONE document on failure too: ``ok: false``, the error line, the exit
    code and what the command measured so far (``exc.partial``: a demo's partial timeline, the
    labs' checks). Nothing when the command already printed its document."""
    if not wants_json(args):
        return
    from kubetm.output import emit, json_written

    if json_written():
        return
    partial = getattr(exc, "partial", None)
    doc: dict = {"ok": False, "error": error, "exit_code": code}
    if isinstance(partial, dict):
        doc.update({k: v for k, v in partial.items() if k not in doc})
    elif partial is not None:
        doc["results"] = partial
    try:
        emit(doc, "json")
    except (BrokenPipeError, OSError):
        pass


def _interrupted(code: int) -> int:
    """The one report of an interruption: "interrupted" (Ctrl-C, 130) or "terminated" (SIGTERM, 143)."""
    sys.stderr.write("\ninterrupted\n" if code == EXIT_SIGINT else "terminated\n")
    return code


def _quiet_library_warnings() -> None:
    """Library warnings (urllib3's FutureWarning/InsecureRequestWarning, deprecations) are
    multi-line noise for a user; errors stay one line. --debug shows them."""
    import warnings

    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")


def _print_traceback() -> None:
    """--debug: the traceback, with Secret values kubetm has seen replaced by <redacted>."""
    import traceback

    from kubetm.errors import redact

    sys.stderr.write(redact(traceback.format_exc()))


def render_help(cache: bool = False) -> str:
    """The top-level help text exactly as Typer prints it; optionally stored for kubetm.__main__."""
    command = typer.main.get_command(app)
    with command.make_context("kubetm", [], resilient_parsing=True) as ctx:
        text = command.get_help(ctx) + "\n"
    if cache:
        helpcache.write(text)
    return text


def _usage_line(e: ClickException) -> str:
    """A Click usage error as one line: ``error: <problem> (see `kubetm <command> -h`)``."""
    ctx = getattr(e, "ctx", None)
    path = getattr(ctx, "command_path", None)
    hint = f"see `{path} -h`" if path else None
    return format_error(KubetmError(e.format_message(), hint=hint))


def _is_click_exception(e: BaseException) -> TypeGuard[ClickException]:
    try:
        from typer._click.exceptions import ClickException  # typer >= 0.22 vendors click
    except ImportError:  # pragma: no cover
        # older typer: click's own class, the same API (show, exit_code, format_message)
        from click.exceptions import ClickException  # type: ignore[assignment]
    return isinstance(e, ClickException)


if __name__ == "__main__":  # pragma: no cover
    main()
