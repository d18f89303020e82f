"""The host-command layer: the only package in kubetm that starts subprocesses (docker, kind, helm,
the offline build scripts). It prints nothing: long commands hand each output line to a callback the
caller (the CLI) chooses. A failed command raises ``CommandFailed`` carrying what it printed.
"""
