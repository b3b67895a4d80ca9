"""A body produced ahead of its reader: same pieces in order, the producer's errors reach the reader, and a
reader that stops early stops the producer (whose cleanup has run by the time the reader is closed)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from registry.storage.run_ahead import ReaderGone, RunAhead


def test_pieces_arrive_in_order_and_the_producer_runs_ahead() -> None:
    produced: list[int] = []
    ahead = threading.Event()

    def produce(emit: Callable[[bytes], None]) -> None:
        for i in range(20):
            emit(bytes([i]))
            produced.append(i)
            if i == 2:
                ahead.set()

    body = iter(RunAhead(produce, depth=4))
    assert next(body) == b"\x00"
    assert ahead.wait(10), "the producer did not run ahead of the reader"
    assert [next(body)[0] for _ in range(19)] == list(range(1, 20))
    assert list(body) == []


def test_a_producer_error_is_raised_to_the_reader() -> None:
    def produce(emit: Callable[[bytes], None]) -> None:
        emit(b"first")
        raise OSError("disk gone")

    body = iter(RunAhead(produce))
    assert next(body) == b"first"
    with pytest.raises(OSError, match="disk gone"):
        next(body)


def test_a_reader_that_stops_stops_the_producer() -> None:
    outcome: list[str] = []

    def produce(emit: Callable[[bytes], None]) -> None:
        try:
            for _ in range(1000):
                emit(b"x" * 10)
            outcome.append("finished")
        except ReaderGone:
            outcome.append("stopped")
            raise

    body = iter(RunAhead(produce, depth=2))
    next(body)
    body.close()  # what the server does when the client disconnects
    assert outcome == ["stopped"]
