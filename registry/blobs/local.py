"""Blob store on a local directory: ``<root>/<key>``, staged as temp files in ``<root>/.staging``.

Commit is fsync + ``os.replace`` (atomic on POSIX within one filesystem, which staging inside the root
guarantees) + fsync of the parent directory, so a committed blob survives a crash. Unlike S3, a key
cannot be both a blob and a "directory" of others ("a" and "a/b"); content-addressed layouts never are.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from patchhub.writeback import Writeback
from registry.blobs.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    BlobWriter,
    resolve_range,
)
from registry.blobs.keys import STAGING_DIR, validate_key, validate_prefix

_STAGED_SUFFIX = ".part"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stream_file(handle: BinaryIO, remaining: int, chunk_size: int) -> Iterator[bytes]:
    with handle:
        while remaining > 0:
            chunk = handle.read(min(chunk_size, remaining))
            if not chunk:
                raise OSError("blob file shrank while being read")
            remaining -= len(chunk)
            yield chunk


class LocalBlobWriter(BlobWriter):
    """Stages into ``.staging``. Every WRITEBACK_EVERY bytes a helper thread ``fdatasync``s what is written
    so far, so the disk writes while bytes still arrive and the fsync at commit has only the tail left."""

    def __init__(self, store: LocalBlobStore) -> None:
        super().__init__()
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.staging_dir, suffix=_STAGED_SUFFIX)
        self._path = Path(name)
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide committed blobs from workers running as other users
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._writeback = Writeback(fd)

    def _write(self, data: memoryview) -> None:
        self._file.write(data)
        if self._writeback.due(len(data)):
            self._file.flush()
            self._writeback.start()

    def _commit(self, key: str) -> None:
        target = self._store.path_for(key)
        self._file.flush()
        self._writeback.finish()
        os.fsync(self._file.fileno())
        self._file.close()
        for attempt in range(3):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(self._path, target)
                break
            except FileNotFoundError:  # a delete pruned the emptied directory between mkdir and replace
                if attempt == 2 or not self._path.exists():
                    raise
        _fsync_dir(target.parent)

    def _abort(self) -> None:
        self._writeback.wait()  # never close the file under a running fdatasync
        self._file.close()
        self._path.unlink(missing_ok=True)


class LocalBlobStore(BlobStore):
    def __init__(self, root: str | os.PathLike[str], *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.root = Path(root).resolve()
        self.staging_dir = self.root / STAGING_DIR
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock  # injectable so tests can age staged files without sleeping

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def open_writer(self, key_hint: str | None = None) -> LocalBlobWriter:
        if key_hint is not None:
            validate_key(key_hint)
        return LocalBlobWriter(self)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        path = self.path_for(key)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        try:
            handle: BinaryIO = open(self.path_for(key), "rb")  # noqa: SIM115 - closed by _stream_file
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(key) from None
        try:
            start, stop = resolve_range(start, end, os.fstat(handle.fileno()).st_size)
            handle.seek(start)
        except BaseException:
            handle.close()
            raise
        return _stream_file(handle, stop - start, chunk_size)

    def delete(self, key: str) -> None:
        """Remove the blob, and the directories it leaves empty (as keys' "directories" vanish on S3)."""
        path = self.path_for(key)
        path.unlink(missing_ok=True)
        for directory in path.parents:
            if directory == self.root or self.root not in directory.parents:
                break
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone): the directories above are not empty either
                break

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        validate_prefix(prefix)
        # Walk from the deepest directory the prefix names completely; filter the rest by string.
        base_dir = prefix.rpartition("/")[0]
        start = self.root.joinpath(*base_dir.split("/")) if base_dir else self.root
        return self._walk(start, f"{base_dir}/" if base_dir else "", prefix)

    def _walk(self, directory: Path, key_prefix: str, prefix: str) -> Iterator[BlobInfo]:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        # Sorting directories as "name/" yields global key order: every key inside "a/" sorts after
        # "a-x" and before "a0", exactly where "a/" itself sorts.
        entries.sort(key=lambda e: e.name + "/" if e.is_dir(follow_symlinks=False) else e.name)
        for entry in entries:
            key = key_prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if key == STAGING_DIR:
                    continue
                dir_key = key + "/"
                if dir_key.startswith(prefix) or prefix.startswith(dir_key):
                    yield from self._walk(Path(entry.path), dir_key, prefix)
            elif entry.is_file(follow_symlinks=False) and key.startswith(prefix):
                stat = entry.stat(follow_symlinks=False)
                modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
                yield BlobInfo(key=key, size=stat.st_size, modified=modified)

    def clean_staging(self, older_than: timedelta) -> int:
        cutoff = (self._clock() - older_than).timestamp()
        removed = 0
        for entry in os.scandir(self.staging_dir):
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # committed or aborted meanwhile
        self._remove_empty_directories(cutoff)
        return removed

    def _remove_empty_directories(self, cutoff: float) -> None:
        """Directories emptied before blobs were deleted with them (older parts of ``uploads/<id>/``)."""
        for directory, subdirectories, files in os.walk(self.root, topdown=False):
            path = Path(directory)
            if files or any((path / d).exists() for d in subdirectories) or path == self.root:
                continue
            if path == self.staging_dir or self.staging_dir in path.parents:
                continue
            try:
                if path.stat().st_mtime <= cutoff:
                    path.rmdir()
            except OSError:
                continue  # filled or removed meanwhile

    def check(self) -> None:
        if not self.staging_dir.is_dir():
            raise BlobStoreUnavailable(f"blob directory {self.root} is missing")
        if not os.access(self.root, os.W_OK | os.X_OK) or not os.access(self.staging_dir, os.W_OK):
            raise BlobStoreUnavailable(f"blob directory {self.root} is not writable")
