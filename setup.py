"""The wheel carries the data folders kubetm needs at run time (manifests/, images/, hack/,
charts/) inside the package, as kubetm/_data/<name>; the top-level folders stay the source of truth.
Everything else about the package is in pyproject.toml. Found at run time by kubetm/resources.py.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = ("manifests", "images", "hack", "charts")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".keep")


class BuildPyWithData(build_py):
    """build_py, plus a copy of each data folder into the built package (not for editable installs:
    there kubetm reads the checkout's folders directly)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "kubetm" / "_data"
        for name in DATA:
            src = ROOT / name
            if src.is_dir():
                dst = target / name
                if dst.exists():
                    shutil.rmtree(dst)
                shutil.copytree(src, dst, ignore=SKIP)  # keeps the scripts' executable bits


setup(cmdclass={"build_py": BuildPyWithData})
