"""HTTP Range handling for downloads: one byte range, RFC 9110 semantics."""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import RangeNotSatisfiable

_SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


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
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), min(int(last) + 1, size) if last else size
    if start >= end:
        raise RangeNotSatisfiable(
            f"the range {header!r} selects no bytes of the {size}-byte file",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return ByteRange(start, end)
