"""`kubetm deploy`: its options are checked before anything runs (kubetm/cli/deploy.py)."""

from __future__ import annotations


def test_deploy_refuses_a_non_positive_timeout(capsys):
    from kubetm import cli

    assert cli.main(["deploy", "hello", "--timeout", "0"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: --timeout must be a positive number of seconds, got 0"
    )
