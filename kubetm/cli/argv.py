"""kubectl habits: global options after the command.

`kubectl rollout history -n NS app` works; Click only knows a group's options before its
sub-command. Before Click parses, `hoist_global_options` moves the root's options found after
the command (-n/--namespace, --context, --kubeconfig, --debug, --show-secrets, ...) to just
after the root's own options, where Click expects them:

    kubetm rollout history -n NS app   ->   kubetm -n NS rollout history app
    kubetm -n a lab run -n b pod       ->   kubetm -n a -n b lab run pod     (the last one wins, as in kubectl)

Why rewrite argv rather than add the options to every command: one place, no change to any
command's signature or help, and the State keeps being built once by the root callback. The walk
uses the Click command tree itself, so it is exact: it knows which options take a value (an
option's value is never mistaken for a global option), where `--` ends the options, and it
leaves an option alone in a command that declares the same name itself (`cluster down
--registry` is that command's flag, not the global `--registry VALUE`). Eager options (--version,
--help) are never moved.
"""

from __future__ import annotations

from typing import Any

from kubetm.errors import EXIT_USAGE, KubetmError

__all__ = ["hoist_global_options", "global_options"]


def global_options(root: Any) -> dict[str, bool]:
    """The root's movable option strings -> whether each takes a value. Eager options and actions
    that set no value (--install-completion, --show-completion) stay where they are."""
    out: dict[str, bool] = {}
    for p in root.params:
        if (
            getattr(p, "param_type_name", "") != "option"
            or p.is_eager
            or not getattr(p, "expose_value", True)
        ):
            continue
        for name in [*p.opts, *p.secondary_opts]:
            out[name] = not p.is_flag and not p.count
    return out


def _own_options(command: Any) -> dict[str, bool]:
    """Option strings a (sub)command declares itself -> whether each takes a value."""
    out: dict[str, bool] = {}
    for p in command.params:
        if getattr(p, "param_type_name", "") == "option":
            for name in [*p.opts, *p.secondary_opts]:
                out[name] = not p.is_flag and not p.count
    return out


def _split(token: str, options: dict[str, bool]) -> tuple[str | None, bool]:
    """Which of ``options`` ``token`` is, and whether its value is inside it (``--ns=x``, ``-nx``)."""
    if token in options:
        return token, False
    if token.startswith("--") and "=" in token:
        name = token.split("=", 1)[0]
        return (name, True) if name in options else (None, False)
    if (
        token.startswith("-")
        and not token.startswith("--")
        and len(token) > 2
        and token[:2] in options
    ):
        return token[:2], options[token[:2]]  # -nNS: a value; -xy (flags) are left to Click
    return None, False


def hoist_global_options(root: Any, args: list[str]) -> list[str]:
    """``args`` with the root's options that follow a command moved in front of that command."""
    movable = global_options(root)
    command = root
    out: list[str] = []
    hoisted: list[str] = []
    cut: int | None = None  # where the first command name is in ``out``
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            out.extend(args[i:])
            break
        own = _own_options(command)
        if token.startswith("-") and token != "-":
            name, inline = _split(token, own)
            if name is None and command is not root:
                name, inline = _split(token, movable)
                if name is not None:
                    takes_value = movable[name] and not inline
                    if takes_value and (i + 1 >= len(args) or args[i + 1] == "--"):
                        raise KubetmError(
                            f"Option '{name}' requires an argument.",
                            hint="see `kubetm -h`",
                            exit_code=EXIT_USAGE,
                        )
                    hoisted.extend(args[i : i + 1 + takes_value])
                    i += 1 + takes_value
                    continue
            takes_value = name is not None and own[name] and not inline
            out.extend(args[i : i + 1 + takes_value])
            i += 1 + takes_value
            continue
        sub = getattr(command, "commands", {}).get(token)
        if sub is not None:
            if cut is None:
                cut = len(out)
            command = sub
        out.append(token)
        i += 1
    if not hoisted:
        return out
    cut = len(out) if cut is None else cut
    return out[:cut] + hoisted + out[cut:]
