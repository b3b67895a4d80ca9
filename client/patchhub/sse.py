"""Server-sent events: parsing a ``text/event-stream`` body, and reading a stream with a deadline.

The parser follows the WHATWG rules the service relies on: ``event:`` names the event (default
``message``), ``data:`` lines are joined with newlines, a blank line dispatches, ``:`` starts a comment,
and ``id:``/``retry:`` are accepted and ignored.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True)
class ServerSentEvent:
    event: str  # the event type; "message" when the stream names none
    data: str


def parse_event_stream(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events from the lines of an event stream (line endings already removed)."""
    event = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)


class DeadlineExceeded(Exception):
    """The deadline passed while waiting for the next item of a stream."""


class ThreadedReader(Generic[T]):
    """Reads a blocking iterator on a daemon thread so the consumer can stop waiting at a deadline.

    A network read cannot be interrupted from outside, so a stream that stays quiet would hold its
    caller past any timeout; here only the reader thread waits, and it stops at its next item once the
    consumer has gone (``close``). Exceptions from the iterator are raised to the consumer.
    """

    def __init__(self, source: Iterator[T]) -> None:
        self._source = source
        self._items: queue.Queue[tuple[T | None, BaseException | None, bool]] = queue.Queue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="patchhub-sse-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._source:
                if self._stopped.is_set():
                    break
                self._items.put((item, None, False))
        except BaseException as exc:  # handed to the consumer, which decides
            self._items.put((None, exc, True))
        else:
            self._items.put((None, None, True))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def items(self, deadline: float | None) -> Iterator[T]:
        """The items in order; raises ``DeadlineExceeded`` when ``time.monotonic()`` passes ``deadline``."""
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DeadlineExceeded
            try:
                item, error, finished = self._items.get(timeout=remaining)
            except queue.Empty:
                raise DeadlineExceeded from None
            if error is not None:
                raise error
            if finished:
                return
            yield cast(T, item)

    def close(self) -> None:
        self._stopped.set()
