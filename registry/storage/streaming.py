"""Feeding an HTTP request body to a blocking writer without holding it in memory or blocking the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from registry.errors import BadRequest
from registry.storage.ingest import Ingest, StoredBlob

# Bytes handed to a worker thread at a time: enough to amortise the thread hop, little enough to bound memory.
INGEST_CHUNK = 4 * 1024 * 1024


async def feed_request_body(request: Request, write: Callable[[bytes], None]) -> int:
    """Call ``write`` (in a worker thread) with the body in pieces of about INGEST_CHUNK; returns the size.
    One piece is written while the next one arrives, so receiving never waits for hashing and the disk (and
    ``write`` is never called twice at once). A client that disconnects half-way raises BadRequest."""
    pending: list[bytes] = []
    pending_size = size = 0
    writing: asyncio.Task[None] | None = None
    try:
        async for chunk in request.stream():
            pending.append(chunk)
            pending_size += len(chunk)
            size += len(chunk)
            if pending_size >= INGEST_CHUNK:
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(run_in_threadpool(write, b"".join(pending)))
                pending, pending_size = [], 0
        if writing is not None:
            await writing
        if pending:
            await run_in_threadpool(write, b"".join(pending))
    except ClientDisconnect:
        raise BadRequest("the client disconnected before the upload finished; nothing was stored") from None
    finally:
        if writing is not None:
            await asyncio.wait([writing])  # a failing caller aborts only once the last write has finished
            if not writing.cancelled():
                writing.exception()  # retrieved: raised above, or superseded by the error on its way
    return size


async def ingest_request_body(request: Request, ingest: Ingest) -> StoredBlob:
    try:
        await feed_request_body(request, ingest.write)
        return await run_in_threadpool(ingest.finish)
    except BaseException:
        await run_in_threadpool(ingest.abort)
        raise
