"""Feeding an HTTP request body into an Ingest without holding it in memory or blocking the event loop."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from registry.errors import BadRequest
from registry.storage.ingest import Ingest, StoredBlob

# Bytes handed to a worker thread at a time: enough to amortise the thread hop, little enough to bound memory.
INGEST_CHUNK = 4 * 1024 * 1024


async def ingest_request_body(request: Request, ingest: Ingest) -> StoredBlob:
    pending: list[bytes] = []
    pending_size = 0
    try:
        async for chunk in request.stream():
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= INGEST_CHUNK:
                await run_in_threadpool(ingest.write, b"".join(pending))
                pending, pending_size = [], 0
        if pending:
            await run_in_threadpool(ingest.write, b"".join(pending))
        return await run_in_threadpool(ingest.finish)
    except ClientDisconnect:
        await run_in_threadpool(ingest.abort)
        raise BadRequest("the client disconnected before the upload finished; nothing was stored") from None
    except BaseException:
        await run_in_threadpool(ingest.abort)
        raise
