"""Timeline metrics of a rollout seen through the prober: downtime, overlap, first new / last old.

Definitions (all times in ms; samples are ordered by the time the request was sent):

- ``requests``: number of samples; ``failures``: samples that got no good answer.
- ``downtime_ms``: the longest span with no successful answer. For each run of consecutive
  failed samples it is measured from the last success before the run (when it was sent) to the
  moment the first success after it was answered (sent + latency: a request that waited for the
  outage to end, e.g. a connection retried by TCP after 1 s, is a success but the wait was part
  of the outage). A run at the very start is measured from its first sample; a run that lasts to
  the end is measured to the last sample. 0 when nothing failed.
- ``overlap_ms``: the span in which both the old and the new version answered: from the first
  new-version answer to the last old-version answer, when the first new one precedes the last old
  one; else 0 (a clean switch).
- ``first_new_ms`` / ``last_old_ms``: first new-version answer and last old-version answer,
  relative to the update start (negative = before it); null when that version never answered.
- ``rollout_seconds``: measured by the caller (update start -> rollout complete); null if unknown.
- ``timeline``: every sample as ``{"t_ms", "ok", "version", "latency_ms"}`` (a failed one also
  ``"error"``: "refused", "timeout", "HTTP 503", ...) with ``t_ms``
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


class Point(TypedDict, total=False):
    t_ms: float
    ok: bool
    version: str | None
    latency_ms: float
    error: str  # failed points only: "refused", "timeout", "HTTP 503", ...


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
        end = _answered(samples[j + 1]) if j + 1 < n else samples[j].t_ms
        longest = max(longest, end - start)
        i = j + 1
    return longest


def _answered(s: SampleLike) -> float:
    """When a successful request was answered (ms): sent + latency."""
    return s.t_ms + max(0.0, s.latency_ms)


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
    first_new = next(
        (s.t_ms for s in ordered if s.ok and new is not None and s.version == new), None
    )
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


class RunningMetrics:
    """`metrics()` of a growing list of samples (each call: a snapshot ordered by t_ms), in time
    proportional to the samples that are new or not yet settled, not to the whole run: the live
    web page asks several times a second during runs of thousands of requests.

    Samples older than ``settle_ms`` before the newest one are folded into a running state once; a
    request recorded later than that (slower than any probe timeout) makes it start over, so the
    result is always exactly ``metrics(ordered, update_start_ms=...)``.

        running = RunningMetrics()
        numbers = running.update(prober.samples(), update_start_ms=t_update)
    """

    def __init__(self, settle_ms: float = 3000.0) -> None:
        self.settle_ms = settle_ms
        self._settled = _Fold()
        self._count = 0  # samples folded into _settled
        self._watermark = float("-inf")

    def update(self, ordered: Sequence[SampleLike], *, update_start_ms: float = 0.0) -> Metrics:
        from bisect import bisect_right

        def key(s: SampleLike) -> float:
            return s.t_ms

        if self._count and bisect_right(ordered, self._watermark, key=key) != self._count:
            self.__init__(self.settle_ms)  # type: ignore[misc]  # a late sample among the settled ones
        if ordered:
            watermark = max(self._watermark, ordered[-1].t_ms - self.settle_ms)
            settle_to = bisect_right(ordered, watermark, key=key)
            for s in ordered[self._count : settle_to]:
                self._settled.add(s)
            self._count, self._watermark = settle_to, watermark
        fold = self._settled.copy()
        for s in ordered[self._count :]:
            fold.add(s)
        return fold.result(len(ordered), update_start_ms)


class _Fold:
    """The running state behind `RunningMetrics` (same definitions as `metrics`/`downtime_ms`)."""

    __slots__ = ("failures", "first", "last", "last_ok", "prev_t", "run_start", "longest")

    def __init__(self) -> None:
        self.failures = 0
        self.first: dict[str, float] = {}  # version -> first good answer (t_ms)
        self.last: dict[str, float] = {}  # version -> last good answer
        self.last_ok: str | None = None  # version of the last good answer
        self.prev_t: float | None = None
        self.run_start: float | None = None  # start of the current run of failures
        self.longest = 0.0

    def copy(self) -> _Fold:
        out = _Fold()
        out.failures, out.last_ok, out.prev_t = self.failures, self.last_ok, self.prev_t
        out.run_start, out.longest = self.run_start, self.longest
        out.first, out.last = dict(self.first), dict(self.last)
        return out

    def add(self, s: SampleLike) -> None:
        if not s.ok:
            self.failures += 1
            if self.run_start is None:
                self.run_start = self.prev_t if self.prev_t is not None else s.t_ms
        else:
            if self.run_start is not None:
                self.longest = max(self.longest, _answered(s) - self.run_start)
                self.run_start = None
            if s.version is not None:
                self.first.setdefault(s.version, s.t_ms)
                self.last[s.version] = s.t_ms
                self.last_ok = s.version
        self.prev_t = s.t_ms

    def result(self, requests: int, update_start_ms: float) -> Metrics:
        longest = self.longest
        if self.run_start is not None and self.prev_t is not None:
            longest = max(longest, self.prev_t - self.run_start)
        old = min(self.first, key=self.first.__getitem__) if self.first else None
        new = self.last_ok if self.last_ok != old else None
        first_new = self.first.get(new) if new is not None else None
        last_old = self.last.get(old) if old is not None else None
        overlap = last_old - first_new if first_new is not None and last_old is not None else 0.0

        def rel(t: float | None) -> float | None:
            return None if t is None else round(t - update_start_ms, 1)

        return {
            "requests": requests,
            "failures": self.failures,
            "downtime_ms": round(longest, 1),
            "overlap_ms": round(max(0.0, overlap), 1),
            "first_new_ms": rel(first_new),
            "last_old_ms": rel(last_old),
        }


def point(s: SampleLike, origin_ms: float = 0.0) -> Point:
    """One sample as a timeline point, ``t_ms`` relative to ``origin_ms`` (the update start); a
    failed one also says why (``error``), when the sample knows."""
    p: Point = {
        "t_ms": round(s.t_ms - origin_ms, 1),
        "ok": s.ok,
        "version": s.version,
        "latency_ms": round(s.latency_ms, 2),
    }
    error = getattr(s, "error", None)
    if not s.ok and error:
        p["error"] = error
    return p


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
        if j + 1 < n:  # to when the first success after the run was answered (downtime_ms)
            nxt = timeline[j + 1]
            end = nxt["t_ms"] + max(0.0, nxt.get("latency_ms", 0.0))
        else:
            end = timeline[j]["t_ms"]
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
        **metrics(ordered, update_start_ms=update_start_ms, old=old, new=new),
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
    header = (
        "strategy",
        "requests",
        "failures",
        "downtime",
        "overlap",
        "first new",
        "last old",
        "rollout",
    )
    rows = [header] + [(s["strategy"], *cells(s).values()) for s in summaries]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths))
        )
        for r in rows
    ]
    return "\n".join(lines)
