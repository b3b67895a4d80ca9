"""iter_in_order: ranges fetched several at a time are handed on strictly in order, with a bounded number in
flight, and stopping (early, or on a failed fetch) leaves no fetch thread running."""

from __future__ import annotations

import random
import threading
import time

import pytest

from registry.storage.ranges import ByteRange
from registry.storage.read_ahead import THREAD_PREFIX, iter_in_order, split


def _read_ahead_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(THREAD_PREFIX)]


class Fetches:
    """A fake store: each range's bytes are its offset, repeated; fetches take a random short while, so later
    ranges often finish first."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most_running = 0
        self.started: list[int] = []
        self.stopped_early = 0
        self.fail_at = fail_at

    def __call__(self, span: ByteRange, stop: threading.Event) -> list[bytes]:
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self.started.append(span.start)
        try:
            for _ in range(5):
                if stop.is_set():
                    with self.lock:
                        self.stopped_early += 1
                    return []
                time.sleep(random.uniform(0, 0.004))
            if span.start == self.fail_at:
                raise ConnectionError(f"range at {span.start} failed")
            return [bytes([span.start % 251]) * span.length]
        finally:
            with self.lock:
                self.running -= 1


def test_split_covers_the_range_with_a_shorter_last_piece() -> None:
    assert split(0, 10, 4) == [ByteRange(0, 4), ByteRange(4, 8), ByteRange(8, 10)]
    assert split(0, 8, 4) == [ByteRange(0, 4), ByteRange(4, 8)]
    assert split(0, 0, 4) == []
    with pytest.raises(ValueError):
        split(0, 8, 0)


def test_ranges_come_back_in_order_with_at_most_in_flight_fetches_at_once() -> None:
    fetches = Fetches()
    spans = split(0, 40 * 7 + 3, 7)
    got = list(iter_in_order(fetches, spans, in_flight=4))
    assert got == [bytes([span.start % 251]) * span.length for span in spans]
    assert fetches.most_running <= 4
    assert sorted(fetches.started) == [span.start for span in spans]  # each range fetched once
    assert not _read_ahead_threads()


def test_stopping_early_cancels_the_fetches_not_started_and_stops_the_running_ones() -> None:
    fetches = Fetches()
    spans = split(0, 100 * 7, 7)
    reader = iter_in_order(fetches, spans, in_flight=4)
    assert next(reader) == bytes([0]) * 7
    assert next(reader) == bytes([7]) * 7
    reader.close()  # what verify_stream's caller does when a check fails
    assert not _read_ahead_threads()
    assert len(fetches.started) <= 2 + 4  # never more than in_flight ahead of what was consumed
    assert fetches.running == 0


def test_a_failed_fetch_is_raised_in_order_and_stops_the_others() -> None:
    fetches = Fetches(fail_at=3 * 7)
    spans = split(0, 50 * 7, 7)
    got: list[bytes] = []
    with pytest.raises(ConnectionError, match="range at 21"):
        for piece in iter_in_order(fetches, spans, in_flight=4):
            got.append(piece)
    assert got == [bytes([start]) * 7 for start in (0, 7, 14)]  # everything before the failed range, in order
    assert not _read_ahead_threads()
    assert len(fetches.started) <= 4 + 3 and fetches.running == 0


def test_a_reader_that_fails_while_consuming_and_closes_leaves_no_thread() -> None:
    fetches = Fetches()
    reader = iter_in_order(fetches, split(0, 30 * 7, 7), in_flight=3)
    with pytest.raises(ValueError):
        try:
            for index, _ in enumerate(reader):
                if index == 4:
                    raise ValueError("the check failed")
        finally:
            reader.close()
    assert not _read_ahead_threads() and fetches.running == 0
