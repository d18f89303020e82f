"""Where the top-level help text is cached, shared by the fast path (kubetm/__main__.py, which
reads it without importing Typer) and the CLI (kubetm/cli/, which renders and writes it).

Standard library only, and imports nothing from kubetm but the version: both sides import this
module, neither imports the other.

The cache key holds the kubetm version, every kubetm/cli/*.py file's and typer's mtime/size and
the help width, so any change to the commands re-renders it. KUBETM_NO_HELP_CACHE=1 disables it.
"""

from __future__ import annotations

import os
import sys

__all__ = ["HELP_ARGS", "help_width", "help_cache_path", "read", "write"]

HELP_ARGS = (["--help"], ["-h"])
CLI_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli")


def help_width() -> int:
    """Same width Click's HelpFormatter uses: max(min(columns, 80) - 2, 50)."""
    columns = 0
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        pass
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(min(columns or 80, 80) - 2, 50)


def _code_key() -> str:
    """mtime and size of every CLI module and of typer itself (a few stat calls, no imports)."""
    from importlib.util import find_spec

    spec = find_spec("typer")
    if spec is None or not spec.origin:
        raise ImportError("typer")
    with os.scandir(CLI_DIR) as entries:
        cli = [e.stat() for e in entries if e.name.endswith(".py")]
    typer = os.stat(spec.origin)
    return (
        f"{len(cli)}-{max(st.st_mtime_ns for st in cli)}-{sum(st.st_size for st in cli)}"
        f"-{typer.st_mtime_ns}-{typer.st_size}"
    )


def help_cache_path() -> str | None:
    """Path of the cached top-level help for the current code and terminal width, or None."""
    if os.environ.get("KUBETM_NO_HELP_CACHE") == "1":
        return None
    try:
        from kubetm import __version__

        key = _code_key()
    except (OSError, ImportError, ValueError):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kubetm", f"help-{__version__}-{key}-{help_width()}.txt")


def read() -> str:
    """The cached help text, or "" (no cache, disabled, unreadable)."""
    path = help_cache_path()
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def write(text: str) -> None:
    """Store the help text (atomically: concurrent runs never read half a file); errors ignored."""
    path = help_cache_path()
    if not path:
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass
