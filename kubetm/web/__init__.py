"""Live browser view of demos and labs: `kubetm demo ... --web`, `kubetm lab run ... --web`,
`kubetm demo view RUN.json`.

- bus.py      `EventBus`: every event kept (replay for late or reconnecting pages), streamed in order
- server.py   `WebServer`: 127.0.0.1 only, the page's own files + /events (server-sent events)
- observe.py  `DemoObserver` (fed by a demo like its terminal live view), `LabObserver` (the lab
              runner's on_event): run data -> page events, numbers from kubetm.demos.timeline
- static/     index.html, app.js, style.css: plain JS + SVG, no CDN, no framework

The CLI uses `LivePage`:

    with LivePage(port=None, browser=True) as page:   # busy port: one-line KubetmError
        note(f"live view: {page.url}")
        result = demos.run(kube, "recreate", registry=..., observer=page.demo_observer())
        page.finish(result)          # waits until the page has the result (or nobody watches)

Nothing here prints; heavy modules are imported lazily.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["LivePage", "display_available", "load_run"]

LINGER_SECONDS = 15.0  # after the run: how long to wait for a connected page to get the result


def display_available() -> bool:
    """A graphical browser can be opened here (macOS/Windows, or X11/Wayland on Linux)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class LivePage:
    """Event bus + server (+ the user's browser) for one command; see the module docstring."""

    def __init__(
        self, *, port: int | None = None, browser: bool = True, kind: str = "demo", title: str = ""
    ) -> None:
        from kubetm.web.bus import EventBus
        from kubetm.web.server import WebServer

        self.bus = EventBus()
        self.server = WebServer(self.bus, port)
        self.browser = browser
        self.bus.publish({"type": "hello", "kind": kind, "title": title})
        self._finished = False

    @property
    def url(self) -> str:
        return self.server.url

    def publish(self, event: dict[str, Any]) -> None:
        self.bus.publish(event)

    def demo_observer(self):
        from kubetm.web.observe import DemoObserver

        return DemoObserver(self.publish)

    def lab_observer(self):
        from kubetm.web.observe import LabObserver

        return LabObserver(self.publish)

    def open_browser(self) -> bool:
        """Open the page in the user's browser when asked and a display exists; True if opened."""
        if not self.browser or not display_available():
            return False
        import webbrowser

        try:
            return bool(webbrowser.open(self.url, new=2))
        except webbrowser.Error:
            return False

    def __enter__(self) -> LivePage:
        self.server.start()
        return self

    def finish(
        self,
        result: Any = None,
        *,
        error: str | None = None,
        wait: float | None = LINGER_SECONDS,
        passed: bool | None = None,
    ) -> bool:
        """Publish the end of the run and close the stream; wait (up to ``wait`` s, None = until it
        happens) for a page to receive everything — only if a page ever connected, unless
        ``wait`` is None. ``passed`` False: the run ended but a check failed. Returns True when a
        page got it all."""
        if self._finished:
            return self.bus.wait_delivered(0)
        self._finished = True
        end: dict[str, Any] = {"type": "end", "ok": error is None and passed is not False}
        if error:
            end["error"] = error
        self.bus.publish(end)
        self.bus.close()
        if wait is None:
            return self.bus.wait_delivered(None)
        return self.bus.wait_connected(0) and self.bus.wait_delivered(wait)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self._finished and exc_type is not None:
                message = getattr(exc, "message", None) or (
                    "interrupted"
                    if exc_type is KeyboardInterrupt
                    else str(exc) or exc_type.__name__
                )
                # Ctrl-C: stop now; an error: give a watching page a moment to show it.
                self.finish(error=message, wait=0 if exc_type is KeyboardInterrupt else 3.0)
            elif not self._finished:
                self.finish()
        finally:
            self.server.stop()


def load_run(path: str) -> dict:
    """Read a saved `kubetm demo ... -o json` (one run, or compare's {"runs": [...]}); one-line
    KubetmError when the file is missing, not JSON, or not a run."""
    import json

    from kubetm.errors import KubetmError

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise KubetmError(f"{path}: no such file", exit_code=2) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KubetmError(
            f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})", exit_code=2
        ) from None
    except json.JSONDecodeError as exc:
        raise KubetmError(
            f"{path}: not a kubetm demo run (not JSON: {exc.msg} at line {exc.lineno})",
            hint="save one with `kubetm demo recreate -o json > run.json`",
            exit_code=2,
        ) from None
    runs = data.get("runs") if isinstance(data, dict) and "runs" in data else [data]
    if not isinstance(runs, list) or not runs or not all(_is_run(r) for r in runs):
        raise KubetmError(
            f"{path}: not a kubetm demo run (expected the -o json of `kubetm demo <strategy>` "
            "or `kubetm demo compare`)",
            hint="save one with `kubetm demo recreate -o json > run.json`",
            exit_code=2,
        )
    return data


_RUN_FIELDS: dict[str, type | tuple[type, ...]] = {
    "strategy": str,
    "requests": int,
    "failures": int,
    "downtime_ms": (int, float),
    "overlap_ms": (int, float),
    "timeline": list,
}


def _is_run(run: Any) -> bool:
    if not isinstance(run, dict):
        return False
    if not all(
        isinstance(run.get(k), t) and not isinstance(run.get(k), bool)
        for k, t in _RUN_FIELDS.items()
    ):
        return False
    return all(
        isinstance(p, dict)
        and isinstance(p.get("t_ms"), (int, float))
        and isinstance(p.get("ok"), bool)
        for p in run["timeline"]
    )


def replay_events(data: dict) -> list[dict]:
    """The events that show a saved run (or compare) exactly as a live page ends up: run, result."""
    runs = data["runs"] if "runs" in data else [data]
    from kubetm.demos.timeline import cells

    events: list[dict] = []
    for i, run in enumerate(runs):
        events.append(
            {
                "type": "run",
                "run": i,
                "strategy": run["strategy"],
                "lesson": run.get("lesson", ""),
                "from": run.get("from"),
                "to": run.get("to"),
                "replicas": run.get("replicas"),
                "rate": run.get("rate"),
                "namespace": run.get("namespace"),
            }
        )  # node_port: not saved
        events.append({"type": "result", "run": i, "summary": run, "text": cells(run)})
    return events
