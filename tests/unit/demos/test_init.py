"""kubetm.demos (what the CLI and the fast `demo list` import) stays light."""

from __future__ import annotations

import sys


def test_demo_modules_import_nothing_heavy():
    import subprocess

    p = subprocess.run(
        [
            sys.executable,
            "-c",
            "import kubetm.demos, sys; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('kubernetes','rich','yaml','matplotlib','tenacity')))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0 and p.stdout.strip() == "[]"
