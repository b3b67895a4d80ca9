"""Uploads whose parts a client sends straight to S3 (presigned UploadPart URLs); the API never sees them.

The multipart upload lives at a staging key, so completing it publishes nothing: the bytes become a blob
only when ``publish`` copies them (server-side) to their content address, after the caller has verified
them. ``discard`` drops them at any stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from registry.blobs.base import BlobStore
from registry.blobs.s3 import S3BlobStore
from registry.blobs.s3_client import MIN_PART_SIZE, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef


MIN_DIRECT_PART_SIZE = MIN_PART_SIZE  # S3's floor for every part but the last


class DirectUploadGone(LookupError):
    """The multipart upload no longer exists (completed, aborted or collected)."""


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str  # S3's quoted ETag (the part's MD5 on unencrypted buckets)


@dataclass(frozen=True)
class DirectUpload:
    key: str  # full S3 key of the staged object, under the store's staging prefix
    upload_id: str  # S3's multipart upload id


class S3DirectUploads:
    def __init__(self, store: S3BlobStore) -> None:
        if store.presigner is None:
            raise ValueError("direct uploads need presigned URLs (S3Options.redirects)")
        self.store = store
        self.presigner = store.presigner

    def start(self) -> DirectUpload:
        key = self.store.new_staging_key()
        created = self.store.client.create_multipart_upload(Bucket=self.store.bucket, Key=key)
        return DirectUpload(key=key, upload_id=created["UploadId"])

    def part_url(self, upload: DirectUpload, number: int) -> str:
        return self.presigner.upload_part_url(upload.key, upload.upload_id, number)

    def parts(self, upload: DirectUpload) -> list[StoredPart]:
        """The parts S3 holds, by number."""
        pages = self.store.client.get_paginator("list_parts").paginate(
            Bucket=self.store.bucket, Key=upload.key, UploadId=upload.upload_id
        )
        try:
            return [
                StoredPart(part["PartNumber"], part["Size"], part["ETag"])
                for page in pages
                for part in page.get("Parts", [])
            ]
        except ClientError as error:
            if error_code(error) == "NoSuchUpload":
                raise DirectUploadGone(upload.upload_id) from None
            raise

    def complete(self, upload: DirectUpload, parts: list[StoredPart]) -> None:
        """Join ``parts`` (1..N, as listed by ``parts``) into the staged object; still invisible."""
        completed: list[CompletedPartTypeDef] = [{"PartNumber": p.number, "ETag": p.etag} for p in parts]
        try:
            self.store.client.complete_multipart_upload(
                Bucket=self.store.bucket,
                Key=upload.key,
                UploadId=upload.upload_id,
                MultipartUpload={"Parts": completed},
            )
        except ClientError as error:
            if error_code(error) == "NoSuchUpload":
                raise DirectUploadGone(upload.upload_id) from None
            raise

    def iter_staged(self, upload: DirectUpload, chunk_size: int = 8 << 20) -> Iterator[bytes]:
        body = self.store.client.get_object(Bucket=self.store.bucket, Key=upload.key)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def read_staged(self, upload: DirectUpload) -> bytes:
        return b"".join(self.iter_staged(upload))

    def publish(self, upload: DirectUpload, key: str, size: int) -> None:
        """Copy the verified staged object to blob ``key`` (server-side), then drop the staged copy."""
        self.store.copy_object(upload.key, self.store.full_key(key), size)
        self.discard(upload)

    def discard(self, upload: DirectUpload) -> None:
        """Drop the upload's parts or its staged object, whichever exists."""
        try:
            self.store.client.abort_multipart_upload(
                Bucket=self.store.bucket, Key=upload.key, UploadId=upload.upload_id
            )
        except ClientError as error:
            if error_code(error) != "NoSuchUpload":
                raise
        self.store.client.delete_object(Bucket=self.store.bucket, Key=upload.key)


def direct_uploads(store: BlobStore) -> S3DirectUploads | None:
    """Direct uploads for ``store`` when it offers them (S3 with presigned URLs on), else None."""
    if isinstance(store, S3BlobStore) and store.presigner is not None:
        return S3DirectUploads(store)
    return None
