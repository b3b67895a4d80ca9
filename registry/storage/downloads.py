"""File responses for stored objects: ETag, conditional requests and single byte ranges, streamed."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Response, status
from fastapi.responses import StreamingResponse

from registry.blobs import BlobStore
from registry.storage.ranges import parse_range


def file_headers(etag: str, filename: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=31536000, immutable",  # ids name immutable bytes
        "Content-Disposition": f'attachment; filename="{filename}"',
    }


def not_modified(etag: str, if_none_match: str | None) -> bool:
    return bool(if_none_match) and bool({etag, "*"} & {tag.strip() for tag in (if_none_match or "").split(",")})


def stored_file_response(
    store: BlobStore,
    key: str,
    size: int,
    headers: dict[str, str],
    *,
    range_header: str | None,
    if_range: str | None,
) -> Response:
    """The object at ``key`` (``size`` bytes), whole or the one range asked for."""
    byte_range = parse_range(range_header, size) if if_range in (None, headers["ETag"]) else None
    if byte_range is None:
        return streamed(store.iter_range(key, 0, size) if size else iter(()), size, headers)
    headers = {**headers, "Content-Range": byte_range.content_range(size)}
    body = store.iter_range(key, byte_range.start, byte_range.end)
    return streamed(body, byte_range.length, headers, status.HTTP_206_PARTIAL_CONTENT)


def streamed(
    body: Iterator[bytes], length: int, headers: dict[str, str], status_code: int = status.HTTP_200_OK
) -> StreamingResponse:
    return StreamingResponse(
        body,
        status_code=status_code,
        media_type="application/octet-stream",
        headers={**headers, "Content-Length": str(length)},
    )
