"""Content-addressed byte storage: local directory or S3. Hashing and validation live above this."""

from registry.blobs.base import BlobInfo, BlobNotFound, BlobStore, BlobStoreUnavailable, BlobWriter
from registry.blobs.factory import open_blob_store
from registry.blobs.local import LocalBlobStore
from registry.blobs.s3 import S3BlobStore
from registry.blobs.s3_client import S3Options, create_bucket_if_missing, make_s3_client

__all__ = [
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
