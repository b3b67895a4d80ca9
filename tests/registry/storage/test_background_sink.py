"""The background sink writes every piece in order, hashes them, and reports a failed write to the producer."""

from __future__ import annotations

import hashlib

import pytest

from registry.storage.background_sink import BackgroundSink


def test_pieces_are_written_in_order_and_hashed() -> None:
    written: list[bytes] = []
    sink = BackgroundSink(written.append, depth=2)
    pieces = [bytes([i]) * (i + 1) for i in range(50)]
    for piece in pieces:
        sink.put(piece)
    assert sink.close() == hashlib.sha256(b"".join(pieces)).hexdigest()
    assert written == pieces


def test_a_failed_write_surfaces_to_the_producer() -> None:
    def failing(piece: bytes) -> None:
        raise OSError("disk full")

    sink = BackgroundSink(failing, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for _ in range(100):
            sink.put(b"x" * 10)
        sink.close()
