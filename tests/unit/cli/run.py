"""Run the CLI's main() in-process: (exit code, stdout, stderr)."""

from __future__ import annotations

from kubetm import cli


def run_main(args, capsys):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
