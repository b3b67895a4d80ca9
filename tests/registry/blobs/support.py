"""Helpers shared by the blob store tests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from registry.blobs import BlobStore, LocalBlobStore, S3BlobStore

MiB = 1024 * 1024
PART_SIZE = 5 * MiB  # the S3 minimum, so multipart paths run on a few MiB


class ManualClock:
    """Real time plus an offset the test moves forward: ages staged uploads without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def staged_items(store: BlobStore) -> int:
    """What a crash would leave behind: temp files, or multipart uploads and staging objects."""
    if isinstance(store, LocalBlobStore):
        return sum(1 for _ in store.staging_dir.iterdir())
    assert isinstance(store, S3BlobStore)
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    staged = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.staging_prefix)
    return len(uploads) + staged["KeyCount"]


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)
