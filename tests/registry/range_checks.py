"""Range headers a download must survive: the forms it does not take are answered with the whole file (RFC 9110
lets a server ignore them), ranges that select no byte are 416 naming the size, and overlong numbers are clipped."""

from __future__ import annotations

import httpx

IGNORED = ["bytes=abc", "bytes=0-0,2-3", "items=0-5", "bytes=--1", "bytes=" + "9" * 5000, "bytes=5", "bytes=1-2-3"]


def check_malformed_ranges(client: httpx.Client, url: str, expected: bytes) -> None:
    """Every answer for ``url`` is the right part of ``expected`` (or 416), the first request included."""
    size = len(expected)
    for header in IGNORED:
        answer = client.get(url, headers={"Range": header})
        assert answer.status_code == 200 and answer.content == expected, (url, header[:20], answer.status_code)
    for header in ("bytes=5-2", "bytes=-0", f"bytes={size}-", "bytes=99999999999999999999999-"):
        answer = client.get(url, headers={"Range": header})
        assert answer.status_code == 416, (url, header, answer.status_code)
        assert answer.headers["content-range"] == f"bytes */{size}", (url, header)
    for header, (start, end) in {
        "bytes=0-" + "9" * 5000: (0, size),
        "bytes=-" + "9" * 5000: (0, size),
        f"bytes={size - 4}-": (size - 4, size),
    }.items():
        answer = client.get(url, headers={"Range": header})
        assert answer.status_code == 206 and answer.content == expected[start:end], (url, header[:20])
    assert client.get(url).content == expected  # nothing cached wrong on the way
