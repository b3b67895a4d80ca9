"""The on-disk format of a Robust Weight Signature (RWS): quantized weight deltas in a safetensors file.

A signature covers some tensors of a base model (its shallow layers). For each covered base tensor
``NAME`` the file holds (full description in docs/formats.md):

* ``bits`` 32: ``NAME`` float32 with the base tensor's shape (no quantization).
* ``bits`` 8, 4, 2: ``NAME::q`` uint8 codes of the flattened delta, bit-packed below 8 bits (element i
  sits in byte ``i // (8 // bits)`` at bit ``(i % (8 // bits)) * bits``), plus ``NAME::scale`` and
  ``NAME::offset`` float32; the delta is ``code * scale + offset`` (uniform asymmetric, min/max).
* ``bits`` 1: ``NAME::q`` packed sign bits (1 = positive) and ``NAME::scale`` float32 (mean absolute
  value); the delta is ``(+1 | -1) * scale`` (BitDelta's sign-plus-scale form).

``scheme`` "per_tensor" stores scale/offset with shape [1]; "per_channel" stores shape [shape[0]] for
tensors of two or more dims, one per dim-0 slice (output channels); 1-d tensors keep [1].
``__metadata__`` names the format, version, shapes and provenance. Loading validates everything and
never unpickles. A loaded signature keeps only its scales and offsets in memory; codes (and 32-bit values)
stay where they are stored and are read a slice at a time when a delta is asked for (``ByteSource``), so
composing with many signatures costs no more memory than composing with one.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import struct
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from patchhub.safetensors_format import (
    HEADER_PREFIX_SIZE,
    SafetensorsError,
    SafetensorsHeader,
    header_length,
    parse_header,
)

FORMAT_NAME = "patchhub.rws"
FORMAT_VERSION = "1"
SUPPORTED_BITS = (1, 2, 4, 8, 32)
SCHEMES = ("per_tensor", "per_channel")
PART_SEPARATOR = "::"

# Metadata keys the format itself owns; callers may add others (strings only).
_RESERVED_KEYS = ("format", "format_version", "bits", "scheme", "tensors")


class ByteSource(Protocol):
    def read(self, offset: int, length: int) -> bytes | memoryview:
        """Exactly ``length`` bytes of the signature file starting at ``offset``."""
        ...


class StoredPart:
    """A tensor part left in its file (little-endian ``dtype``), read a slice of elements at a time."""

    def __init__(self, source: ByteSource, offset: int, dtype: str, shape: tuple[int, ...]):
        self._source = source
        self._offset = offset
        self._dtype = np.dtype(dtype)
        self.dtype = self._dtype.newbyteorder("=")
        self.shape = shape
        self.numel = math.prod(shape)
        self.nbytes = self.numel * self._dtype.itemsize

    def items(self, start: int, stop: int) -> np.ndarray:
        """Flattened elements [start, stop), read-only when the source allows it."""
        itemsize = self._dtype.itemsize
        data = self._source.read(self._offset + start * itemsize, (stop - start) * itemsize)
        return np.frombuffer(data, dtype=self._dtype).astype(self.dtype, copy=False)

    def load(self) -> np.ndarray:
        return self.items(0, self.numel).reshape(self.shape)

    def chunks(self, items: int = 1 << 22) -> Iterator[np.ndarray]:
        for start in range(0, self.numel, items):
            yield self.items(start, min(self.numel, start + items))


Values = np.ndarray | StoredPart


@dataclass(frozen=True)
class QuantizedTensor:
    """One covered tensor as stored: codes (or float32 values for 32 bits) plus scale/offset."""

    shape: tuple[int, ...]  # the base tensor's shape
    values: Values  # bits 32: float32 [*shape]; otherwise packed uint8 codes [ceil(numel*bits/8)]
    scale: np.ndarray | None  # float32 [1] or [shape[0]]; None for 32 bits
    offset: np.ndarray | None  # float32 like scale; None for 32 and 1 bits


class Signature:
    """A loaded or freshly quantized signature. ``delta(name)`` gives the dequantized float32 delta."""

    def __init__(
        self,
        tensors: Mapping[str, QuantizedTensor],
        bits: int,
        scheme: str,
        metadata: Mapping[str, str],
        sha256: str | Callable[[], str] | None = None,
    ):
        _check_bits_scheme(bits, scheme)
        self._tensors = dict(tensors)
        self.bits = bits
        self.scheme = scheme
        self._extra_metadata = {k: v for k, v in metadata.items() if k not in _RESERVED_KEYS}
        for name, tensor in self._tensors.items():
            _validate_tensor(name, tensor, bits, scheme)
        self._bytes: bytes | None = None
        self._sha256 = sha256  # of the file it was loaded from (or how to compute it); None: of its serialization

    @property
    def metadata(self) -> dict[str, str]:
        """All ``__metadata__`` entries, including the format's own keys."""
        return {
            **self._extra_metadata,
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "bits": str(self.bits),
            "scheme": self.scheme,
            "tensors": json.dumps({n: list(t.shape) for n, t in self._tensors.items()}, separators=(",", ":")),
        }

    @property
    def tensor_names(self) -> list[str]:
        """The base tensors this signature changes, in the order it stores them."""
        return list(self._tensors)

    def with_metadata(self, extra: Mapping[str, str]) -> Signature:
        """The same tensors with ``extra`` entries added to (or replacing) the metadata."""
        return Signature(self._tensors, self.bits, self.scheme, {**self._extra_metadata, **extra})

    def restricted_to(self, names: Collection[str]) -> Signature:
        """The same signature covering only the tensors in ``names`` (one shard of a sharded base), with the
        same sha256, so patches keep their canonical order. Its tensors were validated when it was loaded."""
        subset = copy.copy(self)
        subset._tensors = {name: tensor for name, tensor in self._tensors.items() if name in names}
        subset._bytes = None
        subset._sha256 = self.sha256()
        return subset

    def covers(self, name: str) -> bool:
        return name in self._tensors

    def shape(self, name: str) -> tuple[int, ...]:
        return self._tensor(name).shape

    def delta(self, name: str) -> np.ndarray:
        """The dequantized delta of base tensor ``name`` as float32 with the base tensor's shape."""
        tensor = self._tensor(name)
        return self.delta_slice(name, 0, math.prod(tensor.shape)).reshape(tensor.shape)

    def slice_alignment(self, name: str) -> int:
        """Element counts a ``delta_slice`` boundary must be a multiple of: whole bytes of packed codes,
        and whole rows where scales are per channel."""
        tensor = self._tensor(name)
        numel = math.prod(tensor.shape)
        rows = scale_rows(tensor.shape, self.scheme)
        return math.lcm(8, numel // rows) if rows > 1 else 8

    def delta_slice(self, name: str, start: int, stop: int) -> np.ndarray:
        """Elements [start, stop) of the flattened dequantized delta, float32, without dequantizing the rest.
        ``start`` must be a multiple of ``slice_alignment(name)`` (``stop`` too, unless it is the end)."""
        return self.delta_slice_into(name, start, stop, np.empty(stop - start, dtype=np.float32))

    def delta_slice_into(self, name: str, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """``delta_slice`` written into ``out`` (contiguous float32, ``stop - start`` elements), which it returns.

        Each step is one ufunc writing into ``out``, in the order the arithmetic has always been done, so the
        values are bit for bit those of fresh arrays; reusing one buffer spares the composition engine a new
        array (and its page faults) per step, which made dequantizing about 3x slower."""
        tensor = self._tensor(name)
        numel = math.prod(tensor.shape)
        if not 0 <= start <= stop <= numel:
            raise ValueError(f"slice [{start}, {stop}) is outside the {numel} elements of {name!r}")
        if out.shape != (stop - start,) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous float32 array of {stop - start} elements")
        if self.bits == 32:
            np.copyto(out, _flat_items(tensor.values, start, stop))
            return out
        alignment = self.slice_alignment(name)
        if start % alignment or (stop != numel and stop % alignment):
            raise ValueError(f"slice [{start}, {stop}) of {name!r} is not aligned to {alignment} elements")
        per_byte = 8 // self.bits
        packed = _flat_items(tensor.values, start // per_byte, -(-stop // per_byte))
        codes = unpack_bits(packed, self.bits, stop - start)
        assert tensor.scale is not None
        rows = scale_rows(tensor.shape, self.scheme)
        row_length = numel // rows
        first_row, last_row = start // row_length, -(-stop // row_length)
        scale = tensor.scale[first_row:last_row].reshape(-1, 1)
        by_row = out.reshape(last_row - first_row, -1) if rows > 1 else out.reshape(1, -1)
        codes_by_row = codes.reshape(by_row.shape)
        if self.bits == 1:  # codes 0/1 stand for -1/+1
            np.multiply(codes_by_row, np.float32(2), out=by_row)
            np.subtract(by_row, np.float32(1), out=by_row)
            np.multiply(by_row, scale, out=by_row)
        else:
            assert tensor.offset is not None
            np.multiply(codes_by_row, scale, out=by_row)
            np.add(by_row, tensor.offset[first_row:last_row].reshape(-1, 1), out=by_row)
        return out

    def max_abs_delta(self, name: str) -> float:
        """The largest magnitude in the dequantized delta of ``name``, from the scales alone (codes lie in
        [0, 2^bits - 1], so each row's extremes are its offset and offset + scale * (2^bits - 1))."""
        tensor = self._tensor(name)
        if self.bits == 32:
            return max((float(np.abs(chunk).max(initial=0.0)) for chunk in _chunks(tensor.values)), default=0.0)
        assert tensor.scale is not None
        scale = np.abs(tensor.scale.astype(np.float64))
        if self.bits == 1:
            return float(scale.max(initial=0.0))
        assert tensor.offset is not None
        offset = tensor.offset.astype(np.float64)
        top = offset + tensor.scale.astype(np.float64) * (2**self.bits - 1)
        return float(np.maximum(np.abs(offset), np.abs(top)).max(initial=0.0))

    def stored_nbytes(self) -> int:
        """Bytes of tensor data in the file (codes plus scales), the numerator of the size ratio."""
        return sum(part.nbytes for _, part in self._parts())

    def to_bytes(self) -> bytes:
        """The safetensors serialization; the same signature always gives the same bytes."""
        if self._bytes is None:
            self._bytes = _serialize([(name, _loaded(part)) for name, part in self._parts()], self.metadata)
        return self._bytes

    def sha256(self) -> str:
        """The sha256 of the file this signature was loaded from (its artifact's), or of its serialization."""
        if not isinstance(self._sha256, str):
            self._sha256 = self._sha256() if self._sha256 else hashlib.sha256(self.to_bytes()).hexdigest()
        return self._sha256

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, sha256: str | None = None) -> Signature:
        """Load from the file's bytes (codes stay views into ``data``); pass ``sha256`` when it is known."""
        return cls.open(_BytesSource(data), len(data), sha256 or (lambda: hashlib.sha256(data).hexdigest()))

    @classmethod
    def from_path(cls, path: str | Path, sha256: str | None = None) -> Signature:
        """Load from a file that stays in place: deltas are read from it when asked for."""
        source = _PathSource(Path(path))
        return cls.open(source, source.size, sha256 or source.sha256)

    @classmethod
    def open(cls, source: ByteSource, size: int, sha256: str | Callable[[], str]) -> Signature:
        """Load the header, scales and offsets of a ``size``-byte signature file from ``source``, validating
        everything (32-bit values are scanned slice by slice); codes stay in the source."""
        return _deserialize(source, size, sha256)

    def _tensor(self, name: str) -> QuantizedTensor:
        try:
            return self._tensors[name]
        except KeyError:
            raise KeyError(f"signature does not cover tensor {name!r}") from None

    def _parts(self) -> list[tuple[str, Values]]:
        parts: list[tuple[str, Values]] = []
        for name, tensor in self._tensors.items():
            if self.bits == 32:
                parts.append((name, tensor.values))
                continue
            parts.append((name + PART_SEPARATOR + "q", tensor.values))
            assert tensor.scale is not None
            parts.append((name + PART_SEPARATOR + "scale", tensor.scale))
            if tensor.offset is not None:
                parts.append((name + PART_SEPARATOR + "offset", tensor.offset))
        return parts


def quantize_signature(
    deltas: Mapping[str, np.ndarray],
    bits: int,
    scheme: str = "per_tensor",
    metadata: Mapping[str, str] | None = None,
) -> Signature:
    """Quantize float deltas (name -> array with the base tensor's shape) into a ``Signature``."""
    _check_bits_scheme(bits, scheme)
    tensors = {
        name: quantize_tensor(np.asarray(delta, dtype=np.float32), bits, scheme) for name, delta in deltas.items()
    }
    return Signature(tensors, bits, scheme, dict(metadata or {}))


def quantize_tensor(delta: np.ndarray, bits: int, scheme: str) -> QuantizedTensor:
    """Uniform quantization of one float32 delta; scales are computed per tensor or per dim-0 slice."""
    shape = tuple(int(d) for d in delta.shape)
    if delta.size == 0:
        raise ValueError("a signature cannot cover an empty tensor")
    if not np.isfinite(delta).all():
        raise ValueError("a signature delta holds NaN or infinity")
    if bits == 32:
        return QuantizedTensor(shape, np.ascontiguousarray(delta, dtype=np.float32), None, None)
    rows = scale_rows(shape, scheme)
    by_row = delta.reshape(rows, -1)  # [rows, numel // rows]
    if bits == 1:
        scale = np.abs(by_row).mean(axis=1).astype(np.float32)  # [rows]
        codes = (by_row > 0).astype(np.uint8)
        return QuantizedTensor(shape, pack_bits(codes.reshape(-1), 1), scale, None)
    levels = (1 << bits) - 1
    low = by_row.min(axis=1).astype(np.float32)  # [rows]
    high = by_row.max(axis=1).astype(np.float32)
    scale = ((high - low) / np.float32(levels)).astype(np.float32)
    safe_scale = np.where(scale > 0, scale, np.float32(1))
    codes = np.rint((by_row - low[:, None]) / safe_scale[:, None])
    codes = np.clip(codes, 0, levels).astype(np.uint8)
    return QuantizedTensor(shape, pack_bits(codes.reshape(-1), bits), scale, low)


def pack_bits(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack uint8 codes < 2**bits, lowest bits first: element i -> byte i // (8 // bits)."""
    if bits == 8:
        return np.ascontiguousarray(codes, dtype=np.uint8)
    per_byte = 8 // bits
    padded = np.zeros(-(-codes.size // per_byte) * per_byte, dtype=np.uint8)
    padded[: codes.size] = codes
    groups = padded.reshape(-1, per_byte).astype(np.uint16)  # [bytes, per_byte]
    shifts = (np.arange(per_byte, dtype=np.uint16) * bits)[None, :]
    return (groups << shifts).sum(axis=1).astype(np.uint8)


def unpack_bits(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Inverse of ``pack_bits``: the first ``count`` codes."""
    if bits == 8:
        return packed[:count]
    per_byte = 8 // bits
    shifts = (np.arange(per_byte, dtype=np.uint8) * bits)[None, :]
    mask = np.uint8((1 << bits) - 1)
    codes = (packed[:, None] >> shifts) & mask  # [bytes, per_byte]
    return codes.reshape(-1)[:count]


def scale_rows(shape: tuple[int, ...], scheme: str) -> int:
    """How many scale/offset pairs a tensor gets: one per dim-0 slice for per-channel matrices and conv
    kernels, one for everything else (a per-element scale for a bias would cost more than float32)."""
    return shape[0] if scheme == "per_channel" and len(shape) >= 2 else 1


def packed_size(numel: int, bits: int) -> int:
    return -(-numel * bits // 8)


def _check_bits_scheme(bits: int, scheme: str) -> None:
    if bits not in SUPPORTED_BITS:
        raise ValueError(f"bits must be one of {SUPPORTED_BITS}, got {bits!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def _validate_tensor(name: str, tensor: QuantizedTensor, bits: int, scheme: str) -> None:
    numel = math.prod(tensor.shape)
    if bits == 32:
        if tensor.values.dtype != np.float32 or tuple(tensor.values.shape) != tensor.shape:
            raise ValueError(f"tensor {name!r}: 32-bit values must be float32 with shape {list(tensor.shape)}")
        if not all(np.isfinite(chunk).all() for chunk in _chunks(tensor.values)):
            raise ValueError(f"tensor {name!r}: values hold NaN or infinity")
        return
    expected = (packed_size(numel, bits),)
    if tensor.values.dtype != np.uint8 or tuple(tensor.values.shape) != expected:
        raise ValueError(f"tensor {name!r}: codes must be uint8 with shape {list(expected)}")
    rows = scale_rows(tensor.shape, scheme)
    if numel == 0:
        raise ValueError(f"tensor {name!r}: a signature cannot cover an empty tensor")
    wanted = ["scale"] if bits == 1 else ["scale", "offset"]
    for part in ("scale", "offset"):
        array = getattr(tensor, part)
        if part not in wanted:
            if array is not None:
                raise ValueError(f"tensor {name!r}: {bits}-bit codes take no {part}")
            continue
        if array is None or array.dtype != np.float32 or tuple(array.shape) != (rows,):
            raise ValueError(f"tensor {name!r}: {part} must be float32 with shape [{rows}]")
        if not np.isfinite(array).all():
            raise ValueError(f"tensor {name!r}: {part} holds NaN or infinity")
    if bits == 1 and (tensor.scale is not None and (tensor.scale < 0).any()):
        raise ValueError(f"tensor {name!r}: 1-bit scales must be non-negative")


def _serialize(parts: list[tuple[str, np.ndarray]], metadata: dict[str, str]) -> bytes:
    header: dict[str, Any] = {"__metadata__": metadata}
    position = 0
    for name, array in parts:
        dtype = "F32" if array.dtype == np.float32 else "U8"
        header[name] = {
            "dtype": dtype,
            "shape": list(array.shape),
            "data_offsets": [position, position + array.nbytes],
        }
        position += array.nbytes
    header_json = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_json += b" " * (-len(header_json) % 8)  # data section starts 8-byte aligned, as safetensors does
    data = b"".join(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes() for _, a in parts)
    return struct.pack("<Q", len(header_json)) + header_json + data


def _flat_items(values: Values, start: int, stop: int) -> np.ndarray:
    return values.items(start, stop) if isinstance(values, StoredPart) else values.reshape(-1)[start:stop]


def _chunks(values: Values) -> Iterator[np.ndarray]:
    return values.chunks() if isinstance(values, StoredPart) else iter((values.reshape(-1),))


def _loaded(values: Values) -> np.ndarray:
    return values.load() if isinstance(values, StoredPart) else values


class _BytesSource:
    def __init__(self, data: bytes):
        self._data = memoryview(data).cast("B")

    def read(self, offset: int, length: int) -> memoryview:
        return self._data[offset : offset + length]


class _PathSource:
    """Reads a file that stays in place, opening it per read (no descriptor outlives a call)."""

    def __init__(self, path: Path):
        self._path = path
        self.size = path.stat().st_size

    def read(self, offset: int, length: int) -> bytes:
        with open(self._path, "rb") as stream:
            stream.seek(offset)
            data = stream.read(length)
        if len(data) != length:
            raise SafetensorsError(f"{self._path} changed while in use: wanted {length} bytes at {offset}")
        return data

    def sha256(self) -> str:
        with open(self._path, "rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()


def _deserialize(source: ByteSource, size: int, sha256: str | Callable[[], str]) -> Signature:
    header = _read_header(source, size)
    meta = header.metadata
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"not a patchhub signature: __metadata__ format is {meta.get('format')!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported signature format_version {meta.get('format_version')!r}")
    try:
        bits = int(meta["bits"])
        scheme = meta["scheme"]
        shapes = json.loads(meta["tensors"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"signature metadata is incomplete or malformed: {exc}") from None
    _check_bits_scheme(bits, scheme)
    if not isinstance(shapes, dict) or not all(
        isinstance(s, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in s)
        for s in shapes.values()
    ):
        raise ValueError("signature metadata 'tensors' must map names to shapes")
    stored = dict(header.tensors)
    tensors: dict[str, QuantizedTensor] = {}
    for name, shape in shapes.items():
        if PART_SEPARATOR in name:
            raise ValueError(f"covered tensor name {name!r} must not contain {PART_SEPARATOR!r}")
        read = _PartReader(source, header, stored, name)
        if bits == 32:
            tensors[name] = QuantizedTensor(tuple(shape), read.stored(name, "F32"), None, None)
        else:
            tensors[name] = QuantizedTensor(
                tuple(shape),
                read.stored(name + PART_SEPARATOR + "q", "U8"),
                read.stored(name + PART_SEPARATOR + "scale", "F32").load(),
                read.stored(name + PART_SEPARATOR + "offset", "F32").load() if bits != 1 else None,
            )
    if stored:
        raise ValueError(f"signature holds tensors its metadata does not describe: {sorted(stored)[:5]}")
    return Signature(tensors, bits, scheme, meta, sha256)


def _read_header(source: ByteSource, size: int) -> SafetensorsHeader:
    if size < HEADER_PREFIX_SIZE:
        raise SafetensorsError("file ends inside the safetensors header")
    length = header_length(bytes(source.read(0, HEADER_PREFIX_SIZE)))
    if HEADER_PREFIX_SIZE + length > size:
        raise SafetensorsError("file ends inside the safetensors header")
    header = parse_header(bytes(source.read(HEADER_PREFIX_SIZE, length)))
    if size != header.total_size:
        raise SafetensorsError(f"file is {size} bytes but its header describes {header.total_size}")
    return header


class _PartReader:
    """Finds named parts among the stored tensors, checking dtypes and marking them consumed."""

    def __init__(self, source: ByteSource, header: SafetensorsHeader, stored: dict[str, Any], covered: str):
        self._source = source
        self._header = header
        self._stored = stored
        self._covered = covered

    def stored(self, part: str, dtype: str) -> StoredPart:
        info = self._stored.pop(part, None)
        if info is None:
            raise ValueError(f"signature lacks {part!r} for covered tensor {self._covered!r}")
        if info.dtype != dtype:
            raise ValueError(f"signature part {part!r} must be {dtype}, found {info.dtype}")
        numpy_dtype = "<f4" if dtype == "F32" else "u1"
        return StoredPart(self._source, self._header.data_offset + info.start, numpy_dtype, tuple(info.shape))
