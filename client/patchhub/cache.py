"""The local cache: downloaded files keyed by sha256, and the ids of resumable uploads in flight.

Layout under the cache root (``~/.cache/patchhub`` or ``PATCHHUB_CACHE``)::

    blobs/ab/<sha256>.safetensors   complete, verified files (never modified once renamed into place)
    blobs/ab/<sha256>.incomplete    a download in progress; a later download resumes it with Range
    blobs/ab/<sha256>.lock          held while one process downloads that blob
    uploads/<key>.json              the upload id of an interrupted resumable upload, to continue it
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):  # it becomes a path: refuse anything else
            raise ValueError(f"not a sha256 hex digest: {sha256[:80]!r}")
        return self.root / "blobs" / sha256[:2]

    def path(self, sha256: str) -> Path:
        return self._dir(sha256) / f"{sha256}.safetensors"

    def incomplete_path(self, sha256: str) -> Path:
        return self._dir(sha256) / f"{sha256}.incomplete"

    def lookup(self, sha256: str, size: int) -> Path | None:
        """The cached file for this blob, if it is there whole."""
        path = self.path(sha256)
        try:
            return path if path.stat().st_size == size else None
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def locked(self, sha256: str) -> Iterator[None]:
        """Hold the blob's lock (between processes and threads) while downloading it."""
        directory = self._dir(sha256)
        directory.mkdir(parents=True, exist_ok=True)
        with FileLock(directory / f"{sha256}.lock"):
            yield

    # Resumable uploads: remember the upload id so a rerun after a crash continues it.

    def _upload_record(self, key: str) -> Path:
        if not re.match(r"^[A-Za-z0-9._-]+$", key):
            raise ValueError(f"bad upload key {key!r}")
        return self.root / "uploads" / f"{key}.json"

    def recall_upload(self, key: str) -> str | None:
        try:
            data = json.loads(self._upload_record(key).read_text())
        except (OSError, ValueError):
            return None
        upload_id = data.get("upload_id") if isinstance(data, dict) else None
        return upload_id if isinstance(upload_id, str) else None

    def remember_upload(self, key: str, upload_id: str) -> None:
        record = self._upload_record(key)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"upload_id": upload_id}))

    def forget_upload(self, key: str) -> None:
        self._upload_record(key).unlink(missing_ok=True)
