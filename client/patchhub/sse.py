"""Reading a stream with a deadline (the job event stream; its format is parsed by httpx-sse).

Kept by hand on purpose: httpx's timeouts bound each read, not a whole wait, and a stream that stays open
(the service sends keep-alives) would hold its caller past any ``timeout``; no library does this part.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The deadline passed while waiting for the next item of a stream."""


class ThreadedReader(Generic[T]):
    """Reads a blocking iterator on a daemon thread so the consumer can stop waiting at a deadline.

    A network read cannot be interrupted from outside, so a stream that stays quiet would hold its
    caller past any timeout; here only the reader thread waits, and it stops at its next item once the
    consumer has gone (``close``), or when the stream ends. Exceptions from the iterator are raised to the
    consumer.
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
