"""How a composed file (a one-file base's output, or one composed shard of a folder base) is cached.

- Where the store hands out download URLs (S3 with redirects on), the whole composed file is stored at the
  output key, so every later download is a redirect and no byte passes through the API.
- Elsewhere (the local store, S3 with redirects off) only the patched tensors are stored, as a safetensors
  file of them (names, dtypes and shapes as in the base) at the output key + ``.patched``. A later download is
  served spliced: the base's own bytes where no patch touches, the patched tensors' where one does. The output
  header is the base's byte for byte (``patchhub.compose``), so the splice is exactly the composed file. A first
  download then writes only the patched bytes: writing a whole copy into fresh pages cost more than the copy
  that serves the base (bench/RESULTS.md, issue 14).

Either way the cache is committed before the first download's last byte is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from patchhub.compose import CopiedRange, PatchedTensor, composition_plan, iter_plan_parts
from patchhub.safetensors_format import HeaderLimits, SafetensorsError, SafetensorsHeader, TensorInfo, encode_header
from patchhub.signature import Signature
from registry.blobs import BlobNotFound, BlobStore
from registry.storage.background_writer import BackgroundWriter
from registry.storage.readers import BlobRangeReader, read_stored_header
from registry.storage.splice import Extent, Splice

PATCHED_SUFFIX = ".patched"
_COMPOSED_FROM = "patchhub.composed_from"  # metadata of a patched-tensors file: the key of the base it patches


def patched_key(output_key: str) -> str:
    return output_key + PATCHED_SUFFIX


def cache_key(store: BlobStore, output_key: str) -> str:
    """Where ``store`` caches the file of ``output_key``: the whole file there where downloads redirect,
    else its patched tensors beside it."""
    return output_key if store.redirects_downloads else patched_key(output_key)


def compose_into_cache(
    store: BlobStore,
    base_key: str,
    header: SafetensorsHeader,
    patches: Sequence[tuple[Signature, float]],
    output_key: str,
    emit: Callable[[bytes], None],
) -> tuple[bytes | None, str | None]:
    """Emit the composed file's pieces, all but the last, while caching it; return the last piece once the
    cache is committed (the caller records it, then sends that piece), and the file's sha256 when the whole
    file was cached (hashed on a thread of its own as it went by). A patched-tensors cache is hashed later
    (``digests``), so no core is taken from the first download for it."""
    whole = store.redirects_downloads
    key = cache_key(store, output_key)
    plan = list(composition_plan(header, patches))  # checks the recipe once, for the header and the bytes
    digest = hashlib.sha256()
    with store.open_writer(key) as writer:
        if not whole:
            writer.write(_patched_header(base_key, plan))
        # The cache write (and the hash) overlap computing and sending.
        stages = [BackgroundWriter(writer.write), *([BackgroundWriter(digest.update)] if whole else [])]
        held: bytes | None = None
        try:
            for piece, patched in iter_plan_parts(header, BlobRangeReader(store, base_key), plan):
                for stage in stages if whole or patched else ():
                    stage.put(piece)
                if held is not None:
                    emit(held)
                held = piece
            for stage in stages:
                stage.close()
        except BaseException:
            for stage in stages:
                stage.abandon()
            raise
        writer.commit(key)
    return held, digest.hexdigest() if whole else None


def _patched_header(base_key: str, plan: list[CopiedRange | PatchedTensor]) -> bytes:
    """The header of the patched-tensors file: the covered tensors, in the base's order, packed."""
    tensors: list[TensorInfo] = []
    position = 0
    for step in plan:
        if isinstance(step, PatchedTensor):
            info = step.info
            tensors.append(TensorInfo(info.name, info.dtype, info.shape, position, position + info.nbytes))
            position += info.nbytes
    return encode_header(tensors, {_COMPOSED_FROM: base_key})


def cached_splice(store: BlobStore, base_key: str, output_key: str, size: int, limits: HeaderLimits) -> Splice | None:
    """The cached composed file as ranges of stored objects, or None when it is not cached. A patched-tensors
    file that does not fit its base (it cannot be, short of tampering) is dropped, so the file is recomputed."""
    if store.exists(output_key):
        return Splice.whole(output_key, size)
    key = patched_key(output_key)
    if not store.exists(key):
        return None
    try:
        base = read_stored_header(store, base_key, limits)
        patched = read_stored_header(store, key, limits)
        splice = _splice(base, base_key, patched, key)
    except (BlobNotFound, SafetensorsError, ValueError):
        splice = None
    if splice is None or splice.size != size:
        store.delete(key)
        return None
    return splice


def _splice(base: SafetensorsHeader, base_key: str, patched: SafetensorsHeader, key: str) -> Splice | None:
    if patched.metadata.get(_COMPOSED_FROM) != base_key:
        return None
    extents: list[Extent] = []
    position = 0  # in the base file, up to which bytes are placed
    found = 0
    for info in base.tensors.values():
        replacement = patched.tensors.get(info.name)
        if replacement is None:
            continue
        if (replacement.dtype, replacement.shape) != (info.dtype, info.shape):
            return None
        start = base.data_offset + info.start
        if start > position:
            extents.append(Extent(base_key, position, start - position))
        extents.append(Extent(key, patched.data_offset + replacement.start, replacement.nbytes))
        position = start + info.nbytes
        found += 1
    if found != len(patched.tensors):
        return None
    if base.total_size > position:
        extents.append(Extent(base_key, position, base.total_size - position))
    return Splice(tuple(extents))
