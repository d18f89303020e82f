"""Console entry point (`kubetm`, `python -m kubetm`).

`kubetm --help` is the command people run most while learning; Python + Typer start-up alone
costs ~2.5x `kubectl --help`. So the top-level help text, rendered by Typer the first time, is
cached under ~/.cache/kubetm/ and printed from there without importing Typer. The cache key
holds the kubetm version, kubetm/cli.py's and typer's mtime/size and the help width, so any
change to the commands re-renders it. KUBETM_NO_HELP_CACHE=1 disables the cache.
Everything else goes straight to kubetm.cli.main.
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


def main() -> None:
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
