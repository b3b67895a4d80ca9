"""Direct uploads (S3 with presigned URLs): the client PUTs each part straight to the bucket, so the bytes
never pass through the API. Completing joins the parts server-side and then checks the result exactly as an
upload through the API is checked (size limit, safetensors header and layout, what the kind must hold,
sha256), streaming it once from the bucket into this process; only bytes that pass become a blob and a
version. Failing bytes are dropped: nothing is visible.

Where the client declared the file's sha256 when it started, the parts are joined at that content address,
invisible to dedupe and serving until verified (blobs/s3_direct.py, "in place"), so a verified upload
costs no copy; else they are joined at a staging key and copied to their content address once verified.
An in-place upload that meets other bytes at its address (a concurrent upload of the same sha256 got there
first) is a 409 with its parts dropped: the client starts again and is then checked against those bytes.
"""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta

from sqlalchemy.orm import Session

from registry.blobs import BlobStore
from registry.blobs.s3_direct import (
    MIN_DIRECT_PART_SIZE,
    DirectUpload,
    DirectUploadGone,
    DirectUploadRaced,
    S3DirectUploads,
    StoredPart,
    direct_uploads,
)
from registry.db.base import utcnow
from registry.db.session import end_read_phase
from registry.errors import Conflict, Invalid, NotFound, PayloadTooLarge
from registry.models import Upload
from registry.resources.artifacts.content import check_content
from registry.resources.uploads.schemas import PartOut, PartUrlOut
from registry.runtime import Runtime
from registry.storage.ingest import StoredBlob
from registry.storage.keys import blob_key
from registry.storage.verify import verify_stream

# upload.meta[META_KEY] = {"key": S3 key, "upload_id": S3's multipart upload id, "in_place": at its address}
META_KEY = "direct"
RACED = (
    "another upload of the same sha256 reached the store first while this one was completing; its parts are "
    "dropped: start a new upload (it is then checked against the stored bytes)"
)


def start(store: BlobStore, upload: Upload, sha256: str | None = None) -> bool:
    """Make ``upload`` direct when the store offers it (in place when ``sha256``, the client's declared
    hash, allows); False: its parts go through the API."""
    uploads = direct_uploads(store)
    if uploads is None:
        return False
    started = uploads.start(blob_key(sha256) if sha256 is not None else None)
    upload.meta = {
        **upload.meta,
        META_KEY: {"key": started.key, "upload_id": started.upload_id, "in_place": started.in_place},
    }
    return True


def of(upload: Upload) -> DirectUpload | None:
    direct = upload.meta.get(META_KEY)
    if direct is None:
        return None
    return DirectUpload(key=direct["key"], upload_id=direct["upload_id"], in_place=direct.get("in_place", False))


def _uploads(store: BlobStore) -> S3DirectUploads:
    uploads = direct_uploads(store)
    if uploads is None:  # redirects were switched off after the upload started
        raise Conflict("this service no longer takes parts straight to its store; start a new upload")
    return uploads


def part_url(store: BlobStore, direct: DirectUpload, number: int) -> PartUrlOut:
    uploads = _uploads(store)
    expires_at = utcnow() + timedelta(seconds=uploads.presigner.expiry_s)
    return PartUrlOut(number=number, url=uploads.part_url(direct, number), method="PUT", expires_at=expires_at)


def parts_out(store: BlobStore, upload: Upload, direct: DirectUpload) -> list[PartOut]:
    try:
        stored = _uploads(store).parts(direct)
    except DirectUploadGone:  # gc dropped it (idle past its grace), or a complete failed its checks
        raise NotFound(f"upload {upload.id} no longer holds its parts in the store; start a new upload") from None
    return [PartOut(number=p.number, size=p.size, sha256=None, etag=p.etag) for p in stored]


def join_and_verify(
    session: Session, runtime: Runtime, upload: Upload, direct: DirectUpload, sha256: str | None
) -> StoredBlob:
    """The parts joined, checked like an upload through the API and stored as a blob; the caller registers it."""
    uploads = _uploads(runtime.store)
    try:
        stored_parts = uploads.parts(direct)
    except DirectUploadGone:
        raise Conflict(f"upload {upload.id} was already completed or failed its checks; start a new one") from None
    try:
        _check_parts(stored_parts, runtime.settings.max_upload_bytes)
    except PayloadTooLarge:
        uploads.discard(direct)  # no part can be taken back: the upload is over
        raise
    end_read_phase(session)  # no transaction while the bytes are read back
    try:
        etag = uploads.complete(direct, stored_parts)
    except DirectUploadGone:  # completed by a concurrent request
        raise Conflict(f"upload {upload.id} is being completed by another request") from None
    except DirectUploadRaced:
        raise Conflict(RACED) from None
    try:
        return _verify(runtime, uploads, direct, etag, upload, sha256)
    except DirectUploadRaced:
        uploads.discard(direct)  # replaced by verified bytes: nothing of its own is left
        raise Conflict(RACED) from None
    except BaseException:
        # The parts are joined: a retry cannot reuse them. Bytes in place that were not shown to be wrong stay
        # (invisible, for gc): an object with the same ETag may be another upload's identical, verified bytes.
        uploads.discard(direct)
        raise


def _check_parts(stored: list[StoredPart], max_bytes: int) -> None:
    numbers = [p.number for p in stored]
    if numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
        raise Invalid(f"parts must be numbered 1..N without gaps; missing {missing[:20]}" if stored else "no parts")
    if sum(p.size for p in stored) > max_bytes:
        raise PayloadTooLarge(f"upload is larger than the limit of {max_bytes} bytes")
    small = [p.number for p in stored[:-1] if p.size < MIN_DIRECT_PART_SIZE]
    if small:
        raise Invalid(f"every part but the last must hold at least 5 MiB (S3's rule); parts {small[:20]} do not")


def _verify(
    runtime: Runtime, uploads: S3DirectUploads, direct: DirectUpload, etag: str, upload: Upload, sha256: str | None
) -> StoredBlob:
    if direct.in_place and sha256 is None:
        raise Invalid("this upload declared its sha256 when it started; complete it with that sha256")
    try:
        # One stream, or where it is slow ranged GETs a few at a time, hashed in order (blobs/s3_direct.py
        # FAST_ONE_STREAM); closing stops the reads still running when a check fails early.
        with closing(uploads.iter_staged(direct, etag)) as chunks:
            size, header, digest = verify_stream(
                chunks, runtime.header_limits, expected_sha256=sha256, max_bytes=runtime.settings.max_upload_bytes
            )
    except (Invalid, PayloadTooLarge):
        uploads.discard(direct, etag)  # not the bytes their address names (or too many): delete them
        raise
    check_content(upload.kind, header, lambda: uploads.read_staged(direct, etag))
    key = blob_key(digest)
    # In place the object at the key is this upload's own (tagged unverified until published): no dedupe.
    deduplicated = not direct.in_place and runtime.store.exists(key)
    if deduplicated:
        uploads.discard(direct, etag)
    else:
        uploads.publish(direct, key, size)
    return StoredBlob(sha256=digest, size=size, header=header, deduplicated=deduplicated)


def abort(store: BlobStore, direct: DirectUpload) -> None:
    uploads = direct_uploads(store)
    if uploads is not None:
        uploads.discard(direct)
