"""The blob store contract: content-addressed bytes live here; hashing and validation happen above.

A store moves bytes and nothing else. Writers stage bytes somewhere invisible and make them appear at
their key in one atomic step (``commit``), so a reader never sees a half-written blob and an
interrupted upload leaves only staging debris that ``clean_staging`` removes.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType


class BlobNotFound(KeyError):
    """No committed blob at this key."""


class BlobStoreUnavailable(RuntimeError):
    """The store cannot be reached or is misconfigured (readiness probe failure)."""


@dataclass(frozen=True)
class BlobInfo:
    key: str  # the key as given to commit(), relative to the store's root/prefix
    size: int  # bytes
    modified: datetime  # last write time, timezone-aware UTC


def resolve_range(start: int, end: int | None, size: int) -> tuple[int, int]:
    """Check a half-open byte range [start, end) against a blob of ``size`` bytes; None end = to the end."""
    stop = size if end is None else end
    if start < 0 or stop < start or stop > size:
        raise ValueError(f"byte range [{start}, {end}) does not fit a blob of {size} bytes")
    return start, stop


class _WriterState(enum.Enum):
    OPEN = "open"
    COMMITTED = "committed"
    ABORTED = "aborted"


class BlobWriter(ABC):
    """Stages bytes invisibly; ``commit(key)`` publishes them atomically, ``abort()`` drops them.

    Used as a context manager, a writer that leaves the block without being committed (exception or
    not) is aborted, so staged bytes never outlive a failed upload. A failed ``commit`` aborts too: the
    caller restarts the upload.
    """

    def __init__(self) -> None:
        self._state = _WriterState.OPEN
        self._bytes_written = 0

    @property
    def bytes_written(self) -> int:
        return self._bytes_written

    @property
    def committed(self) -> bool:
        return self._state is _WriterState.COMMITTED

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` (any size; the writer buffers up to its part size)."""
        self._require_open("write")
        view = memoryview(data).cast("B")
        if not view:
            return
        self._write(view)
        self._bytes_written += len(view)

    def commit(self, key: str) -> None:
        """Make everything written so far visible at ``key``, replacing any blob already there."""
        self._require_open("commit")
        try:
            self._commit(key)
        except BaseException:
            self.abort()
            raise
        self._state = _WriterState.COMMITTED

    def abort(self) -> None:
        """Drop everything staged. Safe to call more than once; a no-op after commit."""
        if self._state is not _WriterState.OPEN:
            return
        self._state = _WriterState.ABORTED
        self._abort()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    def _require_open(self, action: str) -> None:
        if self._state is not _WriterState.OPEN:
            raise RuntimeError(f"cannot {action}: writer is already {self._state.value}")

    @abstractmethod
    def _write(self, data: memoryview) -> None: ...

    @abstractmethod
    def _commit(self, key: str) -> None: ...

    @abstractmethod
    def _abort(self) -> None: ...


class BlobStore(ABC):
    """Keys are '/'-separated relative paths (see ``registry.blobs.keys``)."""

    @abstractmethod
    def open_writer(self, key_hint: str | None = None) -> BlobWriter:
        """Start staging a new blob. ``key_hint`` is the key ``commit`` will most likely get; stores use
        it to make that commit cheap (S3: the multipart upload starts at that key)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes; raises BlobNotFound."""

    @abstractmethod
    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Stream bytes [start, end) in chunks of at most ``chunk_size`` without loading the blob.

        Raises BlobNotFound / ValueError (range outside the blob) when called, before the first chunk,
        so an HTTP handler can answer 404/416 before it starts a response. The iterator holds an open
        stream: exhaust it or ``close()`` it.
        """

    def download_url(self, key: str, *, content_disposition: str | None = None) -> str | None:
        """A short-lived URL a client can GET the blob from (Range included) without the API in the path,
        or None when its bytes must be streamed through the API (the local store, or redirects switched off).
        The URL needs no credentials of the client's: whoever holds it can read that one blob until it expires.
        """
        return None

    @property
    def redirects_downloads(self) -> bool:
        """Whether ``download_url`` gives URLs (then a file stored as one whole object can be a redirect)."""
        return False

    def read(self, key: str, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes at ``offset``; raises BlobNotFound or ValueError (out of range)."""
        return b"".join(self.iter_range(key, offset, offset + length, chunk_size=max(length, 1)))

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Committed blobs whose key starts with ``prefix``, in key order (staging never shows)."""

    @abstractmethod
    def clean_staging(self, older_than: timedelta) -> int:
        """Drop staged uploads started more than ``older_than`` ago; returns how many were dropped."""

    @abstractmethod
    def check(self) -> None:
        """Readiness probe: raises BlobStoreUnavailable if the store cannot serve requests."""

    def unavailable_reason(self, error: BaseException) -> str | None:
        """Why the store cannot serve requests now, when ``error`` says so (the caller answers 503 and may
        retry); None for any other error."""
        return str(error) if isinstance(error, BlobStoreUnavailable) else None
