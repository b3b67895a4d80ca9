"""Uploads whose parts a client sends straight to S3 (presigned UploadPart URLs); the API never sees them.

S3 cannot read a multipart upload before it is completed, and an object cannot be renamed, so where the
bytes are completed is where they stay. Two ways:

- **In place** (the client declared the sha256 when it started, nothing is at that content address yet and
  the endpoint passes ``S3BlobStore.verifies_in_place``): the multipart upload is created at the content
  address, tagged ``patchhub-unverified``. Completing uses If-None-Match: *, so it never replaces an object
  (a verified blob, or another upload's bytes under verification): that upload is "raced" and must start
  again. Until the caller has verified the bytes, the tag makes ``exists`` report them absent, so no upload
  deduplicates against them and nothing serves them (artifact rows come only after verification). The caller
  reads them back with If-Match on the completed ETag, so it checks exactly the bytes it completed; verified
  writers (the streamed path, a staged publish) may replace them meanwhile, and that read then fails as raced.
  ``publish`` removes the tag (no copy). ``discard`` deletes the object only for bytes shown to be wrong and
  only while it still has that ETag, so a lying upload never removes the honest bytes that replaced its own
  (identical bytes in the same parts have the same ETag, so after any other failure the object stays, still
  invisible, for gc).
- **Staged** otherwise: the multipart upload lives at a staging key, so completing it publishes nothing;
  ``publish`` copies the verified bytes server-side to their content address (a copy that replaces tags).

In place saves that copy: a second server-side write of every byte (bench/RESULTS.md has moto's figures).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from registry.blobs.base import BlobStore
from registry.blobs.s3 import UNVERIFIED_TAG, S3BlobStore, completed_part
from registry.blobs.s3_client import MIN_PART_SIZE, error_code
from registry.storage.ranges import ByteRange
from registry.storage.read_ahead import iter_in_order, split

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import (
        CompletedPartTypeDef,
        CreateMultipartUploadRequestTypeDef,
        GetObjectOutputTypeDef,
        GetObjectRequestTypeDef,
    )


MIN_DIRECT_PART_SIZE = MIN_PART_SIZE  # S3's floor for every part but the last

# The read-back of a completed upload. One GET stream (If-Match on the completed ETag) gives the first
# READ_RANGE_SIZE bytes and the time its reads took. A stream at least FAST_ONE_STREAM bytes/s gives the rest too;
# a slower one (S3 allows about 100 MB/s per connection: some 10 s per GiB, while the check hashes at more than
# 1 GB/s) is closed and the rest comes in ranged GETs, READS_IN_FLIGHT at a time, each with the same If-Match,
# handed to the check in order. 4 connections keep the hashing fed; 16 MiB makes each request's latency (tens of
# ms) small next to its transfer and bounds what one completion holds at about (4 + 1) x 16 MiB. The stream is
# not given up where it is fast because a fast store may answer ranges badly: moto reads the whole object for
# every range (1 GiB in 16 MiB ranges: 40 s, one stream 0.75 s; bench/RESULTS.md).
READ_RANGE_SIZE = 16 << 20
READS_IN_FLIGHT = 4
FAST_ONE_STREAM = 500 * 10**6
READ_PIECE = 1 << 20  # what the reads take at a time (a range fetch checks between pieces whether to stop)
_RACED_CODES = ("PreconditionFailed", "NoSuchKey", "404")


class DirectUploadGone(LookupError):
    """The multipart upload no longer exists (completed, aborted or collected)."""


class DirectUploadRaced(RuntimeError):
    """An in-place upload met other bytes at its content address (stored, or being verified, by another
    upload) when completing or reading back; its parts are dropped and it must start again."""


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str  # S3's quoted ETag (the part's MD5 on unencrypted buckets)
    crc32: str | None = None  # the part's CRC32 as S3 computed it, when the upload has that algorithm


@dataclass(frozen=True)
class DirectUpload:
    key: str  # full S3 key: under the staging prefix, or (in_place) the content address
    upload_id: str  # S3's multipart upload id
    in_place: bool = False  # completed at its content address, tagged unverified until published


class S3DirectUploads:
    def __init__(self, store: S3BlobStore) -> None:
        if store.presigner is None:
            raise ValueError("direct uploads need presigned URLs (S3Options.redirects)")
        self.store = store
        self.presigner = store.presigner

    def start(self, blob_key: str | None = None) -> DirectUpload:
        """A multipart upload; in place at ``blob_key`` (the content address the client declared) when
        that is possible, else at a staging key."""
        store = self.store
        if blob_key is not None and store.verifies_in_place():
            key = store.full_key(blob_key)
            if not store.object_exists(key):  # an object there (verified or not): stage, dedupe at the end
                return DirectUpload(key=key, upload_id=self._create(key, f"{UNVERIFIED_TAG}=1"), in_place=True)
        key = store.new_staging_key()
        return DirectUpload(key=key, upload_id=self._create(key, None))

    def _create(self, key: str, tagging: str | None) -> str:
        request: CreateMultipartUploadRequestTypeDef = {"Bucket": self.store.bucket, "Key": key}
        if tagging is not None:
            request["Tagging"] = tagging
        if self.store.part_checksum() == "CRC32":
            request["ChecksumAlgorithm"] = "CRC32"
        return self.store.client.create_multipart_upload(**request)["UploadId"]

    def part_url(self, upload: DirectUpload, number: int) -> str:
        return self.presigner.upload_part_url(upload.key, upload.upload_id, number)

    def parts(self, upload: DirectUpload) -> list[StoredPart]:
        """The parts S3 holds, by number."""
        pages = self.store.client.get_paginator("list_parts").paginate(
            Bucket=self.store.bucket, Key=upload.key, UploadId=upload.upload_id
        )
        try:
            return [
                StoredPart(part["PartNumber"], part["Size"], part["ETag"], part.get("ChecksumCRC32"))
                for page in pages
                for part in page.get("Parts", [])
            ]
        except ClientError as error:
            if error_code(error) == "NoSuchUpload":
                raise DirectUploadGone(upload.upload_id) from None
            raise

    def complete(self, upload: DirectUpload, parts: list[StoredPart]) -> str:
        """Join ``parts`` (1..N, as listed by ``parts``) into one object, still invisible (staged, or tagged
        unverified in place); returns its ETag, which the read-back and ``discard`` hold it to."""
        completed: list[CompletedPartTypeDef] = [completed_part(p.number, p.etag, p.crc32) for p in parts]
        client, bucket = self.store.client, self.store.bucket
        try:
            if upload.in_place:  # never over an object already there
                done = client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=upload.key,
                    UploadId=upload.upload_id,
                    MultipartUpload={"Parts": completed},
                    IfNoneMatch="*",
                )
            else:
                done = client.complete_multipart_upload(
                    Bucket=bucket, Key=upload.key, UploadId=upload.upload_id, MultipartUpload={"Parts": completed}
                )
        except ClientError as error:
            code = error_code(error)
            if code == "NoSuchUpload":
                raise DirectUploadGone(upload.upload_id) from None
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                self.discard(upload)
                raise DirectUploadRaced(upload.upload_id) from None
            raise
        return done["ETag"]

    def iter_staged(self, upload: DirectUpload, etag: str) -> Generator[bytes]:
        """The completed object's bytes, in order, as long as it is still the one with ``etag`` (else raced):
        one stream, or (when that stream is slow) ranges READS_IN_FLIGHT at a time after its first range.
        Close the iterator when stopping early: that stops the reads still running."""
        response = self._get(upload, etag, None)
        size, body = response["ContentLength"], response["Body"]
        chunks = body.iter_chunks(READ_PIECE)
        taken, reading = 0, 0.0
        try:
            while taken < min(size, READ_RANGE_SIZE):
                started = time.perf_counter()
                piece = next(chunks, b"")
                reading += time.perf_counter() - started  # the network's time only, not the caller's
                if not piece:  # botocore raises first when a body is shorter than its Content-Length
                    raise RuntimeError(f"the store sent {taken} bytes of the {size} it announced")
                taken += len(piece)
                yield piece
            if taken == size or taken >= FAST_ONE_STREAM * reading:
                yield from body.iter_chunks(8 << 20)  # one stream to the end, in larger reads
                return
            body.close()

            def fetch(span: ByteRange, stop: threading.Event) -> list[bytes]:
                return _read(self._get(upload, etag, span, size), span, stop)

            yield from iter_in_order(fetch, split(taken, size, READ_RANGE_SIZE), READS_IN_FLIGHT)
        finally:
            body.close()

    def _get(
        self, upload: DirectUpload, etag: str, span: ByteRange | None, size: int | None = None
    ) -> GetObjectOutputTypeDef:
        """``span`` of the object (all of it: None) while it still has ``etag``; a span is checked against
        the object's ``size``."""
        request: GetObjectRequestTypeDef = {"Bucket": self.store.bucket, "Key": upload.key, "IfMatch": etag}
        if span is not None:
            request["Range"] = f"bytes={span.start}-{span.end - 1}"
        try:
            response = self.store.client.get_object(**request)
        except ClientError as error:
            if error_code(error) in _RACED_CODES:
                raise DirectUploadRaced(upload.upload_id) from None
            raise
        if span is not None and size is not None and response.get("ContentRange") != span.content_range(size):
            response["Body"].close()
            raise RuntimeError(f"asked for {span.content_range(size)}, the store sent {response.get('ContentRange')}")
        return response

    def read_staged(self, upload: DirectUpload, etag: str) -> bytes:
        return b"".join(self.iter_staged(upload, etag))

    def publish(self, upload: DirectUpload, key: str, size: int) -> None:
        """Make the verified object blob ``key``: in place, remove its unverified tag (whatever object is at
        the key now holds verified bytes: only verified writes can replace it); else copy it there
        (server-side) and drop the staged copy."""
        if upload.in_place:
            assert upload.key == self.store.full_key(key)
            self.store.client.delete_object_tagging(Bucket=self.store.bucket, Key=upload.key)
            return
        self.store.copy_object(upload.key, self.store.full_key(key), size)
        self.discard(upload)

    def discard(self, upload: DirectUpload, etag: str | None = None) -> None:
        """Drop the upload's parts, and its completed object: staged, always; in place, only when given the
        ``etag`` it completed with (the caller found those bytes are not what their address names) and only
        while the object still has it. Anything else at a content address may be another upload's bytes."""
        client, bucket = self.store.client, self.store.bucket
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=upload.key, UploadId=upload.upload_id)
        except ClientError as error:
            if error_code(error) != "NoSuchUpload":
                raise
        if not upload.in_place:
            client.delete_object(Bucket=bucket, Key=upload.key)
        elif etag is not None:
            try:
                client.delete_object(Bucket=bucket, Key=upload.key, IfMatch=etag)
            except ClientError as error:
                if error_code(error) not in ("PreconditionFailed", "NoSuchKey", "404"):
                    raise


def _read(response: GetObjectOutputTypeDef, span: ByteRange, stop: threading.Event) -> list[bytes]:
    """The range's bytes in pieces; fewer once ``stop`` is set (nobody reads them then). The body is closed."""
    body = response["Body"]
    pieces: list[bytes] = []
    received = 0
    try:
        for piece in body.iter_chunks(READ_PIECE):
            if stop.is_set():
                return pieces
            pieces.append(piece)
            received += len(piece)
    finally:
        body.close()
    if received != span.length:
        raise RuntimeError(f"asked for {span.length} bytes at {span.start}, the store sent {received}")
    return pieces


def direct_uploads(store: BlobStore) -> S3DirectUploads | None:
    """Direct uploads for ``store`` when it offers them (S3 with presigned URLs on), else None."""
    if isinstance(store, S3BlobStore) and store.presigner is not None:
        return S3DirectUploads(store)
    return None
