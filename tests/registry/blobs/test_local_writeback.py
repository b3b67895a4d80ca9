"""Large local writes are flushed to disk while they arrive; a flush that fails fails the commit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchhub import writeback
from registry.blobs import local
from registry.blobs.local import LocalBlobStore


def test_large_writes_are_flushed_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[int] = []
    real = os.fdatasync
    monkeypatch.setattr(writeback.os, "fdatasync", lambda fd: (flushed.append(fd), real(fd)))
    store = LocalBlobStore(tmp_path)
    data = os.urandom(1 << 20)
    with store.open_writer() as writer:
        monkeypatch.setattr(writer, "_writeback", writeback.Writeback(writer._file.fileno(), every=2 << 20))
        for _ in range(8):
            writer.write(data)
        writer.commit("blobs/big")
    assert flushed, "nothing was flushed before the commit"
    assert (tmp_path / "blobs" / "big").read_bytes() == data * 8


def test_a_failed_background_flush_fails_the_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(writeback.os, "fdatasync", failing)
    store = LocalBlobStore(tmp_path)
    with store.open_writer() as writer:
        monkeypatch.setattr(writer, "_writeback", writeback.Writeback(writer._file.fileno(), every=1 << 20))
        writer.write(os.urandom(3 << 20))
        with pytest.raises(OSError, match="Input/output error"):
            writer.commit("blobs/lost")
    assert not store.exists("blobs/lost")
    assert list((tmp_path / local.STAGING_DIR).iterdir()) == []
