"""Traffic prober: GET a URL at a steady rate in the background and record every answer.

The schedule is open-loop: request i is due at ``t0 + i / rate`` whatever happened to earlier
requests. A small pool of worker threads (bounded, so in-flight requests are bounded) takes the
slots in order; a slow target therefore does not lower the rate until all workers are busy.

The transport is a zero-argument ``send()`` callable that returns the version text or raises.
`http_sender()` builds the host transport (one new TCP connection per request, ``Connection:
close``, so that a NodePort spreads requests over Service endpoints like ``curl`` in a loop);
an in-cluster "prober pod" transport can be plugged in the same way (for example a send() that
asks a small relay pod, reached via a NodePort on loopback, to GET the Service once and return the
version; one `kubectl exec` per request would be far too slow for 20 requests/s).

    with Prober(f"http://{nodes.host_endpoint(kube, node, 30004)}/version", rate=20) as p:
        ...  # roll out; p.elapsed_ms() marks the update start
    samples = p.samples()
"""

from __future__ import annotations

import http.client
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Send = Callable[[], str | None]
"""A transport: performs one request, returns the version answered (or None), raises on failure."""

MAX_BODY = 256  # bytes of the answer we read; /version answers "v1\n"
MAX_LAG_S = 1.0  # if the schedule is this far behind (all workers stuck), skip the missed slots


@dataclass(frozen=True, slots=True)
class Sample:
    """One probe: sent ``t_ms`` after the prober started; ``latency_ms`` until answer or error."""

    t_ms: float
    ok: bool
    version: str | None
    latency_ms: float
    error: str | None = None


class ProbeError(Exception):
    """A request that got an answer, but not a good one (e.g. HTTP 503)."""


def http_sender(url: str, timeout: float = 0.5) -> Send:
    """Host HTTP transport: one new connection per request, GET url, 200 -> stripped body text.

    send = http_sender("http://127.0.0.1:30004/version")
    send()  # -> "v1"
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"prober URL must be http://host[:port]/path, got {url!r}")
    host, port = parts.hostname, parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Connection": "close", "User-Agent": "kubetm-prober"}

    def send() -> str | None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            body = resp.read(MAX_BODY)
            if resp.status != 200:
                raise ProbeError(f"HTTP {resp.status}")
            return body.decode("utf-8", "replace").strip()[:40] or None
        finally:
            conn.close()

    return send


def describe_error(exc: BaseException) -> str:
    """Short, stable text for a failed probe ("timeout", "refused", "HTTP 503", ...)."""
    if isinstance(exc, ProbeError):
        return str(exc)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "disconnected"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:80] if text else type(exc).__name__


class Prober:
    """Open-loop traffic generator in background threads.

    ``rate`` requests/s; each request times out after ``timeout`` s; with ``duration`` the prober
    stops by itself (use `join()`), otherwise at `stop()` / the end of the ``with`` block.
    ``send`` replaces the host HTTP transport (``url`` then only labels the run).
    ``max_in_flight`` bounds concurrent requests (default: enough for ``rate`` with slow answers).

        with Prober("http://127.0.0.1:30003/version", rate=20, duration=5) as p:
            p.join()
        print(len(p.samples()))
    """

    def __init__(
        self,
        url: str,
        rate: float = 20.0,
        timeout: float = 0.5,
        duration: float | None = None,
        *,
        send: Send | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        if rate <= 0 or timeout <= 0 or (duration is not None and duration < 0):
            raise ValueError("rate and timeout must be > 0, duration >= 0")
        self.url, self.rate, self.timeout, self.duration = url, rate, timeout, duration
        self._send = send if send is not None else http_sender(url, timeout)
        # Per-socket-operation timeouts can add up to ~2x timeout per request; keep the rate anyway.
        self.max_in_flight = max_in_flight or min(64, max(4, math.ceil(rate * timeout * 2) + 2))
        self._samples: list[Sample] = []
        self._lags_ms: list[float] = []  # how late each request left vs. its open-loop slot
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next = 0
        self._skipped = 0
        self._t0 = 0.0
        self._end: float | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> Prober:
        """Start the worker threads; the schedule begins now (t_ms = 0)."""
        if self._threads:
            raise RuntimeError("prober already started")
        self._t0 = time.perf_counter()
        self._end = None if self.duration is None else self._t0 + self.duration
        for n in range(self.max_in_flight):
            t = threading.Thread(target=self._work, name=f"kubetm-prober-{n}", daemon=True)
            self._threads.append(t)
            t.start()
        return self

    def stop(self) -> None:
        """Stop sending; requests in flight finish (bounded by the timeout) and are recorded."""
        self._stop.set()
        self.join()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the workers end (with ``duration``: until the schedule is done)."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        for t in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.perf_counter())
            t.join(left)

    def __enter__(self) -> Prober:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- results -------------------------------------------------------------------------------
    def elapsed_ms(self) -> float:
        """Milliseconds since start, on the samples' clock (use it to mark the update start)."""
        return (time.perf_counter() - self._t0) * 1000.0 if self._t0 else 0.0

    def samples(self) -> list[Sample]:
        """Snapshot of the samples recorded so far, ordered by send time."""
        return sorted(self._samples, key=lambda s: s.t_ms)

    def stats(self) -> dict[str, float]:
        """Prober health: sent, skipped slots, achieved rate, schedule lag p50/p99 (ms)."""
        lags = sorted(self._lags_ms)
        n = len(lags)
        span = max((s.t_ms for s in self._samples), default=0.0) / 1000.0
        return {
            "sent": n,
            "skipped": self._skipped,
            "rate": (n - 1) / span if n > 1 and span > 0 else 0.0,
            "lag_p50_ms": lags[n // 2] if n else 0.0,
            "lag_p99_ms": lags[min(n - 1, int(n * 0.99))] if n else 0.0,
        }

    # -- worker --------------------------------------------------------------------------------
    def _claim(self) -> float:
        """Take the next open-loop slot; return its due time (perf_counter seconds)."""
        interval = 1.0 / self.rate
        with self._lock:
            i = self._next
            behind = time.perf_counter() - (self._t0 + i * interval)
            if behind > MAX_LAG_S:  # every worker was stuck: do not burst to catch up
                skip = int(behind / interval)
                self._skipped += skip
                i += skip
            self._next = i + 1
        return self._t0 + i * interval

    def _work(self) -> None:
        t0, send, stop = self._t0, self._send, self._stop
        while not stop.is_set():
            due = self._claim()
            if self._end is not None and due >= self._end:
                return
            delay = due - time.perf_counter()
            if delay > 0 and stop.wait(delay):
                return
            start = time.perf_counter()
            version: str | None = None
            error: str | None = None
            try:
                version = send()
            except Exception as exc:
                error = describe_error(exc)
            end = time.perf_counter()
            sample = Sample(
                (start - t0) * 1000.0, error is None, version, (end - start) * 1000.0, error
            )
            self._samples.append(sample)  # list.append is atomic under the GIL
            self._lags_ms.append((start - due) * 1000.0)
