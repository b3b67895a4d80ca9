"""``patchhub-server storage init``: create the bucket (or directory) the blob URL names, when it is missing."""

from __future__ import annotations

from registry.blobs import BlobStore, S3BlobStore, create_bucket_if_missing


def init_blob_store(store: BlobStore, region: str) -> str:
    """Make ``store`` usable and say what it is; a second call changes nothing."""
    if isinstance(store, S3BlobStore):
        create_bucket_if_missing(store.client, store.bucket, region)
        store.check()
        return f"S3 bucket {store.bucket!r} is ready"
    store.check()  # a local store makes its directories when opened
    return f"blob directory {getattr(store, 'root', store)} is ready"
