"""Run host commands: one place, one error shape.

``run`` captures output and raises ``CommandFailed(cmd, output, returncode)`` on a non-zero exit (or
returns the result with ``check=False``); ``stream`` hands each output line to ``on_line`` as it
comes (long builds, pulls) and keeps the tail for the error. A missing program is one line with the
install hint from ``INSTALL_HINTS``; a deadline is ``Timeout``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kubetm.errors import CommandFailed, KubetmError, Timeout

INSTALL_HINTS: dict[str, str] = {
    "docker": "install Docker, or run hack/docker-up.sh on Debian",
    "helm": "run `make helm` (builds the pinned helm from source with Go), or install helm 3",
    "go": "install Go >= 1.24 (needed only for the offline build)",
}
# How a missing program is named in "<name> is not installed".
DISPLAY_NAMES: dict[str, str] = {"docker": "Docker"}

LineFn = Callable[[str], None]


@dataclass(frozen=True)
class Result:
    """What a finished command left: its exit code and captured output."""

    cmd: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout or "") + (self.stderr or "")


def last_error_line(output: str) -> str:
    """The most telling line of a command's output: the last one naming an error, else the last."""
    lines = [
        ln.strip()
        for ln in (output or "").splitlines()
        if ln.strip()
        and not ln.startswith("DEPRECATED")
        and "legacy builder is deprecated" not in ln
        and "BuildKit" not in ln
        and "docs.docker.com/go/buildx" not in ln
    ]
    for ln in reversed(lines):
        if re.search(r"error|denied|refused|failed|not found|unauthorized", ln, re.IGNORECASE):
            return ln
    return lines[-1] if lines else "no output"


def _env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    return {**os.environ, **env} if env else None


def missing(program: str) -> KubetmError:
    """The one-line error for a program that is not installed, with its install hint."""
    name = os.path.basename(program)
    return KubetmError(
        f"{DISPLAY_NAMES.get(name, name)} is not installed",
        hint=INSTALL_HINTS.get(name, f"install {name}"),
    )


# ELF e_machine -> the architecture name `uname -m` uses
_ELF_MACHINES = {3: "i386", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64", 21: "ppc64le"}


def binary_arch(path: str) -> str:
    """The architecture a program file was built for ("aarch64", "x86_64", "Mach-O", ...)."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return "unknown"
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
        return _ELF_MACHINES.get(machine, f"ELF machine {machine}")
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return "Mach-O (macOS)"
    if head[:2] == b"MZ":
        return "Windows"
    return "unknown (not a program for this system)"


def not_runnable(program: str, e: OSError) -> KubetmError:
    """The one line for a program that exists but cannot start: another architecture's binary
    ("exec format error"), or not executable."""
    import errno
    import platform

    if e.errno == errno.ENOEXEC:
        return KubetmError(
            f"{program} cannot run here: exec format error (built for {binary_arch(program)}, "
            f"this machine is {platform.machine()})",
            hint=f"delete {program}; kubetm rebuilds the pinned one for this machine",
        )
    return KubetmError(f"{program} cannot run: {e.strerror or e}")


def _label(cmd: Sequence[str], what: str, words: int = 3) -> str:
    """How an error names a command: ``what``, else the program's name and its first arguments."""
    return what or " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd[:words]))


def failed(
    cmd: Sequence[str], output: str, returncode: int | None, what: str = ""
) -> CommandFailed:
    """The one-line error for a failed command: '<what> failed: <most telling line>'."""
    return CommandFailed(
        f"{_label(cmd, what)} failed: {last_error_line(output)}",
        cmd=list(cmd),
        output=output,
        returncode=returncode,
    )


def run(
    cmd: Sequence[str],
    *,
    check: bool = True,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    what: str = "",
    cwd: str | None = None,
) -> Result:
    """Run ``cmd`` (an argument list, never a shell string), output captured.

    ``check``: raise ``CommandFailed`` on a non-zero exit. ``timeout``: raise ``Timeout`` past it
    (the process is killed). ``input``: bytes or text for stdin (else stdin is /dev/null).
    """
    text = not isinstance(input, bytes)
    try:
        cp = subprocess.run(
            list(cmd),
            capture_output=True,
            text=text,
            timeout=timeout,
            env=_env(env),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            cwd=cwd,
        )
    except FileNotFoundError:
        raise missing(cmd[0]) from None
    except OSError as e:
        raise not_runnable(cmd[0], e) from None
    except subprocess.TimeoutExpired:
        raise Timeout(f"{_label(cmd, what, 2)} did not finish within {timeout:.0f} s") from None
    out = cp.stdout if isinstance(cp.stdout, str) else (cp.stdout or b"").decode("utf-8", "replace")
    err = cp.stderr if isinstance(cp.stderr, str) else (cp.stderr or b"").decode("utf-8", "replace")
    result = Result(tuple(cmd), cp.returncode, out, err)
    if check and cp.returncode != 0:
        raise failed(cmd, err or out, cp.returncode, what)
    return result


def stream(
    cmd: Sequence[str],
    on_line: LineFn | None = None,
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    what: str = "",
    cwd: str | None = None,
    keep: int = 40,
    timeout: float | None = None,
) -> Result:
    """Run ``cmd``, handing each output line (stdout and stderr merged) to ``on_line``.

    The last ``keep`` lines are kept for the error and the result. Ctrl-C kills the command;
    past ``timeout`` seconds it is killed and ``Timeout`` raised.
    """
    import threading

    tail: list[str] = []
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=_env(env),
            cwd=cwd,
        )
    except FileNotFoundError:
        raise missing(cmd[0]) from None
    except OSError as e:
        raise not_runnable(cmd[0], e) from None
    assert proc.stdout is not None
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(timeout, expire) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        for line in proc.stdout:
            tail = (tail + [line.rstrip("\n")])[-keep:]
            if on_line is not None:
                on_line(line.rstrip("\n"))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
    rc = proc.wait()
    if expired.is_set():
        raise Timeout(f"{_label(cmd, what, 2)} did not finish within {timeout:.0f} s")
    output = "\n".join(tail)
    if check and rc != 0:
        raise failed(cmd, output, rc, what)
    return Result(tuple(cmd), rc, output, "")
