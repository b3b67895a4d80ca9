"""Downloading an artifact's file (or one file of a model folder) into the cache: resumable, verified, atomic.

Bytes stream into ``<sha256>.incomplete``; a broken connection (or a later process) continues from the
bytes already there with a ``Range`` request guarded by ``If-Range: "<sha256>"``. Only a file whose size
and sha256 match what the service announced is renamed into place, so the cache never holds a bad blob.
The sha256 is computed as the bytes arrive (the bytes already on disk from an earlier try or process are read
once to catch up), so a finished download is not read back to be checked: that second pass cost 0.7 s per GiB.
On S3 the service answers with a redirect to a presigned URL of the bucket, followed here (Range included).
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from patchhub._http import Transport, translate_transport_errors
from patchhub._progress import progress_bar
from patchhub.cache import BlobCache
from patchhub.errors import ChecksumMismatchError
from patchhub.types import Artifact

HASH_BLOCK_BYTES = 4 << 20


def file_sha256(path: Path, on_block: Callable[[int], object] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK_BYTES):
            digest.update(block)
            if on_block is not None:
                on_block(len(block))
    return digest.hexdigest()


class PartialDigest:
    """The sha256 of a partial download's first ``length`` bytes, extended as bytes are appended to it.

    Appended bytes are hashed on a thread of its own, in batches of about HASH_BLOCK_BYTES (hashlib lets go of
    the GIL on large buffers), so hashing overlaps receiving and writing instead of adding to them; hashing
    each received piece in line was no faster than reading the finished file back. ``close`` (or leaving the
    ``with`` block) stops the thread."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.length = 0
        self._batch: list[bytes] = []
        self._batch_bytes = 0
        self._batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=4)  # bounds the bytes held
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PartialDigest:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def update(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batch_bytes += len(chunk)
        self.length += len(chunk)
        if self._batch_bytes >= HASH_BLOCK_BYTES:
            self._hand_off()

    def _hand_off(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._hash_batches, name="patchhub-download-hash", daemon=True)
            self._thread.start()
        self._batches.put(self._batch)
        self._batch, self._batch_bytes = [], 0

    def _hash_batches(self) -> None:
        while (batch := self._batches.get()) is not None:
            for chunk in batch:
                self._digest.update(chunk)

    def close(self) -> None:
        """Hash everything handed over so far and stop the thread."""
        if self._batch:
            self._hand_off()
        if self._thread is not None:
            self._batches.put(None)
            self._thread.join()
            self._thread = None

    def restart(self) -> None:
        self.close()
        self._digest, self.length = hashlib.sha256(), 0

    def catch_up(self, path: Path, size: int) -> None:
        """Cover the file's first ``size`` bytes: read what is on disk past ``length`` (bytes another try or
        process wrote; from the start if the file is shorter than what was hashed)."""
        self.close()
        if size < self.length:
            self.restart()
        if size > self.length:
            with open(path, "rb") as handle:
                handle.seek(self.length)
                while self.length < size and (block := handle.read(min(HASH_BLOCK_BYTES, size - self.length))):
                    self._digest.update(block)
                    self.length += len(block)

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()


@dataclass(frozen=True)
class RemoteFile:
    """Bytes the service serves at ``url_path``, with the sha256 and size it announced: an artifact's file,
    or one file of a model folder. ``label`` names it in progress bars and errors."""

    url_path: str
    sha256: str
    size: int
    label: str


def artifact_file(artifact: Artifact) -> RemoteFile:
    return RemoteFile(f"/v1/artifacts/{artifact.id}/file", artifact.sha256, artifact.size, artifact.ref)


def fetch_to_cache(transport: Transport, cache: BlobCache, artifact: Artifact | RemoteFile, *, progress: bool) -> Path:
    """The file in the cache, downloaded (or resumed) only if it is not there yet."""
    remote = artifact if isinstance(artifact, RemoteFile) else artifact_file(artifact)
    cached = cache.lookup(remote.sha256, remote.size)
    if cached is not None:
        return cached
    with cache.locked(remote.sha256):
        cached = cache.lookup(remote.sha256, remote.size)  # another process may have just finished it
        if cached is not None:
            return cached
        partial = cache.incomplete_path(remote.sha256)
        have = partial.stat().st_size if partial.exists() else 0
        with (
            PartialDigest() as digest,
            progress_bar(remote.size, remote.label, enabled=progress, initial=min(have, remote.size)) as bar,
        ):
            transport.with_retries(lambda: _continue_download(transport, remote, partial, digest, bar.update))
            _verify(partial, remote, digest)
        final = cache.path(remote.sha256)
        os.replace(partial, final)
        return final


def _continue_download(
    transport: Transport, remote: RemoteFile, partial: Path, digest: PartialDigest, advance: Callable[[int], object]
) -> None:
    """One try: append the missing bytes to ``partial`` (restarting it if the service sends it whole), hashing
    them into ``digest`` as they are written."""
    have = partial.stat().st_size if partial.exists() else 0
    if have > remote.size:  # not a prefix of this blob: start over
        partial.unlink()
        have = 0
    if have == remote.size:
        return
    headers = {"Range": f"bytes={have}-", "If-Range": f'"{remote.sha256}"'} if have else {}
    with transport.open("GET", remote.url_path, headers=headers, follow_redirects=True) as response:
        resumed = response.status_code == 206
        if resumed and not response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
            raise ChecksumMismatchError(
                f"the service answered Range bytes={have}- with {response.headers.get('Content-Range')!r}"
            )
        if resumed:
            digest.catch_up(partial, have)
        else:
            digest.restart()
        with open(partial, "ab" if resumed else "wb") as sink, translate_transport_errors():  # maybe the store
            for chunk in response.iter_bytes():  # as it arrives: a broken connection keeps every byte
                sink.write(chunk)
                digest.update(chunk)
                advance(len(chunk))


def _verify(partial: Path, remote: RemoteFile, streamed: PartialDigest) -> None:
    size = partial.stat().st_size
    if size != remote.size:
        partial.unlink()
        raise ChecksumMismatchError(f"downloaded {size} bytes of {remote.label}, expected {remote.size}")
    streamed.catch_up(partial, size)  # nothing left to read unless the file was already whole before this call
    digest = streamed.hexdigest()
    if digest != remote.sha256:
        partial.unlink()
        raise ChecksumMismatchError(
            f"downloaded bytes of {remote.label} have sha256 {digest}, expected {remote.sha256}"
        )
