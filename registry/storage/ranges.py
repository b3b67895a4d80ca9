"""HTTP Range handling for downloads: one byte range, RFC 9110 semantics."""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import RangeNotSatisfiable
from registry.numbers import MAX_DB_INT, parse_count

_SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The requested range, or None for the whole body (absent, multi-range or malformed headers)."""
    match = _SINGLE_RANGE.match(header or "")
    if match is None or match.groups() == ("", ""):
        return None  # unsupported forms are answered with the full body, as RFC 9110 allows
    first, last = match.groups()
    if not first:  # suffix range: the last N bytes
        start, end = max(0, size - _position(last)), size
    else:
        start, end = _position(first), min(_position(last) + 1, size) if last else size
    if start >= end:
        raise RangeNotSatisfiable(
            f"the range {header!r} selects no bytes of the {size}-byte file",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return ByteRange(start, end)


def _position(digits: str) -> int:
    """A byte position; any number past what a file can hold reads as one past the largest."""
    value = parse_count(digits)
    return MAX_DB_INT + 1 if value is None else value
