"""kubetm/helpcache.py: the help cache shared by the fast path and the CLI, without an import cycle."""

from __future__ import annotations

import os
import subprocess
import sys

from kubetm import helpcache


def _modules_after(statement: str) -> set[str]:
    p = subprocess.run(
        [sys.executable, "-c", f"import sys; {statement}; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_no_cycle_between_the_fast_path_and_the_cli():
    fast = _modules_after("import kubetm.__main__")
    assert "kubetm.helpcache" in fast and not {
        m for m in fast if m.startswith(("kubetm.cli", "typer"))
    }
    full = _modules_after("import kubetm.cli")
    assert "kubetm.helpcache" in full and "kubetm.__main__" not in full


def test_the_key_follows_every_cli_module(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("KUBETM_NO_HELP_CACHE", raising=False)
    cli_dir = tmp_path / "cli"
    cli_dir.mkdir()
    for name in ("__init__.py", "lab.py"):
        (cli_dir / name).write_text("x = 1\n")
    monkeypatch.setattr(helpcache, "CLI_DIR", str(cli_dir))
    first = helpcache.help_cache_path()
    assert first and first.startswith(str(tmp_path / "cache" / "kubetm"))
    os.utime(cli_dir / "lab.py", ns=(1, 10**18))  # a command module changed
    second = helpcache.help_cache_path()
    assert second != first
    helpcache.write("help text\n")
    assert helpcache.read() == "help text\n"
    monkeypatch.setenv("KUBETM_NO_HELP_CACHE", "1")
    assert helpcache.help_cache_path() is None and helpcache.read() == ""
