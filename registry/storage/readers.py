"""Reading stored safetensors files in pieces: a RangeReader over the blob store, and header parsing."""

from __future__ import annotations

from patchhub.safetensors_format import HEADER_PREFIX_SIZE, HeaderLimits, SafetensorsHeader, header_length, parse_header
from registry.blobs import BlobStore


class BlobRangeReader:
    """``read(offset, length)`` against one stored object (what patchhub.compose.iter_composed reads from)."""

    def __init__(self, store: BlobStore, key: str) -> None:
        self._store = store
        self._key = key

    def read(self, offset: int, length: int) -> bytes:
        return self._store.read(self._key, offset, length) if length else b""


def read_stored_header(store: BlobStore, key: str, limits: HeaderLimits) -> SafetensorsHeader:
    """The header of a stored (already validated) file, from two ranged reads."""
    length = header_length(store.read(key, 0, HEADER_PREFIX_SIZE), limits)
    return parse_header(store.read(key, HEADER_PREFIX_SIZE, length), limits)
