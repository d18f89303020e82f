"""Refresh tests/e2e/durations.json from the JUnit XML of the last `make test` (build/reports/).

Only the ORDER in which the parallel phase hands out work depends on it (tests/e2e/conftest.py:
the longest chain of tests that share a resource first); a test missing from it counts 5 s.

    python hack/durations.py [JUNIT.xml ...]   (default: build/reports/{pytest,demos,beside,
                                                beside-online,serial}.xml, one per phase)
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "e2e" / "durations.json"
DEFAULT = [
    ROOT / "build" / "reports" / f"{phase}.xml"
    for phase in ("pytest", "demos", "beside", "beside-online", "serial")
]


def nodeid(classname: str, name: str) -> str:
    """JUnit's (classname, name) -> pytest's node id; xdist's "@group" suffix removed (the e2e
    tests are module-level functions, so classname is the module)."""
    return f"{classname.replace('.', '/')}.py::{name.split('@')[0]}"


def main(paths: list[Path]) -> int:
    times: dict[str, float] = {}
    for path in paths:
        if not path.exists():
            print(f"{path}: not found (run `make test` first)", file=sys.stderr)
            continue
        for case in ET.parse(path).iter("testcase"):
            classname = case.get("classname") or ""
            if not classname.startswith("tests.e2e."):
                continue
            times[nodeid(classname, case.get("name") or "")] = round(
                float(case.get("time") or 0), 1
            )
    if not times:
        print("no e2e test times found", file=sys.stderr)
        return 1
    OUT.write_text(json.dumps(dict(sorted(times.items())), indent=1) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(times)} tests, {sum(times.values()):.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main([Path(p) for p in sys.argv[1:]] or DEFAULT))
