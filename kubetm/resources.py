"""Where kubetm's data folders are: the course manifests, the image sources, the hack/ scripts and
the Helm charts.

In a source checkout they are the top-level folders beside ``kubetm/`` (the source of truth). A
wheel carries copies inside the package, under ``kubetm/_data/<name>`` (setup.py's build step maps
them in), so an installed kubetm works from any folder. An environment variable overrides either.
A folder that is missing is one clear error, never an empty lab.
"""

from __future__ import annotations

import os
from pathlib import Path

from kubetm.errors import KubetmError

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
# data folder -> the environment variable that overrides it
OVERRIDES = {
    "manifests": "KUBETM_MANIFESTS",
    "images": "KUBETM_IMAGES_DIR",
    "hack": "KUBETM_HACK_DIR",
    "charts": "KUBETM_CHARTS_DIR",
}


def candidates(name: str) -> list[Path]:
    """Where ``name`` is looked for, in order: the override, the wheel's copy, the checkout."""
    out = []
    env = os.environ.get(OVERRIDES.get(name, ""), "")
    if env:
        return [Path(env)]
    out.append(PACKAGE / "_data" / name)
    out.append(CHECKOUT / name)
    return out


def find(name: str) -> Path:
    """The first existing candidate for ``name``, else the checkout's path (for a later clear error)."""
    tried = candidates(name)
    return next((p for p in tried if p.is_dir()), tried[-1])


def data_dir(name: str) -> Path:
    """The folder ``name`` (manifests, images, hack, charts); a missing one is one clear error."""
    tried = candidates(name)
    for path in tried:
        if path.is_dir():
            return path
    var = OVERRIDES.get(name)
    raise KubetmError(
        f"kubetm's {name}/ folder is missing (looked in {', '.join(str(p) for p in tried)})",
        hint="reinstall kubetm (pipx install --force kubetm), or run from a kubetm checkout"
        + (f", or set {var}" if var else ""),
    )
