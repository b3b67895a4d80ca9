"""The local store leaves no empty directories behind: deleting a key's last blob removes its directories
(as on S3, where a prefix exists only while it has objects), and cleaning staging removes old empty ones."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from registry.blobs import LocalBlobStore
from tests.registry.blobs.support import ManualClock


def _put(store: LocalBlobStore, key: str, data: bytes = b"part") -> None:
    with store.open_writer(key) as writer:
        writer.write(data)
        writer.commit(key)


def test_deleting_the_last_blob_of_a_directory_removes_the_directory(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    _put(store, "uploads/abc/00001")
    _put(store, "uploads/abc/00002")
    _put(store, "uploads/def/00001")
    store.delete("uploads/abc/00001")
    assert (store.root / "uploads" / "abc").is_dir()  # still holds a part
    store.delete("uploads/abc/00002")
    assert not (store.root / "uploads" / "abc").exists()
    assert (store.root / "uploads" / "def").is_dir()
    store.delete("uploads/def/00001")
    assert not (store.root / "uploads").exists()
    assert store.root.is_dir() and store.staging_dir.is_dir()
    _put(store, "uploads/abc/00001")  # a key under a removed directory can be written again
    assert store.exists("uploads/abc/00001")


def test_cleaning_staging_removes_empty_directories_older_than_the_cutoff(tmp_path: Path) -> None:
    clock = ManualClock()
    store = LocalBlobStore(tmp_path / "blobs", clock=clock)
    left_empty = store.root / "uploads" / "old"
    left_empty.mkdir(parents=True)  # what earlier versions left after an upload's parts were deleted
    _put(store, "sha256/ab/kept")
    assert store.clean_staging(timedelta(hours=1)) == 0
    assert left_empty.is_dir()  # young: a commit may be about to fill it
    clock.advance(timedelta(hours=2))
    store.clean_staging(timedelta(hours=1))
    assert not (store.root / "uploads").exists()
    assert store.exists("sha256/ab/kept") and store.staging_dir.is_dir()
    assert sorted(os.listdir(store.root)) == sorted([".staging", "sha256"])
