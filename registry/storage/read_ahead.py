"""Reading one stored object as byte ranges fetched several at a time, handed on strictly in order.

One GET stream is limited per connection (about 100 MB/s on S3: some 10 s per GiB) while sha256 runs at more
than 1 GB/s, so a reader that hashes what one stream gives waits on the network; boto3's transfer manager
downloads in concurrent ranged GETs for that reason. ``iter_in_order`` keeps up to ``in_flight`` ranges being
fetched on their own threads while its caller consumes (validates, hashes) the earliest one, so the network
reads overlap the hashing (hashlib releases the GIL on large buffers) and memory stays bounded at about
``in_flight + 1`` ranges. Stopping early (the caller's check failed, or a fetch did) sets the event each fetch
is given, cancels the fetches not started and waits for those running, so no thread and no open body outlives
the iteration.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from registry.storage.ranges import ByteRange

THREAD_PREFIX = "read-ahead"

# fetch(span, stop) -> the span's bytes in pieces; it should return early (with anything) once ``stop`` is set.
Fetch = Callable[[ByteRange, threading.Event], list[bytes]]


def split(start: int, end: int, range_size: int) -> list[ByteRange]:
    """[start, end) as consecutive ranges of ``range_size`` bytes (the last one shorter)."""
    if range_size <= 0:
        raise ValueError("range_size must be positive")
    return [ByteRange(offset, min(offset + range_size, end)) for offset in range(start, end, range_size)]


def iter_in_order(fetch: Fetch, spans: Sequence[ByteRange], in_flight: int) -> Iterator[bytes]:
    """The pieces of every span, in span order, fetched up to ``in_flight`` spans ahead. An exception from a
    fetch is raised here; closing the iterator early stops the fetches (see the module docstring)."""
    if in_flight < 1:
        raise ValueError("in_flight must be at least 1")
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix=THREAD_PREFIX)
    waiting = iter(spans)
    pending: deque[Future[list[bytes]]] = deque()

    def submit_next() -> None:
        span = next(waiting, None)
        if span is not None:
            pending.append(pool.submit(fetch, span, stop))

    try:
        for _ in range(in_flight):
            submit_next()
        while pending:
            pieces = pending.popleft().result()
            submit_next()  # the next span starts while this one is consumed
            yield from pieces
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
