"""Producing a response body on its own thread, ahead of the code that sends it.

A body produced by a plain generator is computed only when the server asks for the next piece, that is after
the previous piece was sent: the socket idles while the next piece is computed, and the computation idles
while the socket drains. ``RunAhead`` runs the producer on a thread that keeps up to ``depth`` pieces ready.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_END = object()
_POLL_SECONDS = 0.1  # how often a producer blocked on a full queue checks that its reader is still there


class ReaderGone(Exception):
    """Raised inside the producer by ``emit`` when the reader stopped iterating (the client went away)."""


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class RunAhead:
    """Iterating runs ``produce(emit)`` on a thread and yields what it emits, in order. An exception in the
    producer is raised to the reader; a reader that stops early makes the producer's next ``emit`` raise
    ``ReaderGone``, and waits for the producer to finish unwinding (its cleanup runs before this returns)."""

    def __init__(self, produce: Callable[[Callable[[bytes], None]], None], depth: int = 4) -> None:
        self._produce = produce
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._gone = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        thread = threading.Thread(target=self._run, name="run-ahead", daemon=True)
        thread.start()
        try:
            while (item := self._queue.get()) is not _END:
                if isinstance(item, _Failure):
                    raise item.error
                assert isinstance(item, bytes)
                yield item
        finally:
            self._gone.set()
            while thread.is_alive():  # unblock a producer waiting on the full queue, then let it unwind
                self._drain()
                thread.join(_POLL_SECONDS)

    def _run(self) -> None:
        try:
            self._produce(self._emit)
        except ReaderGone:
            return
        except BaseException as exc:  # handed to the reader, who raises it
            self._put(_Failure(exc))
            return
        self._put(_END)

    def _emit(self, piece: bytes) -> None:
        if not self._put(piece):
            raise ReaderGone

    def _put(self, item: object) -> bool:
        while not self._gone.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
