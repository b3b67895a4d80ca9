"""A file served as consecutive ranges of stored objects: read as one file, whole or any byte range of it,
without ever being written out as one object (a composition cached as its patched tensors, the rest read
from the base's own bytes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from registry.blobs import BlobStore


@dataclass(frozen=True)
class Extent:
    """``length`` bytes of the object at ``key`` from ``offset``, at the next position of the file."""

    key: str
    offset: int
    length: int


@dataclass(frozen=True)
class Splice:
    extents: tuple[Extent, ...]

    @classmethod
    def whole(cls, key: str, size: int) -> Splice:
        return cls((Extent(key, 0, size),))

    @property
    def size(self) -> int:
        return sum(extent.length for extent in self.extents)

    @property
    def whole_key(self) -> str | None:
        """The one object this file is, byte for byte from its start (a store can serve it alone)."""
        if len(self.extents) == 1 and self.extents[0].offset == 0:
            return self.extents[0].key
        return None

    def iter_range(self, store: BlobStore, start: int, end: int, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Bytes [start, end) of the file. The first extent is opened now (a missing object raises here, before
        a response starts); each later one when it is reached."""
        pieces = iter(self._pieces(start, end))
        first = next(pieces, None)
        if first is None:
            return iter(())
        return self._chain(store, store.iter_range(*first, chunk_size=chunk_size), pieces, chunk_size)

    @staticmethod
    def _chain(
        store: BlobStore, first: Iterator[bytes], rest: Iterator[tuple[str, int, int]], chunk_size: int
    ) -> Iterator[bytes]:
        yield from first
        for key, piece_start, piece_end in rest:
            yield from store.iter_range(key, piece_start, piece_end, chunk_size=chunk_size)

    def _pieces(self, start: int, end: int) -> Iterator[tuple[str, int, int]]:
        """(key, start, end) in each object for the extents that overlap [start, end)."""
        if start < 0 or end < start or end > self.size:
            raise ValueError(f"byte range [{start}, {end}) does not fit a file of {self.size} bytes")
        position = 0
        for extent in self.extents:
            low, high = max(start, position), min(end, position + extent.length)
            if low < high:
                yield extent.key, extent.offset + low - position, extent.offset + high - position
            position += extent.length
            if position >= end:
                return
