"""Streaming composition: W = W_base + sum_i scale_i * dequant(RWS_i), one tensor at a time.

Used by the service (compositions endpoint) and the SDK (local composition) alike. Guarantees:

* The output header is the base's header, byte for byte: names, dtypes, shapes and offsets never change.
* A tensor no patch touches (or only patches with scale 0) is copied byte for byte, so composing no
  patches reproduces the base exactly (same sha256), and removing a patch = composing without it.
* Covered tensors are computed in float32 (float64 for F64 bases) and rounded back to the base dtype
  (round to nearest even). Patches are summed in a canonical order (signature sha256, then scale), so
  the bytes depend only on the recipe, not on the order the patches were listed in.
* Covered tensors are computed in slices of about ``copy_chunk`` bytes (aligned so every signature can
  dequantize just that slice), so memory is bounded by a few chunks whatever the tensor sizes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from patchhub.numeric import FLOAT_DTYPES, LARGEST_FINITE, compute_dtype, decode_float_into, encode_float
from patchhub.safetensors_format import SafetensorsHeader, TensorInfo, read_header
from patchhub.signature import Signature
from patchhub.writeback import WRITEBACK_EVERY, Writeback

COPY_THREADS = 2  # kernel copies of the bytes shared with the base, side by side


class RangeReader(Protocol):
    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes of the base file starting at absolute ``offset``."""
        ...


class CompositionError(ValueError):
    """The patches cannot be applied to this base; ``tensors`` names the offending tensors."""

    def __init__(self, message: str, tensors: Sequence[str]):
        super().__init__(message)
        self.tensors = list(tensors)


class FileRangeReader:
    """``RangeReader`` over a local file object."""

    def __init__(self, stream: _BinaryFile):
        self._stream = stream

    def read(self, offset: int, length: int) -> bytes:
        self._stream.seek(offset)
        data = self._stream.read(length)
        if len(data) != length:
            raise ValueError(f"base file ended early: wanted {length} bytes at offset {offset}, got {len(data)}")
        return data


class _BinaryFile(Protocol):
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def read(self, size: int = -1, /) -> bytes: ...


def check_compatible(base: SafetensorsHeader, signatures: Sequence[Signature]) -> None:
    """Raise ``CompositionError`` naming every covered tensor that is missing, reshaped or not float."""
    problems: dict[str, str] = {}
    for signature in signatures:
        for name in signature.tensor_names:
            info = base.tensors.get(name)
            if info is None:
                problems.setdefault(name, f"{name} (not in the base)")
            elif info.shape != signature.shape(name):
                problems.setdefault(name, f"{name} (base {list(info.shape)}, signature {list(signature.shape(name))})")
            elif info.dtype not in FLOAT_DTYPES:
                problems.setdefault(name, f"{name} (base dtype {info.dtype} is not a float dtype)")
    if problems:
        names = sorted(problems)
        raise CompositionError(
            "signature does not fit the base: "
            + "; ".join(problems[n] for n in names[:20])
            + (f"; and {len(names) - 20} more" if len(names) > 20 else ""),
            names,
        )


def check_in_range(base: SafetensorsHeader, patches: Sequence[tuple[Signature, float]]) -> None:
    """Raise ``CompositionError`` naming every tensor whose scaled deltas alone reach past the largest
    finite value of its dtype (a scale of 1e300 would otherwise write infinities). The check needs only the
    signatures; a base value that is itself near the limit can still round to infinity (docs/rws.md)."""
    reach: dict[str, float] = {}
    for signature, scale in canonical_patches(patches):
        for name in signature.tensor_names:
            reach[name] = reach.get(name, 0.0) + abs(scale) * signature.max_abs_delta(name)
    over = sorted(
        name
        for name, total in reach.items()
        if name in base.tensors and not total < LARGEST_FINITE.get(base.tensors[name].dtype, math.inf)
    )
    if over:
        raise CompositionError(
            "the scaled patches overflow the base dtype in "
            + ", ".join(over[:20])
            + ("; ..." if len(over) > 20 else ""),
            over,
        )


def merged_scales(patches: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """One entry per patch (keyed by its sha256) with the scales it was listed with summed, and -0.0 as 0.0,
    sorted: the canonical recipe, so listing a patch twice or in another order is the same composition."""
    merged: dict[str, float] = {}
    for key, scale in patches:
        merged[key] = merged.get(key, 0.0) + float(scale)
    return sorted((key, scale + 0.0) for key, scale in merged.items())


def composed_size(base: SafetensorsHeader) -> int:
    """The composed file has exactly the base's size (same header, same dtypes)."""
    return base.total_size


def canonical_patches(patches: Sequence[tuple[Signature, float]]) -> list[tuple[Signature, float]]:
    """Non-zero patches in the order their deltas are summed (by signature sha256), a signature listed twice
    once with its scales summed: the bytes depend only on the canonical recipe."""
    by_sha = {signature.sha256(): signature for signature, _ in patches}
    merged = merged_scales([(signature.sha256(), scale) for signature, scale in patches])
    return [(by_sha[sha], scale) for sha, scale in merged if scale != 0.0]


def iter_composed(
    base: SafetensorsHeader,
    reader: RangeReader,
    patches: Sequence[tuple[Signature, float]],
    copy_chunk: int = 8 << 20,
) -> Iterator[bytes]:
    """Yield the composed safetensors file in pieces: the base header, then each tensor's bytes."""
    for piece, _patched in iter_composed_parts(base, reader, patches, copy_chunk):
        yield piece


def iter_composed_parts(
    base: SafetensorsHeader,
    reader: RangeReader,
    patches: Sequence[tuple[Signature, float]],
    copy_chunk: int = 8 << 20,
) -> Iterator[tuple[bytes, bool]]:
    """``iter_composed``'s pieces, each with whether it is computed (a patched tensor's bytes) or the base's
    own bytes at the same offset."""
    return iter_plan_parts(base, reader, composition_plan(base, patches, copy_chunk), copy_chunk)


def iter_plan_parts(
    base: SafetensorsHeader,
    reader: RangeReader,
    plan: Iterable[CopiedRange | PatchedTensor],
    copy_chunk: int = 8 << 20,
) -> Iterator[tuple[bytes, bool]]:
    """``iter_composed_parts`` for a plan already made (``composition_plan``)."""
    for step in plan:
        if isinstance(step, CopiedRange):
            for piece in _copy_range(reader, step.offset, step.length, copy_chunk):
                yield piece, False
        else:
            for piece in _patched_tensor(base, reader, step, copy_chunk):
                yield piece, True


@dataclass(frozen=True)
class CopiedRange:
    """Bytes of the output that are the base's bytes at the same offset (the header, untouched tensors)."""

    offset: int
    length: int


@dataclass(frozen=True)
class PatchedTensor:
    """A covered tensor and the canonical patches that cover it."""

    info: TensorInfo
    covering: list[tuple[Signature, float]]


def composition_plan(
    base: SafetensorsHeader, patches: Sequence[tuple[Signature, float]], copy_chunk: int = 8 << 20
) -> Iterator[CopiedRange | PatchedTensor]:
    """The output in order, as runs copied from the base and tensors to compute, after checking the recipe."""
    if copy_chunk <= 0:
        raise ValueError("copy_chunk must be positive")
    for _, scale in patches:
        if not np.isfinite(scale):
            raise ValueError(f"patch scale {scale!r} is not a finite number")
    check_compatible(base, [signature for signature, _ in patches])
    check_in_range(base, patches)
    ordered = canonical_patches(patches)
    covered = {name for signature, _ in ordered for name in signature.tensor_names}
    pending_start = 0  # start of a run of bytes copied as they are: the header, then untouched tensors
    pending_end = base.data_offset
    for info in base.tensors.values():
        if info.name not in covered:
            pending_end = base.data_offset + info.end
            continue
        if pending_end > pending_start:
            yield CopiedRange(pending_start, pending_end - pending_start)
        yield PatchedTensor(info, [(signature, scale) for signature, scale in ordered if signature.covers(info.name)])
        pending_start = pending_end = base.data_offset + info.end
    if pending_end > pending_start:
        yield CopiedRange(pending_start, pending_end - pending_start)


def _copy_range(reader: RangeReader, offset: int, length: int, chunk: int) -> Iterator[bytes]:
    for start in range(0, length, chunk):
        yield reader.read(offset + start, min(chunk, length - start))


def _patched_tensor(
    base: SafetensorsHeader, reader: RangeReader, tensor: PatchedTensor, chunk_bytes: int
) -> Iterator[bytes]:
    """The tensor's composed bytes, slice by slice: base slice + sum of scaled delta slices. The arithmetic
    runs in buffers made once per tensor (a few chunks), never in fresh arrays per step."""
    info, covering = tensor.info, tensor.covering
    alignment = math.lcm(*(signature.slice_alignment(info.name) for signature, _ in covering))
    itemsize = np.dtype(FLOAT_DTYPES[info.dtype]).itemsize if info.dtype in FLOAT_DTYPES else 1
    step = max(alignment, chunk_bytes // itemsize // alignment * alignment)
    length = min(step, info.numel)
    values_buffer = np.empty(length, dtype=compute_dtype(info.dtype))
    total_buffer = np.empty_like(values_buffer)
    delta_buffer = np.empty(length, dtype=np.float32)
    # The scaled delta, in the computing dtype: in place over the delta for float32, widened for float64.
    term_buffer = delta_buffer if values_buffer.dtype == np.float32 else np.empty_like(values_buffer)
    for start in range(0, info.numel, step):
        stop = min(info.numel, start + step)
        count = stop - start
        raw = reader.read(base.data_offset + info.start + start * itemsize, count * itemsize)
        values = decode_float_into(raw, info.dtype, values_buffer[:count])
        total, term = total_buffer[:count], term_buffer[:count]
        total.fill(0)
        for signature, scale in covering:
            delta = signature.delta_slice_into(info.name, start, stop, delta_buffer[:count])
            np.multiply(delta, values.dtype.type(scale), out=term)
            np.add(total, term, out=total)
        np.add(values, total, out=values)
        yield encode_float(values, info.dtype)


def recipe_hash(base_sha256: str, patches: Sequence[tuple[str, float]]) -> str:
    """The canonical key of a composition: sha256 of JSON {base, sorted [(signature sha256, repr(scale))]}.

    Scales are normalized through ``float`` so 1 and 1.0 agree, -0.0 is 0.0, and a patch listed twice is one
    entry with its scales summed (``merged_scales``); zero-scale patches stay in the key (they are part of
    what was asked for) even though they do not change the bytes.
    """
    entries = [(sha, repr(scale)) for sha, scale in merged_scales([(sha.lower(), scale) for sha, scale in patches])]
    canonical = json.dumps({"base": base_sha256.lower(), "patches": entries}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def compose_file(
    base_path: str | Path,
    patches: Sequence[tuple[Signature, float]],
    out_path: str | Path,
    *,
    chunk_bytes: int = 8 << 20,
) -> None:
    """Compose into ``out_path`` (written as ``out_path.incomplete``, fsynced, then renamed). Bytes the output
    shares with the base are copied in the kernel (``os.copy_file_range``) on a helper thread while this one
    computes the patched tensors, each written at its own offset (the output's layout is the base's); the
    helper also flushes what it copied every few dozen MiB, so the final fsync has little left. Nothing is
    hashed: the caller knows the recipe, and the file's size is the check that it is whole."""
    out = Path(out_path)
    partial = out.with_name(out.name + ".incomplete")
    try:
        with open(base_path, "rb") as base_stream, open(partial, "wb") as sink:
            header = read_header(base_stream)
            plan = list(composition_plan(header, patches))
            source, target = base_stream.fileno(), sink.fileno()
            copier = _RangeCopier(source, target, [step for step in plan if isinstance(step, CopiedRange)])
            copier.start()
            try:
                reader = FileRangeReader(base_stream)
                for step in plan:
                    if isinstance(step, PatchedTensor):
                        offset = header.data_offset + step.info.start
                        for piece in _patched_tensor(header, reader, step, chunk_bytes):
                            _pwrite_all(target, piece, offset)
                            offset += len(piece)
            finally:
                copier.join()
            os.fsync(target)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


class _RangeCopier:
    """Copies the base's ranges to the same offsets of the output on COPY_THREADS helper threads (a page-cache
    copy runs at one core's speed), each flushing what it copied to disk as it goes; ``join`` raises what a
    copy raised."""

    def __init__(self, source: int, target: int, ranges: list[CopiedRange]) -> None:
        self._source, self._target = source, target
        pieces = [
            (step.offset + start, min(WRITEBACK_EVERY, step.length - start))
            for step in ranges
            for start in range(0, step.length, WRITEBACK_EVERY)
        ]
        self._threads = [
            threading.Thread(target=self._copy, args=(pieces[i::COPY_THREADS],), name="compose-copy", daemon=True)
            for i in range(min(COPY_THREADS, len(pieces)))
        ]
        self._errors: list[BaseException] = []

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _copy(self, pieces: list[tuple[int, int]]) -> None:
        writeback = Writeback(self._target)
        try:
            for offset, length in pieces:
                if self._errors:
                    break  # another copy failed: the output is discarded
                _copy_file_range(self._source, self._target, offset, length)
                if writeback.due(length):
                    writeback.start()
            writeback.finish()
        except BaseException as exc:  # raised by join, in the composing thread
            writeback.wait()
            self._errors.append(exc)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    with memoryview(data) as view:
        written = 0
        while written < len(view):
            written += os.pwrite(fd, view[written:], offset + written)


def _copy_file_range(source: int, target: int, offset: int, length: int) -> None:
    """Copy ``length`` bytes of ``source`` at ``offset`` to the same offset of ``target``."""
    copied = 0
    while copied < length:
        position = offset + copied
        try:
            done = os.copy_file_range(source, target, length - copied, position, position)
        except OSError:  # not supported here (another filesystem, an old kernel): copy through memory
            done = 0
        if done == 0:
            data = os.pread(source, min(8 << 20, length - copied), position)
            if not data:
                raise ValueError(f"base file ended early: wanted {length} bytes at offset {offset}")
            _pwrite_all(target, data, position)
            done = len(data)
        copied += done
