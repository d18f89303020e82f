"""Live view of a running demo: elapsed, requests/s, versions answering, failures, a caller line.

    with LiveView("rolling-update") as view:
        while rolling:
            view.update(prober.samples(), prober.elapsed_ms(), "pods per ReplicaSet: app-v1 2/2, app-v2 0/0")

rich is imported lazily; `window_stats()` is the pure part (tested without a terminal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubetm.demos.timeline import SampleLike

if TYPE_CHECKING:
    from rich.console import Console

VERSION_STYLES = ("cyan", "green", "magenta", "yellow", "blue")


@dataclass
class WindowStats:
    elapsed_s: float
    requests: int
    failures: int
    rate: float  # requests sent in the last window, per second
    window_failures: int
    versions: dict[str, int] = field(default_factory=dict)  # good answers in the last window


def window_stats(
    samples: Sequence[SampleLike], now_ms: float, window_ms: float = 1000.0
) -> WindowStats:
    """Counts over all samples and over the last ``window_ms`` (samples ordered by t_ms)."""
    versions: dict[str, int] = {}
    in_window = window_failures = 0
    for s in reversed(samples):
        if s.t_ms <= now_ms - window_ms:
            break
        in_window += 1
        if not s.ok:
            window_failures += 1
        elif s.version is not None:
            versions[s.version] = versions.get(s.version, 0) + 1
    return WindowStats(
        elapsed_s=now_ms / 1000.0,
        requests=len(samples),
        failures=sum(1 for s in samples if not s.ok),
        rate=in_window * 1000.0 / window_ms,
        window_failures=window_failures,
        versions=dict(sorted(versions.items())),
    )


class LiveView:
    """A rich Live panel; feed it with `update()` a few times a second (it refreshes itself)."""

    def __init__(
        self, title: str, *, console: Console | None = None, window_ms: float = 1000.0
    ) -> None:
        self.title, self.window_ms = title, window_ms
        self._console = console
        self._live: Any = None
        self._styles: dict[str, str] = {}

    def __enter__(self) -> LiveView:
        from rich.live import Live

        self._live = Live(
            self._render(None, ""), console=self._console, refresh_per_second=4, transient=False
        )
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(self, samples: Sequence[SampleLike], now_ms: float, line: str = "") -> WindowStats:
        """Recompute the panel from the samples so far (``now_ms`` on the samples' clock)."""
        stats = window_stats(samples, now_ms, self.window_ms)
        if self._live is not None:
            self._live.update(self._render(stats, line))
        return stats

    def _style(self, version: str) -> str:
        return self._styles.setdefault(
            version, VERSION_STYLES[len(self._styles) % len(VERSION_STYLES)]
        )

    def _render(self, stats: WindowStats | None, line: str) -> Any:
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        if stats is None:
            grid.add_row("elapsed", "starting...")
        else:
            window = f"last {self.window_ms / 1000:g}s"
            versions = Text()
            for v, n in stats.versions.items():
                versions.append(f"{v} ", style=f"bold {self._style(v)}").append(f"{n}  ")
            if not stats.versions:
                versions.append("nothing  ", style="bold red")
            if stats.window_failures:
                versions.append(f"failed {stats.window_failures}", style="bold red").append("  ")
            grid.add_row("elapsed", f"{stats.elapsed_s:.1f}s")
            grid.add_row("requests", f"{stats.rate:.0f}/s ({stats.requests} total)")
            grid.add_row("answering", versions.append(f"({window})", style="dim"))
            fail_style = "bold red" if stats.failures else "green"
            grid.add_row("failures", Text(f"{stats.failures}", style=fail_style))
        if line:
            grid.add_row("", line)
        return Panel(grid, title=self.title, expand=False)
