"""Streaming ingest: hash, validate as safetensors and store bytes in one pass, visible only when verified.

The bytes go to the blob store's staging area while they arrive. ``finish`` checks the file is complete
and valid safetensors and that its sha256 matches the client's claim (when given), then commits it to its
content-addressed key. Bytes already stored under that key are not stored twice. Any failure aborts the
staged bytes, so a failed upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from patchhub.safetensors_format import HeaderLimits, SafetensorsError, SafetensorsHeader, StreamValidator
from registry.blobs import BlobStore, BlobWriter
from registry.errors import Invalid, PayloadTooLarge
from registry.storage.keys import blob_key, is_sha256


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    header: SafetensorsHeader
    deduplicated: bool  # the bytes were already stored


class Ingest:
    def __init__(
        self,
        store: BlobStore,
        limits: HeaderLimits,
        *,
        expected_sha256: str | None = None,
        max_bytes: int,
    ) -> None:
        if expected_sha256 is not None and not is_sha256(expected_sha256):
            raise Invalid("sha256 must be 64 lowercase hex characters")
        self._store = store
        self._expected = expected_sha256
        self._max_bytes = max_bytes
        self._validator = StreamValidator(limits)
        self._hash = hashlib.sha256()
        self._size = 0
        # With a claimed hash whose bytes are already stored, only verify: nothing is written.
        self._already_stored = expected_sha256 is not None and store.exists(blob_key(expected_sha256))
        self._writer: BlobWriter | None = None
        if not self._already_stored:
            self._writer = store.open_writer(blob_key(expected_sha256) if expected_sha256 else None)
        self._closed = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            self.abort()
            raise PayloadTooLarge(f"upload is larger than the limit of {self._max_bytes} bytes")
        try:
            self._validator.feed(chunk)
        except SafetensorsError as exc:
            self.abort()
            raise Invalid(f"not a valid safetensors file: {exc}") from None
        self._hash.update(chunk)
        if self._writer is not None:
            self._writer.write(chunk)

    def finish(self) -> StoredBlob:
        try:
            header = self._validator.finish()
        except SafetensorsError as exc:
            self.abort()
            raise Invalid(f"not a valid safetensors file: {exc}") from None
        digest = self._hash.hexdigest()
        if self._expected is not None and digest != self._expected:
            self.abort()
            raise Invalid(f"the uploaded bytes have sha256 {digest}, not the {self._expected} the client sent")
        key = blob_key(digest)
        deduplicated = self._already_stored or self._store.exists(key)
        if self._writer is not None:
            if deduplicated:
                self._writer.abort()
            else:
                self._writer.commit(key)
        self._closed = True
        return StoredBlob(sha256=digest, size=self._size, header=header, deduplicated=deduplicated)

    def abort(self) -> None:
        if not self._closed and self._writer is not None:
            self._writer.abort()
        self._closed = True
