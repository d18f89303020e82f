"""The host-command layer's shape, checked on the source: only kubetm/host/ starts subprocesses,
kubetm/host/ prints nothing and imports no domain module, images and registry do not import each other."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[3] / "kubetm"
DOMAIN = (
    "kubetm.cli",
    "kubetm.cluster",
    "kubetm.images",
    "kubetm.registry",
    "kubetm.bases",
    "kubetm.deploy",
    "kubetm.labs",
    "kubetm.demos",
    "kubetm.output",
    "kubetm.kube",
    "kubetm.k8s",
)


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def problems(pkg: Path) -> list[str]:
    found = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg.parent).as_posix()
        in_host = path.parent.name == "host" and path.parent.parent == pkg
        imports = _imports(path)
        if not in_host and {"subprocess", "os.system", "os.popen"} & imports:
            found.append(f"{rel}: imports subprocess outside kubetm/host/")
        if in_host:
            for name in sorted(imports):
                if name.startswith(DOMAIN):
                    found.append(f"{rel}: the host layer imports {name}")
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                    found.append(f"{rel}:{node.lineno}: print")
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("stdout", "stderr")
                    and getattr(node.value, "id", "") == "sys"
                ):
                    found.append(f"{rel}:{node.lineno}: sys.{node.attr}")
        if rel == "kubetm/registry.py" and any(n.startswith("kubetm.images") for n in imports):
            found.append(f"{rel}: imports kubetm.images")
        if rel == "kubetm/bases.py" and any(
            n.startswith(("kubetm.images", "kubetm.registry")) for n in imports
        ):
            found.append(f"{rel}: imports images or registry")
    return found


def test_the_host_layer_keeps_its_shape():
    assert not problems(PKG), "\n".join(problems(PKG))


def test_the_check_finds_planted_offenders(tmp_path):
    pkg = tmp_path / "kubetm"
    (pkg / "host").mkdir(parents=True)
    (pkg / "labs").mkdir()
    (pkg / "labs" / "x.py").write_text("import subprocess\n")
    (pkg / "host" / "y.py").write_text(
        "import sys\nfrom kubetm.output import note\nprint('hi')\nsys.stderr.write('x')\n"
    )
    (pkg / "registry.py").write_text("from kubetm import images\n")
    found = "\n".join(problems(pkg))
    assert "kubetm/labs/x.py: imports subprocess" in found
    assert "kubetm/host/y.py: the host layer imports kubetm.output" in found
    assert "kubetm/host/y.py:3: print" in found and "kubetm/host/y.py:4: sys.stderr" in found
    assert "kubetm/registry.py: imports kubetm.images" in found
