"""Checking bytes that were stored without passing through the API (direct uploads to S3): streamed once
from the store, they must be valid safetensors, within the size limit and have the sha256 the client
claimed, exactly as an upload through the API is checked on the way in (storage/ingest.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from patchhub.safetensors_format import HeaderLimits, SafetensorsError, SafetensorsHeader, StreamValidator
from registry.errors import Invalid, PayloadTooLarge


def verify_stream(
    chunks: Iterable[bytes], limits: HeaderLimits, *, expected_sha256: str | None, max_bytes: int
) -> tuple[int, SafetensorsHeader, str]:
    """(size, header, sha256) of the bytes; Invalid / PayloadTooLarge naming what is wrong with them."""
    validator = StreamValidator(limits)
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"upload is larger than the limit of {max_bytes} bytes")
            validator.feed(chunk)
            digest.update(chunk)
        header = validator.finish()
    except SafetensorsError as exc:
        raise Invalid(f"not a valid safetensors file: {exc}") from None
    sha256 = digest.hexdigest()
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise Invalid(f"the uploaded bytes have sha256 {sha256}, not the {expected_sha256} the client sent")
    return size, header, sha256
