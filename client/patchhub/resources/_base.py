"""Shared plumbing of the resource namespaces (``client.models``, ``client.artifacts`` ...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from patchhub._http import Transport

if TYPE_CHECKING:
    from patchhub.client import Client


class Resource:
    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def _transport(self) -> Transport:
        return self._client.transport

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing, fetching the next page only when it is needed."""
        page_token: str | None = None
        while True:
            query = {k: v for k, v in {**params, "page_token": page_token}.items() if v is not None}
            page = self._transport.request_json("GET", path, params=query)
            yield from page["items"]
            page_token = page.get("next_page_token")
            if not page_token:
                return


def segment(value: str) -> str:
    """One URL path segment, escaped."""
    return quote(value, safe="")
