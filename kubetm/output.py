"""The CLI's printing: ``-o json``, one-line notes on stderr, rich progress (imported lazily).
Only the CLI (and the fast path in ``__main__``) imports this; domain code reports through
``kubetm.progress``, which the CLI points at ``note`` and ``progress`` here. Tables: ``kubetm.text``.

Example:
    emit(results, output, text=lambda rs: "\n".join(str(r) for r in rs))
    with progress("waiting for pod hello-pod Ready"):
        kube.watch_until(...)
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kubetm.errors import KubetmError

__all__ = [
    "OUTPUT_FORMATS",
    "check_output",
    "emit",
    "to_jsonable",
    "note",
    "warn",
    "progress",
    "spinner",
]

OUTPUT_FORMATS = ("text", "json")

_live_lock = threading.Lock()
_live_active = False


def check_output(output: str | None) -> str:
    """Validate an ``-o`` value (``text`` or ``json``)."""
    value = (output or "text").lower()
    if value not in OUTPUT_FORMATS:
        raise KubetmError(
            f"unknown output format {output!r}", hint="use -o json or -o text", exit_code=2
        )
    return value


def to_jsonable(data: Any) -> Any:
    """Dataclasses / objects with to_dict() / lists of them -> plain JSON-able values."""
    if hasattr(data, "to_dict") and callable(data.to_dict):
        return to_jsonable(data.to_dict())
    if isinstance(data, dict):
        return {str(k): to_jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple, set)):
        return [to_jsonable(v) for v in data]
    return data


_json_written = False  # a command printed its -o json document (main() then adds none)


def json_written(reset: bool = False) -> bool:
    """Has this command printed its ``-o json`` document? ``reset``: a new command starts."""
    global _json_written
    written = _json_written
    if reset:
        _json_written = False
    return written


def emit(data: Any, output: str = "text", text: Callable[[Any], str] | str | None = None) -> None:
    """Print ``data`` as JSON (``-o json``) or as human text (``text(data)`` or ``str(data)``)."""
    global _json_written
    if check_output(output) == "json":
        sys.stdout.write(
            json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, default=str) + "\n"
        )
        _json_written = True
    else:
        rendered = text(data) if callable(text) else (text if text is not None else str(data))
        if rendered:
            sys.stdout.write(rendered.rstrip("\n") + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A progress/info line for humans, on stderr (keeps stdout clean for -o json)."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    note(f"warning: {message}")


@contextmanager
def progress(description: str) -> Iterator[None]:
    """Show a rich spinner on stderr while the block runs (only on a terminal, one at a time)."""
    global _live_active
    with _live_lock:
        busy = _live_active
        if not busy:
            _live_active = True
    if busy or not sys.stderr.isatty():
        try:
            yield
        finally:
            if not busy:
                with _live_lock:
                    _live_active = False
        return
    try:
        from rich.console import Console

        with Console(stderr=True).status(description, spinner="dots"):
            yield
    finally:
        with _live_lock:
            _live_active = False


@contextmanager
def spinner() -> Iterator[Callable[[str], None]]:
    """A spinner on stderr whose text the code inside sets: yields ``say(text)``, the ``progress``
    callback the client accepts (``kube.delete(objs, progress=say)``). Only on a terminal, one at a
    time; elsewhere ``say`` does nothing (stderr stays exactly as before)."""
    global _live_active
    with _live_lock:
        busy = _live_active
        if not busy:
            _live_active = True
    if busy or not sys.stderr.isatty():
        try:
            yield lambda _text: None
        finally:
            if not busy:
                with _live_lock:
                    _live_active = False
        return
    status = None
    lock = threading.Lock()

    def say(text: str) -> None:
        nonlocal status
        with lock:
            if status is None:
                from rich.console import Console

                status = Console(stderr=True).status(text, spinner="dots")
                status.start()
            else:
                status.update(text)

    try:
        yield say
    finally:
        with lock:
            if status is not None:
                status.stop()
        with _live_lock:
            _live_active = False
