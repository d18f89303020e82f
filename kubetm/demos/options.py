"""The knobs of one demo run, checked before anything is created (bad values: one line, exit 2).
`DemoOptions` itself is defined beside the strategies that read it (strategies.py): options.py
imports strategies.py, never the other way round.

    opts = validate_options("rolling-update", max_surge="50%", rate=40)   # DemoOptions
    validate_plot("timeline.png")
"""

from __future__ import annotations

import re
from typing import Any

from kubetm.demos.strategies import DemoOptions, strategy_of
from kubetm.errors import EXIT_USAGE, KubetmError

__all__ = ["DemoOptions", "validate_options", "validate_tag", "validate_plot"]

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
INT_OR_PERCENT_RE = re.compile(r"(\d{1,9})(%?)")
MAX_REPLICAS = 10
MAX_RATE = 200.0
MAX_DURATION = 600.0
MAX_MIN_READY = 300


def _bad(message: str, hint: str | None = None) -> KubetmError:
    return KubetmError(message, hint=hint, exit_code=EXIT_USAGE)


def _int_or_percent(value: Any, flag: str) -> int | str | None:
    if value is None:
        return None
    text = str(value).strip()
    m = INT_OR_PERCENT_RE.fullmatch(text)
    if not m:
        raise _bad(f"{flag} must be a number >= 0 or a percentage like 25%, got {text!r}")
    n = int(m.group(1))
    if m.group(2):
        if n > 100:
            raise _bad(f"{flag} must be at most 100%, got {text}")
        return f"{n}%"
    return n


def _is_zero(value: int | str | None, default: int) -> bool:
    if value is None:
        return default == 0
    return value in (0, "0%")


def validate_tag(tag: Any, flag: str) -> str:
    text = "" if tag is None else str(tag)
    if not TAG_RE.fullmatch(text):
        raise _bad(
            f"{flag} {text!r} is not a valid image tag",
            hint="a tag is 1-128 of A-Z a-z 0-9 _ . - and does not start with . or -",
        )
    return text


def validate_options(
    strategy: str,
    *,
    replicas: int | None = None,
    from_tag: str | None = None,
    to_tag: str | None = None,
    max_surge: Any = None,
    max_unavailable: Any = None,
    min_ready_seconds: int | None = None,
    rate: float | None = None,
    duration: float | None = None,
) -> DemoOptions:
    """Check every knob before anything is created; raises KubetmError (exit 2) with one clear line.

    validate_options("rolling-update", max_surge="50%", rate=40)
    """
    s = strategy_of(strategy)
    d = DemoOptions()
    replicas = d.replicas if replicas is None else replicas
    if (
        not isinstance(replicas, int)
        or isinstance(replicas, bool)
        or not 1 <= replicas <= MAX_REPLICAS
    ):
        raise _bad(f"--replicas must be an integer from 1 to {MAX_REPLICAS}, got {replicas}")
    from_tag = validate_tag(d.from_tag if from_tag is None else from_tag, "--from")
    to_tag = validate_tag(d.to_tag if to_tag is None else to_tag, "--to")
    if from_tag == to_tag:
        raise _bad(f"--from and --to are the same tag ({from_tag}): nothing would be rolled out")
    surge = _int_or_percent(max_surge, "--max-surge")
    unavailable = _int_or_percent(max_unavailable, "--max-unavailable")
    if not s.rolling_knobs and (surge is not None or unavailable is not None):
        flag = "--max-surge" if surge is not None else "--max-unavailable"
        raise _bad(f"{flag} only applies to the rolling-update demo, not {s.name}")
    if _is_zero(surge, 1) and _is_zero(unavailable, 0):
        raise _bad(
            "--max-surge and --max-unavailable cannot both be 0: the rollout could never progress",
            hint="e.g. --max-surge 1 --max-unavailable 0",
        )
    if min_ready_seconds is not None and (
        not isinstance(min_ready_seconds, int)
        or isinstance(min_ready_seconds, bool)
        or not 0 <= min_ready_seconds <= MAX_MIN_READY
    ):
        raise _bad(
            f"--min-ready-seconds must be an integer from 0 to {MAX_MIN_READY}, got {min_ready_seconds}"
        )
    rate = d.rate if rate is None else rate
    if (
        not isinstance(rate, (int, float))
        or isinstance(rate, bool)
        or not 0 < rate <= MAX_RATE
        or rate != rate
    ):
        raise _bad(f"--rate must be > 0 and at most {MAX_RATE:g} requests/s, got {rate}")
    duration = d.duration if duration is None else duration
    if (
        not isinstance(duration, (int, float))
        or isinstance(duration, bool)
        or not 0 <= duration <= MAX_DURATION
        or duration != duration
    ):
        raise _bad(f"--duration must be from 0 to {MAX_DURATION:g} seconds, got {duration}")
    return DemoOptions(
        replicas,
        from_tag,
        to_tag,
        surge,
        unavailable,
        min_ready_seconds,
        float(rate),
        float(duration),
    )


def validate_plot(path: str | None) -> str | None:
    """--plot FILE: .png or .svg, and matplotlib importable (checked before anything is created)."""
    if path is None:
        return None
    from pathlib import Path

    from kubetm.demos.plot import FORMATS

    if Path(path).suffix.lower() not in FORMATS:
        raise _bad(f"cannot plot to {path!r}: unknown format", hint="use a .png or .svg file name")
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise KubetmError(
            "plotting needs matplotlib", hint="pip install 'kubetm[plot]'", exit_code=EXIT_USAGE
        )
    return path
