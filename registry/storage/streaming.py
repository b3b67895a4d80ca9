"""Feeding an HTTP request body to a blocking writer without holding it in memory or blocking the event loop."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from registry.errors import BadRequest
from registry.storage.ingest import Ingest, StoredBlob

# Bytes handed to a worker thread at a time: enough to amortise the thread hop, little enough to bound memory.
INGEST_CHUNK = 4 * 1024 * 1024


async def feed_request_body(request: Request, write: Callable[[bytes], None]) -> int:
    """Call ``write`` (in a worker thread) with the body in pieces of about INGEST_CHUNK; returns the size.
    A client that disconnects half-way raises BadRequest."""
    pending: list[bytes] = []
    pending_size = size = 0
    try:
        async for chunk in request.stream():
            pending.append(chunk)
            pending_size += len(chunk)
            size += len(chunk)
            if pending_size >= INGEST_CHUNK:
                await run_in_threadpool(write, b"".join(pending))
                pending, pending_size = [], 0
    except ClientDisconnect:
        raise BadRequest("the client disconnected before the upload finished; nothing was stored") from None
    if pending:
        await run_in_threadpool(write, b"".join(pending))
    return size


async def ingest_request_body(request: Request, ingest: Ingest) -> StoredBlob:
    try:
        await feed_request_body(request, ingest.write)
        return await run_in_threadpool(ingest.finish)
    except BaseException:
        await run_in_threadpool(ingest.abort)
        raise
