"""Request bodies reach their writer whole and in order, one piece written while the next one is received."""

from __future__ import annotations

import asyncio
import threading

import pytest
from starlette.requests import Request
from starlette.types import Message

from registry.errors import PayloadTooLarge
from registry.storage import streaming

PIECE = 1 << 16


def _request(chunks: list[bytes], received: list[int], more: threading.Event | None = None) -> Request:
    """A request whose body arrives as ``chunks``; ``more`` is set once a fourth message was asked for."""
    messages = iter(chunks)

    async def receive() -> Message:
        received.append(len(received))
        if more is not None and len(received) >= 4:
            more.set()
        chunk = next(messages, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    return Request({"type": "http", "method": "PUT", "headers": [], "path": "/"}, receive)


def test_the_next_piece_arrives_while_the_previous_one_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "INGEST_CHUNK", PIECE)
    chunks = [bytes([i]) * (PIECE // 2) for i in range(8)]  # a piece is two messages
    received: list[int] = []
    more = threading.Event()
    written: list[bytes] = []
    busy = threading.Lock()

    def write(data: bytes) -> None:
        assert busy.acquire(blocking=False), "two writes at once"
        try:
            if not written:
                assert more.wait(10), "nothing was received while the first piece was written"
            written.append(data)
        finally:
            busy.release()

    size = asyncio.run(streaming.feed_request_body(_request(chunks, received, more), write))
    assert size == sum(map(len, chunks))
    assert b"".join(written) == b"".join(chunks)


def test_a_failing_write_stops_the_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "INGEST_CHUNK", PIECE)
    chunks = [b"x" * PIECE for _ in range(50)]
    received: list[int] = []
    calls: list[int] = []

    def write(data: bytes) -> None:
        calls.append(len(data))
        raise PayloadTooLarge("too big")

    with pytest.raises(PayloadTooLarge):
        asyncio.run(streaming.feed_request_body(_request(chunks, received), write))
    assert calls == [PIECE]
    assert len(received) <= 3  # the failing piece and at most the one after it were read
