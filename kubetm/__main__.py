"""Console entry point (`kubetm`, `python -m kubetm`).

`kubetm --help` is the command people run most while learning; Python + Typer start-up alone
costs ~2.5x `kubectl --help`. So the top-level help text, rendered by Typer the first time, is
cached under ~/.cache/kubetm/ (kubetm/helpcache.py: where, and the key) and printed from there
without importing Typer.
`kubetm lab list` and `kubetm demo list` (read-only, no cluster) are answered by the same
functions the Typer commands call, without importing Typer (two thirds of their start-up).
Anything else, or any argument the fast path does not know, goes straight to kubetm.cli.main.
"""

from __future__ import annotations

import sys

from kubetm import helpcache


def _output_of(rest: list[str]) -> str | None:
    """The -o value of ``rest`` when it is nothing but an optional ``-o text|json``, else None."""
    if not rest:
        return "text"
    if len(rest) == 2 and rest[0] in ("-o", "--output"):
        value = rest[1]
    elif (
        len(rest) == 1
        and rest[0].startswith(("--output=", "-o"))
        and rest[0] not in ("-o", "--output")
    ):
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
            from kubetm.labs import runner

            emit(runner.list_labs(), output, text=runner.render_list)
        else:
            import kubetm.demos as demos

            emit(demos.list_demos(), output, text=demos.render_list)
    except BrokenPipeError:
        return True
    except Exception:
        return False
    return True


def main() -> None:
    if _fast_list(sys.argv[1:]):
        sys.exit(0)
    if sys.argv[1:] in helpcache.HELP_ARGS:
        text = helpcache.read()
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            sys.exit(0)
    from kubetm.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
