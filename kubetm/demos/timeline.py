"""Timeline metrics of a rollout seen through the prober: downtime, overlap, first new / last old.

Definitions (all times in ms; samples are ordered by the time the request was sent):

- ``requests``: number of samples; ``failures``: samples that got no good answer.
- ``downtime_ms``: the longest span with no successful answer. For each run of consecutive
  failed samples it is measured from the last success before the run to the first success after
  it. A run at the very start is measured from its first sample; a run that lasts to the end is
  measured to the last sample. 0 when nothing failed.
- ``overlap_ms``: the span in which both the old and the new version answered: from the first
  new-version answer to the last old-version answer, when the first new one precedes the last old
  one; else 0 (a clean switch).
- ``first_new_ms`` / ``last_old_ms``: first new-version answer and last old-version answer,
  relative to the update start (negative = before it); null when that version never answered.
- ``rollout_seconds``: measured by the caller (update start -> rollout complete); null if unknown.
- ``timeline``: every sample as ``{"t_ms", "ok", "version", "latency_ms"}`` with ``t_ms``
  relative to the update start, so several runs line up at 0 on a shared time axis.

The old version defaults to the first version answered, the new one to the last version answered
(if different). The summary is a plain JSON-ready dict (``-o json`` prints it as is).

    summary = summarize(prober.samples(), strategy="recreate", update_start_ms=t_update)
    print(render_table([summary]))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypedDict


class SampleLike(Protocol):
    t_ms: float
    ok: bool
    version: str | None
    latency_ms: float


class Point(TypedDict):
    t_ms: float
    ok: bool
    version: str | None
    latency_ms: float


class Summary(TypedDict):
    strategy: str
    requests: int
    failures: int
    downtime_ms: float
    overlap_ms: float
    first_new_ms: float | None
    last_old_ms: float | None
    rollout_seconds: float | None
    timeline: list[Point]


def downtime_ms(samples: Sequence[SampleLike]) -> float:
    """Longest span without a successful answer (see the module docstring); 0 without failures."""
    longest, i, n = 0.0, 0, len(samples)
    while i < n:
        if samples[i].ok:
            i += 1
            continue
        j = i
        while j + 1 < n and not samples[j + 1].ok:
            j += 1
        start = samples[i - 1].t_ms if i > 0 else samples[i].t_ms
        end = samples[j + 1].t_ms if j + 1 < n else samples[j].t_ms
        longest = max(longest, end - start)
        i = j + 1
    return longest


def versions_in_order(samples: Iterable[SampleLike]) -> list[str]:
    """Versions answered, in order of their first answer."""
    seen: dict[str, None] = {}
    for s in samples:
        if s.ok and s.version is not None:
            seen.setdefault(s.version, None)
    return list(seen)


class Metrics(TypedDict):
    requests: int
    failures: int
    downtime_ms: float
    overlap_ms: float
    first_new_ms: float | None
    last_old_ms: float | None


def metrics(
    ordered: Sequence[SampleLike],
    *,
    update_start_ms: float = 0.0,
    old: str | None = None,
    new: str | None = None,
) -> Metrics:
    """The numbers of a run (definitions in the module docstring) from samples ordered by t_ms.

    `summarize` and the live web page (kubetm/web) both call this: one definition of the numbers.
    """
    if old is None or new is None:
        seen = versions_in_order(ordered)
        last = next((s.version for s in reversed(ordered) if s.ok and s.version is not None), None)
        old = old if old is not None else (seen[0] if seen else None)
        new = new if new is not None else (last if last != old else None)
    first_new = next((s.t_ms for s in ordered if s.ok and new is not None and s.version == new), None)
    last_old = next(
        (s.t_ms for s in reversed(ordered) if s.ok and old is not None and s.version == old), None
    )
    overlap = last_old - first_new if first_new is not None and last_old is not None else 0.0

    def rel(t: float | None) -> float | None:
        return None if t is None else round(t - update_start_ms, 1)

    return {
        "requests": len(ordered),
        "failures": sum(1 for s in ordered if not s.ok),
        "downtime_ms": round(downtime_ms(ordered), 1),
        "overlap_ms": round(max(0.0, overlap), 1),
        "first_new_ms": rel(first_new),
        "last_old_ms": rel(last_old),
    }


def point(s: SampleLike, origin_ms: float = 0.0) -> Point:
    """One sample as a timeline point, ``t_ms`` relative to ``origin_ms`` (the update start)."""
    return {
        "t_ms": round(s.t_ms - origin_ms, 1),
        "ok": s.ok,
        "version": s.version,
        "latency_ms": round(s.latency_ms, 2),
    }


def failure_spans(timeline: Sequence[Point]) -> list[tuple[float, float]]:
    """(start, end) in ms of each run of failed points, bounded by the neighbouring successes
    (the shaded "no successful answer" spans of the plot and of the web page)."""
    spans, i, n = [], 0, len(timeline)
    while i < n:
        if timeline[i]["ok"]:
            i += 1
            continue
        j = i
        while j + 1 < n and not timeline[j + 1]["ok"]:
            j += 1
        start = timeline[i - 1]["t_ms"] if i > 0 else timeline[i]["t_ms"]
        end = timeline[j + 1]["t_ms"] if j + 1 < n else timeline[j]["t_ms"]
        spans.append((start, end))
        i = j + 1
    return spans


def summarize(
    samples: Iterable[SampleLike],
    *,
    strategy: str,
    update_start_ms: float = 0.0,
    rollout_seconds: float | None = None,
    old: str | None = None,
    new: str | None = None,
) -> Summary:
    """Summary dict of one run (definitions in the module docstring).

        s = summarize(samples, strategy="rolling-update", update_start_ms=2000.0, old="v1", new="v2")
        s["downtime_ms"], s["overlap_ms"]
    """
    ordered = sorted(samples, key=lambda s: s.t_ms)
    return {
        "strategy": strategy,
        **metrics(ordered, update_start_ms=update_start_ms, old=old, new=new),  # type: ignore[typeddict-item]
        "rollout_seconds": None if rollout_seconds is None else round(rollout_seconds, 2),
        "timeline": [point(s, update_start_ms) for s in ordered],
    }


def _seconds(ms: float | None, signed: bool = False) -> str:
    if ms is None:
        return "-"
    text = f"{ms / 1000:+.2f}s" if signed else f"{ms / 1000:.2f}s"
    return text.replace("-0.00s", "+0.00s")


def cells(s: Metrics | Summary | dict) -> dict[str, str]:
    """The table's text of each number (times in seconds; first/last relative to the update),
    shared by `render_table` and the web page."""
    rollout = s.get("rollout_seconds")
    return {
        "requests": str(s["requests"]),
        "failures": str(s["failures"]),
        "downtime_ms": _seconds(s["downtime_ms"]),
        "overlap_ms": _seconds(s["overlap_ms"]),
        "first_new_ms": _seconds(s["first_new_ms"], signed=True),
        "last_old_ms": _seconds(s["last_old_ms"], signed=True),
        "rollout_seconds": "-" if rollout is None else f"{rollout:.1f}s",
    }


def render_table(summaries: Sequence[Summary]) -> str:
    """A small fixed-width table, one row per run (times in seconds; first/last relative to update).

        print(render_table([recreate, rolling, blue_green]))
    """
    header = ("strategy", "requests", "failures", "downtime", "overlap", "first new", "last old", "rollout")
    rows = [header] + [(s["strategy"], *cells(s).values()) for s in summaries]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    return "\n".join(lines)
