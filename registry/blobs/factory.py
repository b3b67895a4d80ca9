"""Pick a blob store from a URL: ``file:///abs/path`` or a plain path, or ``s3://bucket[/prefix]``."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from registry.blobs.base import BlobStore
from registry.blobs.local import LocalBlobStore
from registry.blobs.s3 import S3BlobStore
from registry.blobs.s3_client import S3Options, make_presign_client, make_s3_client
from registry.blobs.s3_presign import S3Presigner


def open_blob_store(url: str, *, s3: S3Options | None = None) -> BlobStore:
    """``s3`` configures the endpoint and client for ``s3://`` URLs (defaults: AWS, boto3 credentials)."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if len(parts.netloc) < 3:
            raise ValueError(f"S3 blob URL needs a bucket name of 3+ characters: {url!r}")
        options = s3 or S3Options()
        presigner = (
            S3Presigner(make_presign_client(options), parts.netloc, options.presign_expiry_s)
            if options.redirects
            else None
        )
        return S3BlobStore(
            make_s3_client(options),
            parts.netloc,
            unquote(parts.path),
            part_size=options.part_size,
            parts_in_flight=options.parts_in_flight,
            list_page_size=options.list_page_size,
            presigner=presigner,
        )
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file blob URL must name a local absolute path (file:///...): {url!r}")
        return LocalBlobStore(unquote(parts.path))
    if parts.scheme == "" or len(parts.scheme) == 1:  # a plain path (or a Windows drive letter)
        return LocalBlobStore(url)
    raise ValueError(f"unsupported blob store URL {url!r}: use file:///path or s3://bucket/prefix")
