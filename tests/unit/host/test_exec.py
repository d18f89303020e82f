"""kubetm.host.exec: run/stream with real small commands (sh -c ...)."""

from __future__ import annotations

import sys
import time

import pytest

from kubetm.errors import CommandFailed, KubetmError, Timeout
from kubetm.host import exec as hexec


def test_run_captures_stdout_and_stderr():
    r = hexec.run(["sh", "-c", "echo out; echo err >&2"])
    assert (r.returncode, r.stdout, r.stderr, r.ok) == (0, "out\n", "err\n", True)
    assert r.output == "out\nerr\n" and r.cmd == ("sh", "-c", "echo out; echo err >&2")


def test_run_raises_on_a_non_zero_exit_with_the_telling_line_and_the_output():
    with pytest.raises(CommandFailed) as e:
        hexec.run(
            ["sh", "-c", "echo step 1; echo 'Error: no such thing' >&2; echo more >&2; exit 3"],
            what="doing it",
        )
    err = e.value
    assert err.message == "doing it failed: Error: no such thing"
    assert err.returncode == 3 and err.cmd[0] == "sh" and "more" in err.output


def test_run_without_check_returns_the_exit_code():
    r = hexec.run(["sh", "-c", "exit 7"], check=False)
    assert r.returncode == 7 and not r.ok


def test_failure_label_defaults_to_the_program_and_its_first_arguments():
    with pytest.raises(CommandFailed, match=r"^sh -c exit 2 failed: no output$"):
        hexec.run(["/bin/sh", "-c", "exit 2"])


def test_stdin_is_empty_unless_input_is_given():
    assert hexec.run(["cat"], timeout=10).stdout == ""
    assert hexec.run(["cat"], input="hello").stdout == "hello"
    assert hexec.run(["cat"], input=b"\x00\x01").stdout == "\x00\x01"


def test_env_is_added_to_the_inherited_environment(monkeypatch):
    monkeypatch.setenv("KUBETM_TEST_INHERITED", "yes")
    out = hexec.run(
        ["sh", "-c", 'echo "$KUBETM_TEST_INHERITED $KUBETM_TEST_ADDED"'],
        env={"KUBETM_TEST_ADDED": "1"},
    )
    assert out.stdout == "yes 1\n"


def test_a_missing_program_is_one_line_with_the_install_hint():
    with pytest.raises(KubetmError) as e:
        hexec.run(["/nonexistent/bin/helm", "version"])
    assert e.value.message == "helm is not installed" and "make helm" in e.value.hint
    with pytest.raises(KubetmError) as e:
        hexec.stream(["kubetm-no-such-program"])
    assert e.value.message == "kubetm-no-such-program is not installed"
    assert e.value.hint == "install kubetm-no-such-program"


def test_docker_missing_is_named_as_docker():
    assert (
        str(hexec.missing("/usr/bin/docker"))
        == "Docker is not installed (install Docker, or run hack/docker-up.sh on Debian)"
    )


def test_run_past_its_timeout_is_killed_and_raises_timeout():
    t = time.monotonic()
    with pytest.raises(Timeout) as e:
        hexec.run(["sleep", "30"], timeout=1, what="sleeping")
    assert time.monotonic() - t < 10
    assert e.value.message == "sleeping did not finish within 1 s"
    assert e.value.exit_code == 3
    with pytest.raises(Timeout, match=r"^sleep 30 did not finish within 1 s$"):
        hexec.run(["/bin/sleep", "30"], timeout=1)


def test_stream_hands_every_line_to_on_line_in_order_stdout_and_stderr_merged():
    lines = []
    r = hexec.stream(["sh", "-c", "echo one; echo two >&2; echo three"], lines.append)
    assert lines == ["one", "two", "three"] and r.ok and r.stdout == "one\ntwo\nthree"


def test_stream_keeps_the_tail_for_the_error():
    script = "i=0; while [ $i -lt 100 ]; do echo line $i; i=$((i+1)); done; echo 'fatal error: it broke'; exit 4"
    with pytest.raises(CommandFailed) as e:
        hexec.stream(["sh", "-c", script], keep=10, what="the build")
    err = e.value
    assert err.message == "the build failed: fatal error: it broke" and err.returncode == 4
    assert err.output.splitlines() == [f"line {i}" for i in range(91, 100)] + [
        "fatal error: it broke"
    ]


def test_stream_without_check_returns_the_exit_code_and_tail():
    r = hexec.stream(["sh", "-c", "echo last; exit 5"], check=False)
    assert (r.returncode, r.stdout) == (5, "last")


def test_an_exception_in_on_line_kills_the_command():
    def boom(line: str) -> None:
        raise KeyboardInterrupt

    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        hexec.stream(
            [sys.executable, "-c", "import time; print('go', flush=True); time.sleep(30)"], boom
        )
    assert time.monotonic() - t < 10


def test_last_error_line_skips_builder_deprecation_noise():
    out = "DEPRECATED: The legacy builder is deprecated\nStep 1/2 : FROM x\nmanifest for x not found: error\nextra"
    assert hexec.last_error_line(out) == "manifest for x not found: error"
    assert hexec.last_error_line("") == "no output"
    assert hexec.last_error_line("a\nb\n") == "b"
