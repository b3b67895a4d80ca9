"""Staging one part of a resumable upload: bytes straight to the store, hashed on the way."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from registry.blobs import BlobStore
from registry.errors import BadRequest, Invalid, PayloadTooLarge
from registry.storage.streaming import INGEST_CHUNK

MAX_PART_BYTES = 5 * 1024**3


@dataclass(frozen=True)
class StagedPart:
    size: int
    sha256: str


async def stage_part(request: Request, store: BlobStore, key: str, expected_sha256: str | None) -> StagedPart:
    writer = await run_in_threadpool(store.open_writer, key)
    digest = hashlib.sha256()
    size = 0

    def write(data: bytes) -> None:
        digest.update(data)
        writer.write(data)

    try:
        pending: list[bytes] = []
        pending_size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_PART_BYTES:
                raise PayloadTooLarge(f"a part may hold at most {MAX_PART_BYTES} bytes")
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= INGEST_CHUNK:
                await run_in_threadpool(write, b"".join(pending))
                pending, pending_size = [], 0
        if pending:
            await run_in_threadpool(write, b"".join(pending))
        if size == 0:
            raise Invalid("a part must not be empty")
        sha256 = digest.hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise Invalid(f"the part's bytes have sha256 {sha256}, not the {expected_sha256} the client sent")
        await run_in_threadpool(writer.commit, key)
        return StagedPart(size=size, sha256=sha256)
    except ClientDisconnect:
        await run_in_threadpool(writer.abort)
        raise BadRequest("the client disconnected before the part finished; upload the part again") from None
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
