"""Staging one part of a resumable upload: bytes straight to the store, hashed on the way."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from registry.blobs import BlobStore
from registry.errors import Invalid, PayloadTooLarge
from registry.storage.streaming import feed_request_body

MAX_PART_BYTES = 5 * 1024**3


@dataclass(frozen=True)
class StagedPart:
    size: int
    sha256: str


async def stage_part(request: Request, store: BlobStore, key: str, expected_sha256: str | None) -> StagedPart:
    writer = await run_in_threadpool(store.open_writer, key)
    digest = hashlib.sha256()

    def write(data: bytes) -> None:
        if writer.bytes_written + len(data) > MAX_PART_BYTES:
            raise PayloadTooLarge(f"a part may hold at most {MAX_PART_BYTES} bytes")
        digest.update(data)
        writer.write(data)

    try:
        size = await feed_request_body(request, write)
        if size == 0:
            raise Invalid("a part must not be empty")
        sha256 = digest.hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise Invalid(f"the part's bytes have sha256 {sha256}, not the {expected_sha256} the client sent")
        await run_in_threadpool(writer.commit, key)
        return StagedPart(size=size, sha256=sha256)
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
