"""Blob store on S3 (AWS, MinIO, moto): objects at ``<prefix><key>`` in one bucket.

Uploads are multipart, one part buffered in memory at a time, parts sent as they fill. Where the
commit key is known up front (``key_hint``) the multipart upload starts at that key, so commit is a
single CompleteMultipartUpload: atomic and copy-free. Otherwise parts go to ``<prefix>.staging/<uuid>``
and commit copies server-side. Blobs smaller than one part are sent with one PutObject at commit.

An object carrying the ``patchhub-unverified`` tag is bytes still being checked (a direct upload completed
at its content address, see s3_direct.py): ``exists`` reports it absent, so nothing deduplicates against
it, and every write here replaces tags, so verified bytes written over it carry none.
"""

from __future__ import annotations

import contextlib
import logging
import math
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from registry.blobs.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    BlobWriter,
    resolve_range,
)
from registry.blobs.keys import STAGING_DIR, validate_key, validate_prefix
from registry.blobs.s3_client import MAX_PART_SIZE, MiB, error_code
from registry.blobs.s3_presign import S3Presigner

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import (
        CompletedMultipartUploadTypeDef,
        CompletedPartTypeDef,
        CopySourceTypeDef,
        GetObjectOutputTypeDef,
        HeadObjectOutputTypeDef,
        MultipartUploadTypeDef,
        UploadPartOutputTypeDef,
    )

logger = logging.getLogger(__name__)

MAX_PARTS = 10_000  # S3's limit on parts per multipart upload
# Parts double in size every this many parts (capped at 5 GiB), so an upload of unknown length never
# runs out of parts: from 16 MiB, 10,000 parts hold 12.7 TiB; a 1 TiB upload ends with 1 GiB parts.
PARTS_PER_SIZE_STEP = 1_000
_NOT_FOUND_CODES = ("404", "NoSuchKey", "NotFound")
# Tag of an object at a blob key whose bytes are not verified yet (a direct upload completed in place).
UNVERIFIED_TAG = "patchhub-unverified"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def part_size_for(part_number: int, base_size: int) -> int:
    """Size of part ``part_number`` (1-based): ``base_size``, doubling every PARTS_PER_SIZE_STEP parts."""
    return min(base_size << ((part_number - 1) // PARTS_PER_SIZE_STEP), MAX_PART_SIZE)


def completed_part(number: int, etag: str, crc32: str | None) -> CompletedPartTypeDef:
    """A part as CompleteMultipartUpload takes it (with its CRC32 when it has one)."""
    part: CompletedPartTypeDef = {"PartNumber": number, "ETag": etag}
    if crc32 is not None:
        part["ChecksumCRC32"] = crc32
    return part


def _stream_body(body: StreamingBody, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


# What the S3 client raises: the service asks the store (unavailable_reason) whether one means "try later".
S3_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)


class S3BlobWriter(BlobWriter):
    def __init__(self, store: S3BlobStore, key_hint: str | None) -> None:
        super().__init__()
        self._store = store
        self._client = store.client
        self._hint = store.full_key(key_hint) if key_hint is not None else None
        self._buffer = bytearray()
        self._upload_key: str | None = None  # full S3 key the multipart upload was started at
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        # Parts in flight on the store's thread pool, oldest first; bounded so memory stays a few parts.
        self._pending: deque[tuple[int, Future[UploadPartOutputTypeDef]]] = deque()
        self._parts_started = 0

    def _next_part_size(self) -> int:
        return part_size_for(self._parts_started + 1, self._store.part_size)

    def _write(self, data: memoryview) -> None:
        self._buffer += data
        while len(self._buffer) >= (part_size := self._next_part_size()):
            self._upload_part(bytes(memoryview(self._buffer)[:part_size]))
            del self._buffer[:part_size]

    def _start_upload(self) -> None:
        # An object already at the hint key must never be replaced by bytes that may end up elsewhere,
        # so such an upload stages instead (the blob is a duplicate; commit copies or the caller aborts).
        if self._hint is not None and not self._store.object_exists(self._hint):
            self._upload_key = self._hint
        else:
            self._upload_key = self._store.new_staging_key()
        created = self._client.create_multipart_upload(Bucket=self._store.bucket, Key=self._upload_key)
        self._upload_id = created["UploadId"]

    def _upload_part(self, part: bytes) -> None:
        if self._upload_id is None:
            self._start_upload()
        assert self._upload_key is not None and self._upload_id is not None
        if self._parts_started >= MAX_PARTS:
            raise ValueError("blob exceeds S3's 10,000-part limit")
        self._parts_started += 1
        future = self._store.part_pool.submit(
            self._client.upload_part,
            Bucket=self._store.bucket,
            Key=self._upload_key,
            UploadId=self._upload_id,
            PartNumber=self._parts_started,
            Body=part,
        )
        self._pending.append((self._parts_started, future))
        # The first part lands before write() returns, so a live upload always shows a part (clean_staging
        # judges idleness by its newest part); later parts overlap with the caller's next writes.
        while self._pending and (self._parts_started == 1 or len(self._pending) >= self._store.parts_in_flight):
            self._collect_oldest_part()

    def _collect_oldest_part(self) -> None:
        number, future = self._pending.popleft()
        self._parts.append({"PartNumber": number, "ETag": future.result()["ETag"]})

    def _wait_for_parts(self) -> None:
        while self._pending:
            self._collect_oldest_part()

    def _commit(self, key: str) -> None:
        target = self._store.full_key(key)
        bucket = self._store.bucket
        if self._upload_id is None:  # smaller than one part: a single PutObject is atomic already
            self._client.put_object(Bucket=bucket, Key=target, Body=bytes(self._buffer))
            self._buffer.clear()
            return
        if self._buffer:
            self._upload_part(bytes(self._buffer))
            self._buffer.clear()
        self._wait_for_parts()
        staged_key, upload_id = self._upload_key, self._upload_id
        assert staged_key is not None
        completion: CompletedMultipartUploadTypeDef = {"Parts": self._parts}
        if staged_key == target:
            self._client.complete_multipart_upload(
                Bucket=bucket, Key=target, UploadId=upload_id, MultipartUpload=completion
            )
            self._upload_id = None
            return
        # The bytes are bound for another key than the one their upload started at. When that was the
        # hint key, complete only if nothing appeared there meanwhile, and delete only our own object.
        at_hint = staged_key == self._hint
        if at_hint:
            completed = self._client.complete_multipart_upload(
                Bucket=bucket, Key=staged_key, UploadId=upload_id, MultipartUpload=completion, IfNoneMatch="*"
            )
        else:
            completed = self._client.complete_multipart_upload(
                Bucket=bucket, Key=staged_key, UploadId=upload_id, MultipartUpload=completion
            )
        self._upload_id = None
        try:
            self._store.copy_object(staged_key, target, self.bytes_written)
        finally:
            self._store.delete_staged_object(staged_key, if_match=completed["ETag"] if at_hint else None)

    def _abort(self) -> None:
        self._buffer = bytearray()
        for _number, future in self._pending:  # let parts in flight finish so the abort is final
            if not future.cancel():
                future.exception()
        self._pending.clear()
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        assert self._upload_key is not None
        try:
            self._client.abort_multipart_upload(Bucket=self._store.bucket, Key=self._upload_key, UploadId=upload_id)
        except ClientError as error:
            if error_code(error) != "NoSuchUpload":
                raise


class S3BlobStore(BlobStore):
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        *,
        part_size: int = 16 * MiB,
        list_page_size: int = 1000,
        copy_part_threshold: int = MAX_PART_SIZE,
        clock: Callable[[], datetime] = _utc_now,
        parts_in_flight: int = 4,
        presigner: S3Presigner | None = None,
    ) -> None:
        if parts_in_flight < 1:
            raise ValueError("parts_in_flight must be at least 1")
        self.client = client
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = f"{validate_key(prefix)}/" if prefix else ""
        self.staging_prefix = f"{self.prefix}{STAGING_DIR}/"
        self.part_size = part_size  # see S3Options.part_size
        self.list_page_size = list_page_size  # see S3Options.list_page_size
        # Copies larger than this go part by part (UploadPartCopy): S3's CopyObject stops at 5 GiB.
        self.copy_part_threshold = copy_part_threshold
        self._clock = clock  # injectable so tests can age staged uploads without sleeping
        # Multipart parts upload concurrently, like boto3's transfer manager; each writer keeps at most
        # parts_in_flight parts in memory (parts_in_flight x part_size bytes).
        self.parts_in_flight = parts_in_flight
        self.part_pool = ThreadPoolExecutor(max_workers=parts_in_flight * 2, thread_name_prefix="s3-part")
        self.presigner = presigner  # None: every byte goes through the API (S3Options.redirects)
        self._verifies_in_place: bool | None = None  # probed once, see verifies_in_place()
        self._part_checksum: tuple[str | None] | None = None  # (answer,) once probed, see part_checksum()

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def full_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def new_staging_key(self) -> str:
        return f"{self.staging_prefix}{uuid.uuid4().hex}"

    def open_writer(self, key_hint: str | None = None) -> S3BlobWriter:
        # One HEAD first: a missing bucket is reported before the caller starts reading a request body
        # (an HTTP client still sending its body often cannot read an early answer).
        self.check()
        return S3BlobWriter(self, key_hint)

    def _head_object(self, full_key: str) -> HeadObjectOutputTypeDef | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=full_key)
        except ClientError as error:
            if error_code(error) in _NOT_FOUND_CODES:
                return None
            raise

    def _head(self, full_key: str) -> int | None:
        head = self._head_object(full_key)
        return None if head is None else head["ContentLength"]

    def object_exists(self, full_key: str) -> bool:
        """Any object at ``full_key``, verified or not."""
        return self._head(full_key) is not None

    def exists(self, key: str) -> bool:
        """A blob is at ``key``: an object that is not tagged unverified (HEAD says how many tags it has;
        only a tagged one costs a second request)."""
        full_key = self.full_key(key)
        head = self._head_object(full_key)
        if head is None:
            return False
        return not head.get("TagCount") or not self.is_unverified(full_key)

    def is_unverified(self, full_key: str) -> bool:
        try:
            tags = self.client.get_object_tagging(Bucket=self.bucket, Key=full_key)["TagSet"]
        except ClientError as error:
            code = error_code(error)
            if code in _NOT_FOUND_CODES:
                return False
            # Someone else's tags on a store that cannot read them: it never tags (it stages direct uploads).
            if code in ("AccessDenied", "NotImplemented") and not self.verifies_in_place():
                return False
            raise
        return any(tag["Key"] == UNVERIFIED_TAG for tag in tags)

    def verifies_in_place(self) -> bool:
        """Whether the endpoint does what completing a direct upload at its content address relies on: tags
        reported by HEAD, If-None-Match on writes and If-Match on deletes (AWS, MinIO and moto do). Probed
        once, on a throwaway object under the staging prefix; any failure answers False (stage and copy)."""
        if self._verifies_in_place is None:
            self._verifies_in_place = self._probe_in_place()
        return self._verifies_in_place

    def part_checksum(self) -> str | None:
        """``"CRC32"`` when the endpoint takes a multipart upload created with that checksum algorithm whose
        parts arrive without one, as presigned part PUTs do (it computes them itself), else None. Such an object
        carries a composite CRC32, like boto3's own uploads; without an algorithm, moto (and endpoints like it)
        compute a full-object CRC64NVME when completing, joining the whole object once more: 1.5-3x the time
        of the completion. Probed once, with a one-part upload under the staging prefix."""
        if self._part_checksum is None:
            self._part_checksum = ("CRC32" if self._probe_part_checksum() else None,)
        return self._part_checksum[0]

    def _probe_part_checksum(self) -> bool:
        key = f"{self.new_staging_key()}-probe"
        try:
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="CRC32")[
                "UploadId"
            ]
        except ClientError:
            return False
        params = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": 1}
        try:
            url = self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=60)
            # As a client sends a part: its bytes, no checksum header (urllib's default form type confuses moto).
            put = urllib.request.Request(
                url, data=b"probe", method="PUT", headers={"Content-Type": "application/octet-stream"}
            )
            with urllib.request.urlopen(put, timeout=10):
                pass
            listed = self.client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)["Parts"]
            parts = [completed_part(p["PartNumber"], p["ETag"], p.get("ChecksumCRC32")) for p in listed]
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            return True
        except (ClientError, OSError) as error:
            logger.info("S3 endpoint refuses CRC32 multipart uploads with unchecksummed parts (%s)", error)
            with contextlib.suppress(ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            return False
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def _probe_in_place(self) -> bool:
        key = f"{self.new_staging_key()}-probe"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"", Tagging=f"{UNVERIFIED_TAG}=probe")
            head = self._head_object(key)
            if head is None or head.get("TagCount") != 1 or not self.is_unverified(key):
                return False
            for refused in (
                lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=b"", IfNoneMatch="*"),
                lambda: self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch='"0"'),
            ):
                try:
                    refused()
                    return False  # the condition was ignored
                except ClientError as error:
                    if error_code(error) != "PreconditionFailed":
                        return False
            self.client.delete_object_tagging(Bucket=self.bucket, Key=key)
            return True
        except ClientError as error:
            logger.warning("S3 endpoint lacks conditional writes or tags (%s): direct uploads are copied", error)
            return False
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def size(self, key: str) -> int:
        size = self._head(self.full_key(key))
        if size is None:
            raise BlobNotFound(key)
        return size

    def _get(self, key: str, byte_range: str | None) -> GetObjectOutputTypeDef:
        try:
            if byte_range is None:
                return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key), Range=byte_range)
        except ClientError as error:
            if error_code(error) in _NOT_FOUND_CODES:
                raise BlobNotFound(key) from None
            raise

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range [{start}, {end})")
        if end == start:  # empty range: S3 has no way to ask for it; still report missing blobs
            resolve_range(start, end, self.size(key))
            return iter(())
        if start == 0 and end is None:
            response = self._get(key, None)
        else:
            try:
                response = self._get(key, f"bytes={start}-{'' if end is None else end - 1}")
            except ClientError as error:
                if error_code(error) != "InvalidRange":
                    raise
                # start lies at or past the end: fine exactly at the end, else a ValueError.
                resolve_range(start, end, self.size(key))
                return iter(())
            total = int(response["ContentRange"].rpartition("/")[2])
            if end is not None and end > total:  # S3 silently truncates ranges that run past the end
                response["Body"].close()
                resolve_range(start, end, total)
        return _stream_body(response["Body"], chunk_size)

    @property
    def redirects_downloads(self) -> bool:
        return self.presigner is not None

    def download_url(self, key: str, *, content_disposition: str | None = None) -> str | None:
        if self.presigner is None:
            return None
        return self.presigner.get_url(self.full_key(key), content_disposition=content_disposition)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        validate_prefix(prefix)
        return self._list_objects(self.prefix + prefix)

    def _list_objects(self, full_prefix: str) -> Iterator[BlobInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=full_prefix, PaginationConfig={"PageSize": self.list_page_size}
        )
        for page in pages:
            for obj in page.get("Contents", []):
                full_key = obj["Key"]
                if full_key.startswith(self.staging_prefix) or full_key.endswith("/"):
                    continue  # staged bytes and "folder" marker objects are not blobs
                yield BlobInfo(
                    key=full_key[len(self.prefix) :],
                    size=obj["Size"],
                    modified=obj["LastModified"].astimezone(timezone.utc),
                )

    def copy_object(self, source_full_key: str, target_full_key: str, size: int) -> None:
        """Server-side copy; part by part above ``copy_part_threshold``."""
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": source_full_key}
        if size <= self.copy_part_threshold:
            # REPLACE with no tags: the copy never carries (or, on moto, keeps) an unverified tag.
            self.client.copy_object(
                Bucket=self.bucket, Key=target_full_key, CopySource=source, TaggingDirective="REPLACE"
            )
            return
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS))
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target_full_key)["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            for number, offset in enumerate(range(0, size, part_size), start=1):
                last = min(offset + part_size, size) - 1
                copied = self.client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=target_full_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={offset}-{last}",
                )
                parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=target_full_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=target_full_key, UploadId=upload_id)
            raise

    def delete_staged_object(self, full_key: str, *, if_match: str | None) -> None:
        """Delete a completed staging object; with ``if_match`` only while it is still that version."""
        if if_match is None:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key, IfMatch=if_match)
        except ClientError as error:
            code = error_code(error)
            if code == "NotImplemented":  # endpoints without conditional deletes
                self.client.delete_object(Bucket=self.bucket, Key=full_key)
            elif code in ("PreconditionFailed", *_NOT_FOUND_CODES):
                logger.info("staged object %s was replaced meanwhile; leaving it", full_key)
            else:
                raise

    def _idle_since(self, upload: MultipartUploadTypeDef, cutoff: datetime) -> bool:
        """Neither the upload nor any of its parts was touched after ``cutoff``. Parts count because a
        long upload still sending them is not stale (and moto reports a fixed, ancient Initiated)."""
        if upload["Initiated"] > cutoff:
            return False
        parts = self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
        return not any(part["LastModified"] > cutoff for page in parts for part in page.get("Parts", []))

    def clean_staging(self, older_than: timedelta) -> int:
        """Abort multipart uploads idle since before the cutoff, and delete leftover staging objects.

        Give the registry its own bucket or prefix: uploads by other programs under it look the same.
        """
        cutoff = self._clock() - older_than
        removed = 0
        uploads = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for uploads_page in uploads:
            for upload in uploads_page.get("Uploads", []):
                try:
                    if not self._idle_since(upload, cutoff):
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
                except ClientError as error:
                    if error_code(error) != "NoSuchUpload":  # completed or aborted meanwhile
                        raise
        objects = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.staging_prefix)
        for objects_page in objects:
            for obj in objects_page.get("Contents", []):
                if obj["LastModified"] <= cutoff:
                    self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                    removed += 1
        return removed

    def unavailable_reason(self, error: BaseException) -> str | None:
        if isinstance(error, ClientError):
            code = error_code(error)
            if code == "NoSuchBucket":
                return f"the S3 bucket {self.bucket!r} does not exist"
            if code in ("SlowDown", "ServiceUnavailable", "503"):
                return f"the S3 endpoint is overloaded ({code})"
        elif isinstance(error, (BotoConnectionError, HTTPClientError)):  # refused, timed out, cut off
            return f"the S3 endpoint cannot be reached ({type(error).__name__})"
        return super().unavailable_reason(error)

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = error_code(error)
            reason = "does not exist" if code in ("404", "NoSuchBucket") else f"is not usable ({code})"
            raise BlobStoreUnavailable(f"S3 bucket {self.bucket!r} {reason}") from error
        except BotoCoreError as error:
            raise BlobStoreUnavailable(f"S3 endpoint unreachable: {error}") from error
