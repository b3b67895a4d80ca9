"""Opaque keyset page tokens (the last row's integer id, base64url encoded)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Query

from registry.errors import Invalid
from registry.numbers import parse_count

MAX_PAGE_SIZE = 200
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"items per page, 1-{MAX_PAGE_SIZE}")]


def encode_page_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_page_token(token: str | None) -> int | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, value = raw.partition(":")
        after = parse_count(value)
        if prefix != "id" or after is None:
            raise ValueError(raw)
        return after
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("page_token is not a token this service issued") from None
