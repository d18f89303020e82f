"""Headless-browser helpers for the web page tests (unit: `demo view`; e2e: `demo ... --web`).

Debian's chromium (`apt-get install chromium`, done by `make install` via hack/browser.sh) driven by
Playwright's Python package (its own browser download is not needed). No browser: skip locally,
FAIL under CI=true. Screenshots go to $KUBETM_ARTIFACTS (or the test's tmp_path), printed.

    from browser_support import browser, artifacts, start_kubetm, wait_url  # noqa: F401 (fixtures)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    env = os.environ.get("KUBETM_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    return next((p for p in map(shutil.which, CHROMIUM_CANDIDATES) if p), None)


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"browser test cannot run under CI=true: {reason} (make install runs hack/browser.sh)",
            pytrace=False,
        )
    pytest.skip(reason)


@pytest.fixture(scope="module")  # module: each test module imports it (one Playwright at a time)
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    exe = chromium_path()
    if exe is None:
        _missing("no chromium found (apt-get install chromium, or set KUBETM_CHROMIUM)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def artifacts(tmp_path: Path, request) -> Path:
    base = os.environ.get("KUBETM_ARTIFACTS")
    out = Path(base) if base else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


def screenshot(page, folder: Path, name: str) -> Path:
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")  # shown with pytest -s / in the test's captured output
    return path


def start_kubetm(*args: str, env: dict | None = None) -> subprocess.Popen:
    """Start `kubetm ARGS` (stdout/stderr piped, text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "kubetm", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_url(proc: subprocess.Popen, within: float = 600.0) -> tuple[str, list[str]]:
    """Read the command's stderr until it prints `live view: URL`; returns (url, lines read)."""
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"live view: (http://127\.0\.0\.1:\d+/)", line)
        if m:
            # keep draining stderr (progress lines) so a full pipe never blocks the command
            import threading

            def drain() -> None:
                for rest in proc.stderr:  # type: ignore[union-attr]
                    lines.append(rest)

            t = threading.Thread(target=drain, daemon=True)
            t.start()
            proc._kubetm_drain = (t, lines)  # type: ignore[attr-defined]
            return m.group(1), lines
    raise AssertionError("kubetm never printed its live view URL:\n" + "".join(lines[-20:]))


def finish(proc: subprocess.Popen, timeout: float = 120.0) -> tuple[str, str]:
    """Wait for a command started by `start_kubetm` and read by `wait_url`: (stdout, stderr)."""
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout)
    t, lines = proc._kubetm_drain  # type: ignore[attr-defined]
    t.join(10)
    return out, "".join(lines)


def page_numbers(page, run: int = 0) -> dict:
    """The numbers a run's card shows: {key: (text, data-value)}."""
    return page.evaluate(
        """(run) => Object.fromEntries([...document.querySelectorAll(`article.run[data-run="${run}"] dd[data-key]`)]
             .map(dd => [dd.dataset.key, [dd.textContent, dd.dataset.value]]))""",
        run,
    )


def mark_counts(page, run: int = 0) -> dict:
    """Marks drawn per timeline row (one path segment per request) of a run's card."""
    return page.evaluate(
        """(run) => Object.fromEntries([...document.querySelectorAll(`article.run[data-run="${run}"] svg path[data-row]`)]
             .map(p => [p.dataset.row, (p.getAttribute('d').match(/M/g) || []).length]))""",
        run,
    )
