"""Local-directory-only behaviour: files stay inside the root, are readable, and staging is private."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from registry.blobs import BlobStoreUnavailable, LocalBlobStore


def test_blob_is_a_readable_file_under_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "root")
    with store.open_writer() as writer:
        writer.write(b"weights")
        assert [path.parent.name for path in (tmp_path / "root").rglob("*") if path.is_file()] == [".staging"]
        writer.commit("blobs/sha256/ab/cd")
    path = tmp_path / "root" / "blobs" / "sha256" / "ab" / "cd"
    assert path.read_bytes() == b"weights"
    assert path.stat().st_mode & stat.S_IROTH  # workers running as another user can read it
    assert list((tmp_path / "root" / ".staging").iterdir()) == []


def test_escaping_keys_create_nothing_outside_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "root")
    for key in ("../escaped", "a/../../escaped", str(tmp_path / "escaped")):
        writer = store.open_writer()
        writer.write(b"x")
        with pytest.raises(ValueError):
            writer.commit(key)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["root"]


def test_check_fails_once_the_directory_is_gone(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "root")
    store.check()
    shutil.rmtree(tmp_path / "root")
    with pytest.raises(BlobStoreUnavailable):
        store.check()
