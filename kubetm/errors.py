"""The one user-facing error type.

Every error a user can cause or fix (bad manifest, cluster down, unknown context, API refusal)
is raised as ``KubetmError``; ``kubetm.cli.main`` prints it as ONE line on stderr:

    error: <message> (<hint>)

and exits with ``exit_code``. No traceback unless ``--debug``.

Example:
    raise KubetmError("pod hello-pod not found in namespace default",
                      hint="try `kubetm deploy hello`")
"""

from __future__ import annotations

__all__ = ["KubetmError", "format_error", "one_line"]

# Exit codes used across kubetm (kept small and documented in one place).
EXIT_ERROR = 1          # any KubetmError by default
EXIT_USAGE = 2          # bad command line (Typer/Click usage errors)
EXIT_TIMEOUT = 3        # a wait timed out
EXIT_CHECK_FAILED = 4   # a lab/demo check failed
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class KubetmError(Exception):
    """A user-facing error: one line, an optional hint, an exit code."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = EXIT_ERROR):
        super().__init__(message)
        self.message = one_line(str(message))
        self.hint = one_line(hint) if hint else None
        self.exit_code = int(exit_code) if exit_code else EXIT_ERROR

    def __str__(self) -> str:  # what `str(err)` and logs show
        return format_error(self, prefix="")

    def __repr__(self) -> str:
        return f"KubetmError({self.message!r}, hint={self.hint!r}, exit_code={self.exit_code})"


def one_line(text: str, limit: int = 400) -> str:
    """Collapse whitespace/newlines into single spaces and cap the length."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 3].rstrip() + "..."
    return flat


def format_error(err: BaseException, prefix: str = "error: ") -> str:
    """Format an exception as the single line the CLI prints.

    >>> format_error(KubetmError("boom", hint="try again"))
    'error: boom (try again)'
    """
    if isinstance(err, KubetmError):
        text = err.message
        if err.hint:
            text = f"{text} ({err.hint})"
    else:
        name = type(err).__name__
        detail = one_line(str(err))
        text = f"{name}: {detail}" if detail else name
    return f"{prefix}{text}"
