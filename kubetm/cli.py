"""kubetm command line: Typer root app and sub-apps. Each command parses, calls ONE module
function, prints. Nothing heavy is imported at module level (`kubetm --help` stays fast).

CONTRACT with the modules owned by other engineers (the commands below call exactly these; all
return JSON-able data (dict/list, or objects with .to_dict()) that the command prints, and raise
KubetmError for user errors). `kube` is a lazy kubetm.kube.Kube built from the global options
(--kubeconfig/--context/-n); `registry` is --registry / $KUBETM_REGISTRY (default localhost:5001).
Progress for humans goes to stderr (kubetm.output.note), never stdout (-o json must stay clean).

  kubetm/cluster.py   (lead)
    up(name="kubetm", offline: bool | None = None, recreate=False, progress=print) -> dict
    down(name="kubetm", registry_too=False) -> dict
    status(name="kubetm") -> dict
  kubetm/images.py    (images engineer)
    build(names: list[str], tag=None, offline=None) -> list[dict]     # [] / ["all"] = every image
    push(names: list[str], registry: str, tag=None) -> list[dict]
    load(names: list[str], cluster="kubetm", tag=None) -> list[dict]
    run(name="hello", port=8100, tag=None) -> dict
    list_images(registry) -> list[dict]
  kubetm/labs/runner.py (labs engineer)
    list_labs() -> list[dict]; render_list(rows) -> str; show(name) -> dict; render_show(info) -> str
    apply(kube, name, registry_name=None, on_event=None) -> list[ApplyResult]
    verify(kube, name, registry_name=None, on_event=None) -> LabResult   (.ok, .lines(), .to_dict())
    delete(kube, name, registry_name=None, on_event=None) -> list
    run(kube, names, keep=False, registry_name=None, on_event=None) -> list[LabResult]
    as_json(results, selection) -> dict | list
  kubetm/demos/__init__.py (demos engineer)
    list_demos() -> list[dict]
    run(kube, strategy: str, *, registry: str, keep: bool = False, plot: str | None = None, **knobs) -> dict
    compare(kube, *, registry: str, keep=False, plot=None, **knobs) -> {"runs": [...]}
    delete(kube, strategy: str) -> dict; render(result) -> str; render_list(rows) -> str
      knobs: replicas, from_tag, to_tag, max_surge, max_unavailable, min_ready_seconds, rate, duration
  kubetm/demos/rollout.py (demos engineer)
    status(kube, deployment: str, *, timeout: float = 180) -> dict
    history(kube, deployment: str) -> list[dict]
    undo(kube, deployment: str, *, to_revision: int | None = None) -> dict
    render_status(dict) / render_history(list) / render_undo(dict) -> str
A dict result that holds "passed": False makes the command exit 4 (check failed).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, List, Optional

import typer

from kubetm import __version__
from kubetm.errors import EXIT_CHECK_FAILED, EXIT_SIGINT, EXIT_SIGTERM, KubetmError, format_error

_SETTINGS = dict(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False,
                 no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})

app = typer.Typer(name="kubetm", help="One command per lab of the course '대세는 쿠버네티스' on a local kind cluster.",
                  **_SETTINGS)
cluster_app = typer.Typer(help="Create, delete and inspect the local kind cluster.", **_SETTINGS)
image_app = typer.Typer(help="Build, push, load and run the course images.", **_SETTINGS)
lab_app = typer.Typer(help="Run the course labs (list, show, apply, verify, delete, run).", **_SETTINGS)
demo_app = typer.Typer(help="Deployment strategy demos (recreate, rolling-update, blue-green).", **_SETTINGS)
rollout_app = typer.Typer(help="Rollout status, history and undo for Deployments.", **_SETTINGS)
app.add_typer(cluster_app, name="cluster")
app.add_typer(image_app, name="image")
app.add_typer(lab_app, name="lab")
app.add_typer(demo_app, name="demo")
app.add_typer(rollout_app, name="rollout")

_DEBUG = False
OutputOpt = typer.Option("text", "-o", "--output", help="Output format: text or json.")
# --web (kubetm/web): demo <strategy|compare>, demo run, lab run; `demo view` always serves.
_WebOpt = typer.Option(False, "--web", help="Also show the run live in the browser (a page on 127.0.0.1).")
_PortOpt = typer.Option(None, "--port", help="--web: port on 127.0.0.1 (default: a free one).")
_NoBrowserOpt = typer.Option(False, "--no-browser", help="--web: print the page's URL, do not open a browser.")


def _with_web(body, port: Optional[int], no_browser: bool, *, kind: str, title: str, wait: Optional[float] = 15.0):
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


class State:
    """Global options, and the lazy Kube built from them."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None,
                 namespace: str | None = None, registry: str | None = None, debug: bool = False):
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace
        self._registry = registry
        self.debug = debug
        self._kube = None

    @property
    def kube(self):
        if self._kube is None:
            from kubetm.kube import Kube

            self._kube = Kube(kubeconfig=self.kubeconfig, context=self.context, namespace=self.namespace)
        return self._kube

    @property
    def registry(self) -> str:
        from kubetm.manifests import registry_from_env

        return registry_from_env(self._registry)


def _state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kubetm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    kubeconfig: Optional[str] = typer.Option(None, "--kubeconfig", help="Path to the kubeconfig file ($KUBECONFIG, ~/.kube/config)."),
    context: Optional[str] = typer.Option(None, "--context", help="Kubeconfig context (default: current context)."),
    namespace: Optional[str] = typer.Option(None, "-n", "--namespace", help="Namespace (default: the context's, else default)."),
    registry: Optional[str] = typer.Option(None, "--registry", envvar="KUBETM_REGISTRY",
                                           help="Registry replacing localhost:5001 in course images."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    show_secrets: bool = typer.Option(False, "--show-secrets",
                                      help="Print Secret values (hidden everywhere by default, --debug too)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """kubetm: the beginner Kubernetes course, one command per lab."""
    global _DEBUG
    _DEBUG = debug
    if show_secrets:
        from kubetm.errors import show_secrets as _show_secrets

        _show_secrets(True)
    ctx.obj = State(kubeconfig, context, namespace, registry, debug)


def _print(data: Any, output: str, text=None) -> None:
    from kubetm.output import emit

    emit(data, output, text=text)
    if isinstance(data, dict) and data.get("passed") is False:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _lines(items) -> str:
    return "\n".join(str(i) for i in items)


def _dict_text(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return data["text"]
    if isinstance(data, dict):
        return "\n".join(f"{k}: {v}" for k, v in data.items())
    if isinstance(data, list):
        return _lines(data)
    return str(data)


# ----------------------------------------------------------------------------- core commands

@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    filename: str = typer.Option(..., "-f", "--filename", help="Manifest file or folder (*.yaml, *.yml)."),
    output: str = OutputOpt,
    force_conflicts: bool = typer.Option(False, "--force-conflicts", help="Take over fields owned by other managers."),
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
    st = _state(ctx)
    objs = manifests.load(filename, registry=st.registry)  # validated before the first API call
    kube = st.kube
    kube.dry_run_first = True  # refuse everything before writing anything
    mark = len(getattr(kube, "applied", ()))
    try:
        results = kube.apply(objs, namespace=st.namespace, force_conflicts=force_conflicts)
    except BaseException as e:
        if not isinstance(e, Exception):  # KeyboardInterrupt / SIGTERM: say exactly what stays
            from kubetm.output import note

            kept = kube.applied_since(mark) if hasattr(kube, "applied_since") else []
            note(f"interrupted: kept {len(kept)} of {len(objs)} object(s) already applied (apply is not rolled "
                 f"back, like kubectl apply; `kubetm delete -f {filename}` removes them)"
                 + (": " + ", ".join(str(r) for r in kept) if kept else ""))
        raise
    _print(results, output, text=_lines)


@app.command("delete")
def delete_cmd(
    ctx: typer.Context,
    target: Optional[str] = typer.Argument(None, metavar="[NAME|KIND/NAME]",
                                           help="'hello' (what `deploy hello` created) or KIND/NAME."),
    filename: Optional[str] = typer.Option(None, "-f", "--filename", help="Delete the objects of a manifest file or folder."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Do not wait until the objects are gone."),
    output: str = OutputOpt,
) -> None:
    """Delete objects (foreground propagation) and wait until they are gone."""
    from kubetm.output import check_output

    check_output(output)
    st = _state(ctx)
    if bool(target) == bool(filename):
        raise KubetmError("give either -f PATH or a NAME/KIND/NAME", hint="e.g. `kubetm delete hello`", exit_code=2)
    if filename:
        from kubetm import manifests

        objs = manifests.load(filename, registry=st.registry)
        results = st.kube.delete(objs, namespace=st.namespace, wait=not no_wait)
    elif "/" in target:
        results = st.kube.delete(target, namespace=st.namespace, wait=not no_wait)
    else:
        from kubetm import deploy

        if target not in deploy.BUNDLES:
            raise KubetmError(f"unknown name {target!r}",
                              hint=f"expected {' or '.join(deploy.BUNDLES)} or KIND/NAME", exit_code=2)
        results = deploy.BUNDLES[target](st.kube, wait=not no_wait)
    _print(results, output, text=_lines)


@app.command("deploy")
def deploy_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="hello", help="What to deploy: hello (the course's first app)."),
    output: str = OutputOpt,
    timeout: float = typer.Option(180, "--timeout", help="Seconds to wait for the pod to be Ready."),
    keep: bool = typer.Option(False, "--keep", help="On Ctrl-C/SIGTERM keep what was created (default: delete it)."),
) -> None:
    """Deploy the course's hello app, wait until Ready, GET it through NodePort 30000.

    Interrupted (Ctrl-C/SIGTERM) while applying or waiting, it deletes the objects THIS run
    created (not ones that existed before) and says so, unless --keep. A failure (timeout,
    image pull error) keeps them so they can be inspected; `kubetm delete hello` removes them.
    """
    from kubetm.output import check_output

    check_output(output)
    if name != "hello":
        raise KubetmError(f"unknown app {name!r}", hint="only `kubetm deploy hello` exists", exit_code=2)
    if not timeout > 0:
        raise KubetmError(f"--timeout must be a positive number of seconds, got {timeout:g}", exit_code=2)
    from kubetm import deploy
    from kubetm.output import note

    st = _state(ctx)
    from kubetm.kube import cleanup_on_interrupt

    with cleanup_on_interrupt(st.kube, keep=keep, report=note):
        result = deploy.hello(st.kube, registry=st.registry, timeout=timeout)
    _print(result, output, text=_hello_text)


def _hello_text(r: dict) -> str:
    applied = [f"{a['kind'].lower()}/{a['name']} {a['action']}" for a in r.get("applied", [])]
    return "\n".join(applied + [f"pod {r['pod']} Ready on node {r['node']}", f"GET {r['url']}", r["body"].rstrip()])


# ------------------------------------------------------------- sub-apps owned by others (stubs)
# Each stub imports its module inside the function: missing modules only break their command.

def _module(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name:
            raise KubetmError(f"{name} is not available yet in this build") from None
        raise


# cluster — kubetm/cluster.py (lead)
@cluster_app.command("up")
def cluster_up(
    name: str = typer.Option("kubetm", "--name", help="kind cluster name."),
    offline: Optional[bool] = typer.Option(None, "--offline/--online",
                                           help="Force the offline (hack/offline) or online node image (default: auto)."),
    recreate: bool = typer.Option(False, "--recreate", help="Delete and recreate an existing cluster."),
    output: str = OutputOpt,
) -> None:
    """Create (or reuse) the kind cluster and the local registry."""
    from kubetm.output import check_output, note

    check_output(output)
    _print(_module("kubetm.cluster").up(name, offline=offline, recreate=recreate, progress=note),
           output, text=_module("kubetm.cluster").render)


@cluster_app.command("down")
def cluster_down(name: str = typer.Option("kubetm", "--name"),
                 registry_too: bool = typer.Option(False, "--registry", help="Remove the local registry too."),
                 output: str = OutputOpt) -> None:
    """Delete the kind cluster."""
    cl = _module("kubetm.cluster")
    _print(cl.down(name, registry_too=registry_too), output, text=cl.render)


@cluster_app.command("status")
def cluster_status(name: str = typer.Option("kubetm", "--name"), output: str = OutputOpt) -> None:
    """Show cluster, nodes and registry status."""
    cl = _module("kubetm.cluster")
    _print(cl.status(name), output, text=cl.render)


# image — kubetm/images.py
ImagesArg = typer.Argument(None, help="Image names (default: all course images).")
TagOpt = typer.Option(None, "--tag", help="Only this tag (default: every tag of the image).")


@image_app.command("build")
def image_build(names: Optional[List[str]] = ImagesArg, tag: Optional[str] = TagOpt,
                offline: Optional[bool] = typer.Option(None, "--offline/--online"),
                output: str = OutputOpt) -> None:
    """Build the course images with docker."""
    images = _module("kubetm.images")
    _print(images.build(list(names or []), tag, offline=offline), output, text=images.render_build)


@image_app.command("push")
def image_push(ctx: typer.Context, names: Optional[List[str]] = ImagesArg, tag: Optional[str] = TagOpt,
               output: str = OutputOpt) -> None:
    """Push the course images to the registry (--registry, default localhost:5001)."""
    images = _module("kubetm.images")
    _print(images.push(list(names or []), _state(ctx).registry, tag=tag), output, text=images.render_push)


@image_app.command("load")
def image_load(names: Optional[List[str]] = ImagesArg, cluster: str = typer.Option("kubetm", "--cluster"),
               tag: Optional[str] = TagOpt, output: str = OutputOpt) -> None:
    """Load the course images into the kind nodes (no registry needed)."""
    images = _module("kubetm.images")
    _print(images.load(list(names or []), cluster, tag=tag), output, text=images.render_load)


@image_app.command("run")
def image_run(name: str = typer.Argument("hello"), port: int = typer.Option(8100, "--port", min=1, max=65535),
              tag: Optional[str] = TagOpt, output: str = OutputOpt) -> None:
    """Run a course image locally with docker and GET it."""
    images = _module("kubetm.images")
    _print(images.run(name, port=port, tag=tag), output, text=images.render_run)


@image_app.command("list")
def image_list(ctx: typer.Context, output: str = OutputOpt) -> None:
    """List the course images (local and in the registry)."""
    images = _module("kubetm.images")
    _print(images.list_images(_state(ctx).registry), output, text=images.render_list)


# lab — kubetm/labs/runner.py
def _lab_events(event: str, lab: str, data: Any = None) -> None:
    from kubetm.output import note

    if event == "checked" and hasattr(data, "line"):
        note(f"{lab}: {data.line()}")
    elif event in ("apply", "delete", "check"):
        note(f"{lab}: {event}{' ' + str(data) if data else ''}")
    elif event in ("error", "log"):
        note(f"{lab}: {data}")


def _lab_results(results, selection, output: str) -> None:
    runner = _module("kubetm.labs.runner")
    from kubetm.output import emit

    results = results if isinstance(results, list) else [results]
    emit(runner.as_json(results, selection) if output == "json" else results, output,
         text=lambda rs: "\n".join(line for r in rs for line in r.lines()))
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_CHECK_FAILED)


@lab_app.command("list")
def lab_list(output: str = OutputOpt) -> None:
    """List the labs in course order."""
    runner = _module("kubetm.labs.runner")
    _print(runner.list_labs(), output, text=runner.render_list)


@lab_app.command("show")
def lab_show(lab: str = typer.Argument(...), output: str = OutputOpt) -> None:
    """Show a lab: lesson, manifests, checks."""
    runner = _module("kubetm.labs.runner")
    _print(runner.show(lab), output, text=runner.render_show)


@lab_app.command("apply")
def lab_apply(ctx: typer.Context, lab: str = typer.Argument(...), output: str = OutputOpt) -> None:
    """Apply a lab's manifests (server-side apply) in its namespace."""
    st = _state(ctx)
    runner = _module("kubetm.labs.runner")
    _print(runner.apply(st.kube, lab, registry_name=st.registry, on_event=_lab_events), output, text=_lines)


@lab_app.command("verify")
def lab_verify(ctx: typer.Context, lab: str = typer.Argument(...), output: str = OutputOpt) -> None:
    """Run a lab's checks against the cluster (exit 4 when one fails)."""
    from kubetm.output import check_output

    output = check_output(output)
    st = _state(ctx)
    runner = _module("kubetm.labs.runner")
    _lab_results(runner.verify(st.kube, lab, registry_name=st.registry, on_event=_lab_events), lab, output)


@lab_app.command("delete")
def lab_delete(ctx: typer.Context, lab: str = typer.Argument(...), output: str = OutputOpt) -> None:
    """Delete everything a lab created and wait until it is gone."""
    st = _state(ctx)
    runner = _module("kubetm.labs.runner")
    _print(runner.delete(st.kube, lab, registry_name=st.registry, on_event=_lab_events), output, text=_lines)


@lab_app.command("run")
def lab_run(ctx: typer.Context, labs: List[str] = typer.Argument(..., help="Lab names, or 'all'."),
            keep: bool = typer.Option(False, "--keep", help="Keep the lab's objects (also on failure)."),
            output: str = OutputOpt, web: bool = _WebOpt, port: Optional[int] = _PortOpt,
            no_browser: bool = _NoBrowserOpt) -> None:
    """Apply, verify and delete labs (exit 4 when a check fails)."""
    from kubetm.output import check_output

    output = check_output(output)
    st = _state(ctx)
    runner = _module("kubetm.labs.runner")
    selection: Any = labs[0] if len(labs) == 1 else list(labs)
    if web:  # --web: the same run, its events also on a live page
        from kubetm.labs import registry
        from kubetm.web.observe import lab_plan
        from kubetm.web.server import check_port

        check_port(port)
        plan = lab_plan([lab.name for lab in registry.resolve(selection)])  # unknown lab: exit 2 first

        def lab_body(page):
            page.publish({"type": "labs", "labs": plan})
            observer = page.lab_observer()

            def both(event: str, lab: str, data: Any = None) -> None:
                _lab_events(event, lab, data)
                observer(event, lab, data)
            return runner.run(st.kube, selection, keep=keep, registry_name=st.registry, on_event=both)
        results = _with_web(lab_body, port, no_browser, kind="lab", title=" ".join(labs))
    else:
        results = runner.run(st.kube, selection, keep=keep, registry_name=st.registry, on_event=_lab_events)
    _lab_results(results, selection, output)


# demo — kubetm/demos/
@demo_app.command("list")
def demo_list(output: str = OutputOpt) -> None:
    """List the deployment strategy demos."""
    demos = _module("kubetm.demos")
    _print(demos.list_demos(), output, text=demos.render_list)


_ReplicasOpt = typer.Option(None, "--replicas", help="Pods of the Deployment (default 2).")
_FromOpt = typer.Option(None, "--from", help="Image tag before the update (default v1).")
_ToOpt = typer.Option(None, "--to", help="Image tag after the update (default v2).")
_SurgeOpt = typer.Option(None, "--max-surge", help="rolling-update: extra pods allowed, N or N% (default 1).")
_UnavailOpt = typer.Option(None, "--max-unavailable", help="rolling-update: pods that may be missing, N or N% (default 0).")
_MinReadyOpt = typer.Option(None, "--min-ready-seconds", help="Seconds a new pod must be Ready to count as available (default 10).")
_RateOpt = typer.Option(None, "--rate", help="Prober requests per second (default 20).")
_DurationOpt = typer.Option(None, "--duration", help="Seconds to keep probing after the rollout finished (default 2).")
_KeepOpt = typer.Option(False, "--keep", help="Keep the demo's namespace and objects.")
_PlotOpt = typer.Option(None, "--plot", help="Write a timeline plot here (.png or .svg).")


def _demo(ctx: typer.Context, strategy: str, output: str, keep: bool, plot: Optional[str],
          web: bool = False, port: Optional[int] = None, no_browser: bool = False, **knobs: Any) -> None:
    from kubetm.output import check_output

    check_output(output)
    st = _state(ctx)
    demos = _module("kubetm.demos")
    options = {k: v for k, v in knobs.items() if v is not None}

    def body(page=None):
        observer = page.demo_observer() if page is not None else None
        if strategy == "compare":
            return demos.compare(st.kube, registry=st.registry, keep=keep, plot=plot, observer=observer, **options)
        return demos.run(st.kube, strategy, registry=st.registry, keep=keep, plot=plot, observer=observer, **options)

    if web:
        from kubetm.web.server import check_port

        check_port(port)
        if strategy != "compare":
            _module("kubetm.demos.strategies").strategy_of(strategy)  # unknown demo: exit 2 before serving
    result = _with_web(body, port, no_browser, kind="demo", title=strategy) if web else body()
    _print(result, output, text=demos.render)


def _demo_command(strategy: str, doc: str):
    def command(ctx: typer.Context, replicas: Optional[int] = _ReplicasOpt, from_tag: Optional[str] = _FromOpt,
                to_tag: Optional[str] = _ToOpt, max_surge: Optional[str] = _SurgeOpt,
                max_unavailable: Optional[str] = _UnavailOpt, min_ready_seconds: Optional[int] = _MinReadyOpt,
                rate: Optional[float] = _RateOpt, duration: Optional[float] = _DurationOpt,
                keep: bool = _KeepOpt, plot: Optional[str] = _PlotOpt, output: str = OutputOpt,
                web: bool = _WebOpt, port: Optional[int] = _PortOpt, no_browser: bool = _NoBrowserOpt) -> None:
        _demo(ctx, strategy, output, keep, plot, web, port, no_browser, replicas=replicas, from_tag=from_tag,
              to_tag=to_tag,
              max_surge=max_surge, max_unavailable=max_unavailable, min_ready_seconds=min_ready_seconds,
              rate=rate, duration=duration)
    command.__doc__ = doc
    command.__name__ = f"demo_{strategy.replace('-', '_')}"
    return command


for _name, _doc in (
    ("recreate", "Recreate v1 -> v2 under traffic: downtime, no overlap (NodePort 30003)."),
    ("rolling-update", "RollingUpdate v1 -> v2 under traffic: no failures, overlap (NodePort 30004)."),
    ("blue-green", "Blue/Green: switch the Service selector v1 -> v2: no failures, no overlap (NodePort 30005)."),
    ("compare", "recreate and rolling-update back to back, side by side (-o json: {\"runs\": [...]})."),
):
    demo_app.command(_name)(_demo_command(_name, _doc))


@demo_app.command("run")
def demo_run(ctx: typer.Context, strategy: str = typer.Argument(..., help="recreate, rolling-update, blue-green or compare."),
             replicas: Optional[int] = _ReplicasOpt, from_tag: Optional[str] = _FromOpt,
             to_tag: Optional[str] = _ToOpt, max_surge: Optional[str] = _SurgeOpt,
             max_unavailable: Optional[str] = _UnavailOpt, min_ready_seconds: Optional[int] = _MinReadyOpt,
             rate: Optional[float] = _RateOpt, duration: Optional[float] = _DurationOpt,
             keep: bool = _KeepOpt, plot: Optional[str] = _PlotOpt, output: str = OutputOpt,
             web: bool = _WebOpt, port: Optional[int] = _PortOpt, no_browser: bool = _NoBrowserOpt) -> None:
    """Run a strategy demo by name (same as `kubetm demo STRATEGY`)."""
    _demo(ctx, strategy.strip().lower(), output, keep, plot, web, port, no_browser, replicas=replicas,
          from_tag=from_tag, to_tag=to_tag,
          max_surge=max_surge, max_unavailable=max_unavailable, min_ready_seconds=min_ready_seconds,
          rate=rate, duration=duration)


@demo_app.command("view")
def demo_view(run_json: str = typer.Argument(..., metavar="RUN.json",
                                             help="A saved `kubetm demo ... -o json` (one run or compare)."),
              port: Optional[int] = _PortOpt, no_browser: bool = _NoBrowserOpt, output: str = OutputOpt) -> None:
    """Show a saved run in the browser, as the live page ended (serves until the page has it, or Ctrl-C)."""
    from kubetm.output import check_output
    from kubetm.web import load_run, replay_events
    from kubetm.web.server import check_port

    output = check_output(output)
    check_port(port)
    data = load_run(run_json)

    def body(page):
        for event in replay_events(data):
            page.publish(event)
        return data
    _with_web(body, port, no_browser, kind="view", title=run_json, wait=None)
    _print(data, output, text=_module("kubetm.demos").render)


@demo_app.command("delete")
def demo_delete(ctx: typer.Context, strategy: str = typer.Argument(...), output: str = OutputOpt) -> None:
    """Delete a demo's namespace and objects."""
    _print(_module("kubetm.demos").delete(_state(ctx).kube, strategy), output, text=_dict_text)


# rollout — kubetm/demos/rollout.py
@rollout_app.command("status")
def rollout_status(ctx: typer.Context, deployment: str = typer.Argument(...),
                   timeout: float = typer.Option(180, "--timeout"), output: str = OutputOpt) -> None:
    """Wait until a Deployment's rollout finished."""
    rollout = _module("kubetm.demos.rollout")
    _print(rollout.status(_state(ctx).kube, deployment, timeout=timeout), output, text=rollout.render_status)


@rollout_app.command("history")
def rollout_history(ctx: typer.Context, deployment: str = typer.Argument(...), output: str = OutputOpt) -> None:
    """Show a Deployment's revisions (its ReplicaSets), like kubectl rollout history."""
    rollout = _module("kubetm.demos.rollout")
    _print(rollout.history(_state(ctx).kube, deployment), output, text=rollout.render_history)


@rollout_app.command("undo")
def rollout_undo(ctx: typer.Context, deployment: str = typer.Argument(...),
                 to_revision: Optional[int] = typer.Option(None, "--to-revision", help="Revision to go back to (default: the previous one)."),
                 output: str = OutputOpt) -> None:
    """Roll a Deployment back (to the previous or a given revision), like kubectl rollout undo."""
    rollout = _module("kubetm.demos.rollout")
    _print(rollout.undo(_state(ctx).kube, deployment, to_revision=to_revision), output, text=rollout.render_undo)


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
    debug = "--debug" in args or os.environ.get("KUBETM_DEBUG") == "1"
    if not debug:
        _quiet_library_warnings()
    if args in (["--help"], ["-h"]):
        sys.stdout.write(render_help(cache=True))
        sys.stdout.flush()
        if argv is None:
            sys.exit(0)
        return 0
    code = 0
    try:
        rv = app(args=args, prog_name="kubetm", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
        if code == EXIT_SIGINT:  # Typer turned a KeyboardInterrupt into Exit(130): say so, like below
            sys.stderr.write("\ninterrupted\n")
    except KubetmError as e:
        if debug or _DEBUG:
            _print_traceback()
        sys.stderr.write(format_error(e) + "\n")
        code = e.exit_code
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("\ninterrupted\n")
        code = EXIT_SIGINT
    except Terminated:
        sys.stderr.write("terminated\n")
        code = EXIT_SIGTERM
    except typer.Exit as e:
        code = e.exit_code
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if _is_click_exception(e) and type(e).__name__ == "NoArgsIsHelpError":
            e.show()                                  # `kubetm lab`: the group's help, as asked
            code = e.exit_code
        elif _is_click_exception(e):
            sys.stderr.write(_usage_line(e) + "\n")   # one line, like every other error
            code = e.exit_code
        else:
            if debug or _DEBUG:
                _print_traceback()
                sys.stderr.write(format_error(e) + "\n")
            else:
                sys.stderr.write(format_error(e) + " (re-run with --debug for a traceback)\n")
            code = 1
    finally:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass
    if argv is None:
        sys.exit(code)
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
        from kubetm.__main__ import help_cache_path

        path = help_cache_path()
        if path:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, path)  # atomic: concurrent runs never read half a file
            except OSError:
                pass
    return text


def _usage_line(e: BaseException) -> str:
    """A Click usage error as one line: ``error: <problem> (see `kubetm <command> -h`)``."""
    ctx = getattr(e, "ctx", None)
    path = getattr(ctx, "command_path", None)
    hint = f"see `{path} -h`" if path else None
    return format_error(KubetmError(e.format_message(), hint=hint))


def _is_click_exception(e: BaseException) -> bool:
    try:
        from typer._click.exceptions import ClickException  # typer >= 0.22 vendors click
    except ImportError:  # pragma: no cover
        from click.exceptions import ClickException
    return isinstance(e, ClickException)


if __name__ == "__main__":  # pragma: no cover
    main()
