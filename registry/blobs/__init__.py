"""Content-addressed byte storage: local directory or S3. Hashing and validation live above this."""

from registry.blobs.base import BlobInfo, BlobNotFound, BlobStore, BlobStoreUnavailable, BlobWriter
from registry.blobs.factory import open_blob_store
from registry.blobs.local import LocalBlobStore
from registry.blobs.s3 import S3_ERRORS, S3BlobStore
from registry.blobs.s3_client import S3Options, create_bucket_if_missing, make_s3_client

# Errors a store raises that may mean it is unavailable (BlobStore.unavailable_reason says which do).
BLOB_STORE_ERRORS: tuple[type[Exception], ...] = (BlobStoreUnavailable, *S3_ERRORS)

__all__ = [
    "BLOB_STORE_ERRORS",
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreUnavailable",
    "BlobWriter",
    "LocalBlobStore",
    "S3BlobStore",
    "S3Options",
    "create_bucket_if_missing",
    "make_s3_client",
    "open_blob_store",
]
