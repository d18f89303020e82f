"""The event bus between a run (demo or lab, in the main thread) and the page's event streams.

Every event is kept (the replay buffer): a page that connects late, or reconnects, first gets
everything so far, then waits for more. Events are plain JSON-able dicts with a ``type``; each
gets an id (its index), which the browser's EventSource sends back as Last-Event-ID when it
reconnects, so nothing is shown twice.

    bus = EventBus()
    bus.publish({"type": "step", "text": "applying"})
    for batch in bus.follow(start=0, stop=threading.Event()):  # in a server thread
        for event_id, text in batch: ...
    bus.close()   # the run ended: streams finish once they sent every event
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

KEEPALIVE_SECONDS = 15.0


class EventBus:
    def __init__(self) -> None:
        self._events: list[str] = []  # JSON text, serialised once
        self._cond = threading.Condition()
        self._closed = False
        self._clients = 0  # streams open now
        self._connected = threading.Event()  # some page connected at least once
        self._delivered = threading.Event()  # some page received every event of a closed bus

    # -- producer side ---------------------------------------------------------------------------
    def publish(self, event: dict[str, Any]) -> int:
        """Append one event (ignored after close); returns its id."""
        text = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._cond:
            if self._closed:
                return len(self._events) - 1
            self._events.append(text)
            self._cond.notify_all()
            return len(self._events) - 1

    def close(self) -> None:
        """No more events: streams end after sending what is left."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._events)

    def events(self) -> list[dict[str, Any]]:
        """Everything published so far (decoded; for tests and the benchmark)."""
        with self._cond:
            return [json.loads(e) for e in self._events]

    # -- consumer side ---------------------------------------------------------------------------
    @property
    def clients(self) -> int:
        return self._clients

    def wait_connected(self, timeout: float | None) -> bool:
        return self._connected.wait(timeout)

    def wait_delivered(self, timeout: float | None) -> bool:
        """Wait until some page got every event of the closed bus (True), or the timeout (False)."""
        return self._delivered.wait(timeout)

    def follow(
        self, start: int, stop: threading.Event, keepalive: float = KEEPALIVE_SECONDS
    ) -> Iterator[list[tuple[int, str]]]:
        """Yield batches of ``(id, json_text)`` from ``start`` on, an empty batch as a keep-alive
        when idle; ends when the bus is closed and everything was yielded (the consumer asked for
        more after writing the last batch: the page has it all), or when ``stop`` is set."""
        index = max(0, start)
        with self._cond:
            self._clients += 1
        self._connected.set()
        try:
            while not stop.is_set():
                with self._cond:
                    if index >= len(self._events) and not self._closed:
                        self._cond.wait(keepalive)
                    batch = list(enumerate(self._events[index:], start=index))
                    closed = self._closed
                if batch:
                    yield batch
                    index += len(batch)
                    continue
                if closed:
                    self._delivered.set()
                    return
                if not stop.is_set():
                    yield []
        finally:
            with self._cond:
                self._clients -= 1

    def wake(self) -> None:
        """Wake every waiting stream (the server is stopping)."""
        with self._cond:
            self._cond.notify_all()
