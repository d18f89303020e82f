"""What every command module shares: the Typer settings, the global-option State (and the lazy
client built from it), the shared `-o` option, the live web page's options (WEB_OPTIONS,
`with_options`, `live_page`), and printing a result.

    def history(ctx: typer.Context, deployment: str = typer.Argument(...), output: str = OutputOpt):
        show(rollout.history(state(ctx).kube, deployment), output, text=rollout.render_history)

Nothing heavy at module level (`kubetm --help` imports this).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Optional

import typer

from kubetm.errors import EXIT_CHECK_FAILED

if TYPE_CHECKING:  # imported lazily at run time: kubetm.k8s pulls in the kubernetes client
    from kubetm.k8s import Kube

__all__ = [
    "SETTINGS",
    "new_app",
    "State",
    "state",
    "OutputOpt",
    "show",
    "lines",
    "dict_text",
    "on_interrupt",
    "Interrupted",
    "interrupt_keeps_partial",
    "WEB_OPTIONS",
    "with_options",
    "live_page",
]

SETTINGS: dict[str, Any] = {
    "rich_markup_mode": None,
    "pretty_exceptions_enable": False,
    "add_completion": False,
    "no_args_is_help": True,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}

OutputOpt = typer.Option("text", "-o", "--output", help="Output format: text or json.")

# The live browser view (kubetm/web), defined once: (parameter name, type, option). `--web` on
# `demo <strategy>`, `demo compare`, `demo run`, `lab run`; `demo view` always serves (--port,
# --no-browser only: WEB_OPTIONS[1:]).
WEB_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    (
        "web",
        bool,
        typer.Option(
            False, "--web", help="Also show the run live in the browser (a page on 127.0.0.1)."
        ),
    ),
    (
        "port",
        Optional[int],
        typer.Option(None, "--port", help="--web: port on 127.0.0.1 (default: a free one)."),
    ),
    (
        "no_browser",
        bool,
        typer.Option(
            False, "--no-browser", help="--web: print the page's URL, do not open a browser."
        ),
    ),
)


def new_app(help: str) -> typer.Typer:
    """A command group with kubetm's settings (plain help, no completion, -h)."""
    return typer.Typer(help=help, **SETTINGS)


class State:
    """Global options, and the lazy Kubernetes client built from them."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        namespace: str | None = None,
        registry: str | None = None,
        debug: bool = False,
    ):
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace
        self._registry = registry
        self.debug = debug
        self.dry_run_first = False  # `kubetm apply -f` sets it before the client is built
        self._kube: Kube | None = None

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            from kubetm.k8s import Kube

            self._kube = Kube(
                kubeconfig=self.kubeconfig,
                context=self.context,
                namespace=self.namespace,
                dry_run_first=self.dry_run_first,
            )
        return self._kube

    @property
    def registry(self) -> str:
        from kubetm.manifests import registry_from_env

        return registry_from_env(self._registry)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def show(data: Any, output: str, text: Callable[[Any], str] | None = None) -> None:
    """Print a command's result (``-o json`` or ``text(data)``); a dict holding ``"passed": False``
    ends the command with exit 4 (check failed)."""
    from kubetm.output import emit

    emit(data, output, text=text)
    if isinstance(data, dict) and data.get("passed") is False:
        raise typer.Exit(EXIT_CHECK_FAILED)


def lines(items) -> str:
    return "\n".join(str(i) for i in items)


def dict_text(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return data["text"]
    if isinstance(data, dict):
        return "\n".join(f"{k}: {v}" for k, v in data.items())
    if isinstance(data, list):
        return lines(data)
    return str(data)


class Interrupted(BaseException):
    """A Ctrl-C that carries what the command measured so far (``partial``) to kubetm.cli.main
    (Typer turns a bare KeyboardInterrupt into exit 130 and drops it)."""

    def __init__(self, partial: Any = None):
        super().__init__("interrupted")
        self.partial = partial


@contextmanager
def interrupt_keeps_partial() -> Iterator[None]:
    """Around a run whose `-o json` document must survive Ctrl-C (demo, lab run)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        raise Interrupted(getattr(exc, "partial", None)) from exc


@contextmanager
def on_interrupt(describe: Callable[[], str]) -> Iterator[None]:
    """When the block is interrupted (Ctrl-C, SIGTERM; not an error), print ``describe()`` on
    stderr before the interruption reaches kubetm.cli.main, which reports it (exit 130/143).

        with on_interrupt(lambda: f"interrupted: kept {n} object(s)"):
            kube.apply(objs)
    """
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):
            from kubetm.output import note

            note(describe())
        raise


def with_options(
    *options: tuple[str, Any, Any],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator: ``fn(ctx, [args,] **kwargs)`` as a Typer command whose keyword-only options are
    ``options`` ((name, type, typer.Option) triples such as WEB_OPTIONS), after its own."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        own = [
            p
            for p in inspect.signature(fn, eval_str=True).parameters.values()
            if p.kind is not p.VAR_KEYWORD
        ]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
            for name, kind, option in options
        ]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            fn(**kwargs)

        command.__signature__ = inspect.Signature([*own, *extra])  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
        return command

    return decorate


def live_page(
    body: Callable[[Any], Any],
    port: int | None,
    no_browser: bool,
    *,
    kind: str,
    title: str,
    wait: float | None = 15.0,
) -> Any:
    """Serve a live page around ``body(page)`` (kubetm/web): print its URL, open the browser, and
    after the run wait until the page has the result. Returns what ``body`` returns."""
    from kubetm.output import note
    from kubetm.web import LivePage

    with LivePage(port=port, browser=not no_browser, kind=kind, title=title) as page:
        note(f"live view: {page.url}" + ("" if page.open_browser() else " (open it in a browser)"))
        result = body(page)
        results = result if isinstance(result, list) else [result]
        page.finish(result, wait=wait, passed=all(getattr(r, "ok", True) for r in results))
        return result
