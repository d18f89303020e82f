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

import base64
import threading

__all__ = [
    "KubetmError",
    "NotFound",
    "Conflict",
    "Invalid",
    "Forbidden",
    "Timeout",
    "Unreachable",
    "CommandFailed",
    "format_error",
    "one_line",
    "register_secret",
    "register_secret_object",
    "redact",
    "secrets_shown",
    "show_secrets",
    "REDACTED",
]

# Exit codes used across kubetm (kept small and documented in one place).
EXIT_ERROR = 1  # any KubetmError by default
EXIT_USAGE = 2  # bad command line: usage errors, unknown lab/demo/image names, bad option values
EXIT_TIMEOUT = 3  # a wait timed out
EXIT_CHECK_FAILED = 4  # a lab/demo check failed
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class KubetmError(Exception):
    """A user-facing error: one line, an optional hint, an exit code."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = EXIT_ERROR):
        message = redact(str(message))
        super().__init__(message)
        self.message = one_line(message)
        self.hint = one_line(redact(hint)) if hint else None
        self.exit_code = int(exit_code) if exit_code else EXIT_ERROR

    def __str__(self) -> str:  # what `str(err)` and logs show
        return format_error(self, prefix="")

    def __repr__(self) -> str:
        return f"KubetmError({self.message!r}, hint={self.hint!r}, exit_code={self.exit_code})"


class NotFound(KubetmError):
    """The object, kind, file or name asked for does not exist."""


class Conflict(KubetmError):
    """The server refused because of a conflict (409: already exists, field owned by another manager)."""


class Invalid(KubetmError):
    """The server (or kubetm) rejected the input itself: schema, validation, admission. Never retried."""


class Forbidden(KubetmError):
    """Authenticated, but not allowed (401/403 on a ready server)."""


class Timeout(KubetmError):
    """A wait ran out of time (exit 3)."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = EXIT_TIMEOUT):
        super().__init__(message, hint=hint, exit_code=exit_code)


class Unreachable(KubetmError):
    """The cluster, registry or engine could not be reached (connection refused, TLS, DNS)."""


class CommandFailed(KubetmError):
    """A host command (docker, kind, helm, go) exited non-zero; ``output`` is what it printed."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        exit_code: int = EXIT_ERROR,
        cmd: list[str] | tuple[str, ...] = (),
        output: str = "",
        returncode: int | None = None,
    ):
        super().__init__(message, hint=hint, exit_code=exit_code)
        self.cmd = list(cmd)
        self.output = redact(output or "")
        self.returncode = returncode


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
        detail = one_line(redact(str(err)))
        text = f"{name}: {detail}" if detail else name
    return f"{prefix}{text}"


# ------------------------------------------------------------------------------ secret values
# Secret values kubetm has seen (in manifests it loaded or objects it applied) are replaced by
# REDACTED in every error message, hint and --debug traceback, so an API error that echoes an
# object, or an exception that prints a request body, never shows them. Values shorter than
# MIN_SECRET_LENGTH are not tracked (replacing "1" or "ab" everywhere would garble messages).
REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 3
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_SHOW_SECRETS = False


def show_secrets(enabled: bool = True) -> None:
    """``kubetm --show-secrets``: stop redacting, and let labs print the Secret values they check."""
    global _SHOW_SECRETS
    _SHOW_SECRETS = bool(enabled)


def secrets_shown() -> bool:
    """True when the user asked for Secret values (``--show-secrets``)."""
    return _SHOW_SECRETS


def register_secret(value) -> None:
    """Remember a secret value (str or bytes) so ``redact`` hides it, in plain and base64 form."""
    if value is None:
        return
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
    forms = {raw.decode("utf-8", "replace"), base64.b64encode(raw).decode("ascii")}
    for line in raw.decode("utf-8", "replace").splitlines():
        forms.add(line)  # a multi-line value (a key, a config file) is echoed one line at a time
    with _SECRETS_LOCK:
        _SECRETS.update(f for f in forms if len(f.strip()) >= MIN_SECRET_LENGTH)


def register_secret_object(obj) -> None:
    """Register every value of a Secret's ``data`` (base64) and ``stringData`` (plain)."""
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return
    data = obj.get("data")
    string_data = obj.get("stringData")
    if not isinstance(data, dict):
        data = {}
    if not isinstance(string_data, dict):
        string_data = {}
    for value in data.values():
        if isinstance(value, str):
            register_secret(value)  # as written (base64) ...
            try:
                register_secret(base64.b64decode(value, validate=False))  # ... and decoded
            except (ValueError, TypeError):
                pass
    for value in string_data.values():
        if value is not None:
            register_secret(str(value))


def redact(text) -> str:
    """``text`` with every registered secret value replaced by ``<redacted>``."""
    text = "" if text is None else str(text)
    if _SHOW_SECRETS:
        return text
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    return text
