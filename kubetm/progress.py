"""Progress reporting, injected: domain code (cluster, images, registry, labs, demos) reports what it
is doing through ``note`` and ``step``; by default both do nothing, so kubetm used as a library prints
nothing. The CLI installs its printers once (``kubetm.cli.main``: notes on stderr, a spinner on a
terminal), so the display belongs to the CLI.

Example:
    progress.note("creating kind cluster kubetm")
    with progress.step("lab pod: pod-shares-localhost"):
        run_check(...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

NoteFn = Callable[[str], None]
StepFn = Callable[[str], AbstractContextManager]


def _silent(_line: str) -> None:
    return None


@contextmanager
def _no_step(_description: str) -> Iterator[None]:
    yield


_note: NoteFn = _silent
_step: StepFn = _no_step


def install(note: NoteFn | None = None, step: StepFn | None = None) -> None:
    """Set the printers (the CLI's). ``None`` puts the silent default back."""
    global _note, _step
    _note = note or _silent
    _step = step or _no_step


def note(line: str) -> None:
    """One line about what is happening (the CLI prints it on stderr)."""
    _note(line)


def step(description: str) -> AbstractContextManager:
    """A block that takes a while (the CLI shows a spinner on a terminal while it runs)."""
    return _step(description)
