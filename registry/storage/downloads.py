"""File responses for stored objects: ETag, conditional requests and single byte ranges, streamed, or a
redirect to a presigned URL of the store (S3) so the bytes never pass through the API."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import Response, status
from fastapi.responses import StreamingResponse

from registry.blobs import BlobStore
from registry.storage.ranges import ByteRange, parse_range
from registry.storage.splice import Splice

# A range a store parses exactly as parse_range does: numbers short enough for any parser (RFC 9110 allows
# longer ones; those requests are answered here).
_PLAIN_RANGE = re.compile(r"bytes=[0-9]{0,18}-[0-9]{0,18}")
# Headers that describe the file's bytes: the store's answer carries its own.
_BODY_HEADERS = frozenset(
    {"accept-ranges", "cache-control", "content-disposition", "content-length", "content-range", "content-type"}
)


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
    """The object at ``key`` (``size`` bytes), whole or the one range asked for: a redirect to the store
    where it offers one (the client then sends its Range there), else streamed through this process."""
    return spliced_file_response(store, Splice.whole(key, size), headers, range_header=range_header, if_range=if_range)


def spliced_file_response(
    store: BlobStore,
    splice: Splice,
    headers: dict[str, str],
    *,
    range_header: str | None,
    if_range: str | None,
) -> Response:
    """``stored_file_response`` for a file made of ranges of stored objects; only a file that is one whole
    object can be a redirect."""
    size = splice.size
    byte_range = parse_range(range_header, size) if if_range in (None, headers["ETag"]) else None
    key = splice.whole_key
    if size and key is not None and redirectable(range_header, byte_range):
        url = store.download_url(key, content_disposition=headers.get("Content-Disposition"))
        if url is not None:
            return redirect(url, headers)
    if byte_range is None:
        return streamed(splice.iter_range(store, 0, size) if size else iter(()), size, headers)
    headers = {**headers, "Content-Range": byte_range.content_range(size)}
    body = splice.iter_range(store, byte_range.start, byte_range.end)
    return streamed(body, byte_range.length, headers, status.HTTP_206_PARTIAL_CONTENT)


def redirectable(range_header: str | None, byte_range: ByteRange | None) -> bool:
    """Whether the store answers this request as we would: no Range, or one plain range we accepted (a 416 is
    ours to send). A Range we answer whole (malformed, several ranges, a stale If-Range: the store would
    compare that with its own ETag, not ours) stays here."""
    if range_header is None:
        return True
    return byte_range is not None and _PLAIN_RANGE.fullmatch(range_header.strip()) is not None


def redirect(url: str, headers: dict[str, str]) -> Response:
    """302 to a presigned URL, with the caller's headers except those about a body (ETag, X-Patchhub-Sha256,
    and the Hub protocol's X-Linked-* / X-Repo-Commit stay). The URL expires: nothing here may be cached."""
    kept = {name: value for name, value in headers.items() if name.lower() not in _BODY_HEADERS}
    return Response(status_code=status.HTTP_302_FOUND, headers={**kept, "Location": url, "Cache-Control": "no-store"})


def streamed(
    body: Iterator[bytes], length: int, headers: dict[str, str], status_code: int = status.HTTP_200_OK
) -> StreamingResponse:
    return StreamingResponse(
        body,
        status_code=status_code,
        media_type="application/octet-stream",
        headers={**headers, "Content-Length": str(length)},
    )
