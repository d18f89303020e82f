import subprocess
import sys

from kubetm import progress


def test_silent_by_default(capsys):
    progress.install()
    progress.note("nothing to see")
    with progress.step("working"):
        pass
    assert capsys.readouterr() == ("", "")


def test_installed_printers_are_used():
    seen = []
    from contextlib import contextmanager

    @contextmanager
    def step(d):
        seen.append(("start", d))
        yield
        seen.append(("end", d))

    progress.install(note=seen.append, step=step)
    try:
        progress.note("hello")
        with progress.step("build"):
            seen.append("inside")
    finally:
        progress.install()
    assert seen == ["hello", ("start", "build"), "inside", ("end", "build")]


def test_domain_code_as_a_library_prints_nothing():
    code = "from kubetm import cluster\ncluster._note('should not print')\n"
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert cp.stdout == "" and cp.stderr == ""
