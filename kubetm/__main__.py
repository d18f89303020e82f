"""Console entry point (`kubetm`, `python -m kubetm`).

`kubetm --help` is the command people run most while learning; Python + Typer start-up alone
costs ~2.5x `kubectl --help`. So the top-level help text, rendered by Typer the first time, is
cached under ~/.cache/kubetm/ and printed from there without importing Typer. The cache key
holds the kubetm version, kubetm/cli.py's and typer's mtime/size and the help width, so any
change to the commands re-renders it. KUBETM_NO_HELP_CACHE=1 disables the cache.
`kubetm lab list` and `kubetm demo list` (read-only, no cluster) are answered by the same
functions the Typer commands call, without importing Typer (two thirds of their start-up).
Anything else, or any argument the fast path does not know, goes straight to kubetm.cli.main.
"""

from __future__ import annotations

import os
import sys

HELP_ARGS = (["--help"], ["-h"])


def _help_width() -> int:
    """Same width Click's HelpFormatter uses: max(min(columns, 80) - 2, 50)."""
    columns = 0
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        pass
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(min(columns or 80, 80) - 2, 50)


def help_cache_path() -> str | None:
    """Path of the cached top-level help for the current code and terminal width, or None."""
    if os.environ.get("KUBETM_NO_HELP_CACHE") == "1":
        return None
    try:
        from importlib.util import find_spec

        from kubetm import __version__

        cli_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli.py")
        spec = find_spec("typer")
        if spec is None or not spec.origin:
            return None
        a, b = os.stat(cli_file), os.stat(spec.origin)
    except (OSError, ImportError, ValueError):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = f"help-{__version__}-{a.st_mtime_ns}-{a.st_size}-{b.st_mtime_ns}-{b.st_size}-{_help_width()}.txt"
    return os.path.join(base, "kubetm", name)


def _output_of(rest: list[str]) -> str | None:
    """The -o value of ``rest`` when it is nothing but an optional ``-o text|json``, else None."""
    if not rest:
        return "text"
    if len(rest) == 2 and rest[0] in ("-o", "--output"):
        value = rest[1]
    elif len(rest) == 1 and rest[0].startswith(("--output=", "-o")) and rest[0] not in ("-o", "--output"):
        value = rest[0].split("=", 1)[1] if rest[0].startswith("--output=") else rest[0][2:]
    else:
        return None
    return value if value in ("text", "json") else None


def _fast_list(args: list[str]) -> bool:
    """`kubetm lab list` / `kubetm demo list` [-o text|json] without Typer; True when answered."""
    if len(args) < 2 or args[1] != "list" or args[0] not in ("lab", "demo"):
        return False
    output = _output_of(args[2:])
    if output is None:
        return False
    try:
        from kubetm.output import emit

        if args[0] == "lab":
            from kubetm.labs import runner as listing
            rows = listing.list_labs()
        else:
            import kubetm.demos as listing
            rows = listing.list_demos()
        emit(rows, output, text=listing.render_list)
    except BrokenPipeError:
        return True
    except Exception:  # noqa: BLE001 - let the full CLI produce its usual error
        return False
    return True


def main() -> None:
    if _fast_list(sys.argv[1:]):
        sys.exit(0)
    if sys.argv[1:] in HELP_ARGS:
        path = help_cache_path()
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                text = ""
            if text:
                sys.stdout.write(text)
                sys.stdout.flush()
                sys.exit(0)
    from kubetm.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
