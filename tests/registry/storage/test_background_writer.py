"""The background writer writes every piece in order and reports a failed write to the producer."""

from __future__ import annotations

import pytest

from registry.storage.background_writer import BackgroundWriter


def test_pieces_are_written_in_order() -> None:
    written: list[bytes] = []
    writer = BackgroundWriter(written.append, depth=2)
    pieces = [bytes([i]) * (i + 1) for i in range(50)]
    for piece in pieces:
        writer.put(piece)
    writer.close()
    assert written == pieces


def test_a_failed_write_surfaces_to_the_producer() -> None:
    def failing(piece: bytes) -> None:
        raise OSError("disk full")

    writer = BackgroundWriter(failing, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for _ in range(100):
            writer.put(b"x" * 10)
        writer.close()
