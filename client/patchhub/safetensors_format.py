"""Reading and validating safetensors headers, shared by the service and the SDK.

A safetensors file is ``u64 little-endian header length N`` + ``N bytes of JSON`` + a data section. The
JSON maps tensor names to ``{"dtype", "shape", "data_offsets": [start, end]}`` (offsets relative to the
data section) plus an optional ``__metadata__`` string-to-string map.

Everything here is defensive: uploads are untrusted. The header is parsed as a stream (``_header_stream``),
so its limits (header size, tensor count, nesting, name length) hold while it is read, every
offset must lie inside the file, tensors must tile the data section exactly (no overlaps, no holes, no
trailing bytes), dtypes must be known and sizes must match shapes. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from patchhub._header_stream import HeaderShapeError, HeaderStream

DTYPE_SIZES: Mapping[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}

HEADER_PREFIX_SIZE = 8
METADATA_KEY = "__metadata__"
_FORBIDDEN_NAME_CHARS = frozenset("\x00")


class SafetensorsError(ValueError):
    """The bytes are not a valid safetensors file (or break a configured limit)."""


@dataclass(frozen=True)
class HeaderLimits:
    max_header_bytes: int = 100 * 1024 * 1024  # JSON header size
    max_tensors: int = 100_000
    max_name_length: int = 1024
    max_metadata_bytes: int = 1024 * 1024  # summed size of __metadata__ keys and values


DEFAULT_LIMITS = HeaderLimits()


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int  # offset in the data section
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape), "data_offsets": [self.start, self.end]}


@dataclass(frozen=True)
class SafetensorsHeader:
    header_size: int  # N: the length of the JSON header in bytes
    tensors: dict[str, TensorInfo]  # in data-section order
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def data_offset(self) -> int:
        """Absolute file offset of the data section."""
        return HEADER_PREFIX_SIZE + self.header_size

    @property
    def data_size(self) -> int:
        return max((t.end for t in self.tensors.values()), default=0)

    @property
    def total_size(self) -> int:
        return self.data_offset + self.data_size

    @property
    def parameter_count(self) -> int:
        return sum(t.numel for t in self.tensors.values())

    def index(self) -> list[dict[str, Any]]:
        """The tensor index as JSON-ready rows (name, dtype, shape, numel)."""
        return [
            {"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "numel": t.numel} for t in self.tensors.values()
        ]


def encode_header(tensors: list[TensorInfo], metadata: Mapping[str, str] | None = None) -> bytes:
    """The header prefix and JSON of a file holding ``tensors`` (their offsets as given), padded with spaces
    so the data section starts 8-byte aligned, as safetensors writes it."""
    header: dict[str, Any] = {METADATA_KEY: dict(metadata)} if metadata else {}
    header.update({info.name: info.to_json() for info in tensors})
    header_json = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_json += b" " * (-len(header_json) % 8)
    return struct.pack("<Q", len(header_json)) + header_json


def header_length(prefix: bytes, limits: HeaderLimits = DEFAULT_LIMITS) -> int:
    """Decode and bound the 8-byte little-endian header length."""
    if len(prefix) < HEADER_PREFIX_SIZE:
        raise SafetensorsError("file is shorter than the 8-byte safetensors header length")
    (length,) = struct.unpack("<Q", prefix[:HEADER_PREFIX_SIZE])
    if length < 2:
        raise SafetensorsError("safetensors header length is too small to hold a JSON object")
    if length > limits.max_header_bytes:
        raise SafetensorsError(f"safetensors header claims {length} bytes, over the limit of {limits.max_header_bytes}")
    return int(length)


def parse_header(header_json: bytes, limits: HeaderLimits = DEFAULT_LIMITS) -> SafetensorsHeader:
    """Parse and validate the JSON header (without the 8-byte prefix)."""
    stream = HeaderStream(limits)
    _shape_checked(stream.feed, header_json)
    return _finish_header(stream, len(header_json), limits)


def _shape_checked(step: Any, *args: Any) -> None:
    try:
        step(*args)
    except HeaderShapeError as exc:
        raise SafetensorsError(f"safetensors header {exc}") from None


def _finish_header(stream: HeaderStream, header_size: int, limits: HeaderLimits) -> SafetensorsHeader:
    _shape_checked(stream.finish)
    metadata = stream.metadata or {}
    tensors = [_parse_tensor(name, entry, limits) for name, entry in stream.entries.items()]
    tensors.sort(key=lambda t: (t.start, t.end))
    position = 0
    for tensor in tensors:
        if tensor.start != position:
            kind = "overlaps the previous tensor" if tensor.start < position else "leaves a gap before it"
            raise SafetensorsError(f"tensor {tensor.name!r} at offset {tensor.start} {kind}")
        position = tensor.end
    return SafetensorsHeader(header_size=header_size, tensors={t.name: t for t in tensors}, metadata=metadata)


def _parse_tensor(name: str, entry: object, limits: HeaderLimits) -> TensorInfo:
    if not name or len(name) > limits.max_name_length or _FORBIDDEN_NAME_CHARS & set(name):
        raise SafetensorsError(f"invalid tensor name {name[:80]!r}")
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsError(f"tensor {name!r} must have exactly dtype, shape and data_offsets")
    dtype = entry["dtype"]
    if dtype not in DTYPE_SIZES:
        raise SafetensorsError(f"tensor {name!r} has unknown dtype {dtype!r}")
    shape = entry["shape"]
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise SafetensorsError(f"tensor {name!r} has an invalid shape {shape!r}")
    offsets = entry["data_offsets"]
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise SafetensorsError(f"tensor {name!r} has invalid data_offsets {offsets!r}")
    start, end = offsets
    expected = math.prod(shape) * DTYPE_SIZES[dtype]
    if end - start != expected:
        raise SafetensorsError(f"tensor {name!r} spans {end - start} bytes but {dtype}{shape} needs {expected}")
    return TensorInfo(name=name, dtype=dtype, shape=tuple(shape), start=start, end=end)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_header(stream: IO[bytes], limits: HeaderLimits = DEFAULT_LIMITS) -> SafetensorsHeader:
    """Read and validate the header of a seekable file positioned at its start; checks the file size."""
    length = header_length(stream.read(HEADER_PREFIX_SIZE), limits)
    header_json = stream.read(length)
    if len(header_json) != length:
        raise SafetensorsError("file ends inside the safetensors header")
    header = parse_header(header_json, limits)
    end = stream.seek(0, 2)
    if end != header.total_size:
        raise SafetensorsError(f"file is {end} bytes but its header describes {header.total_size}")
    stream.seek(header.data_offset)
    return header


def read_header_from_path(path: str, limits: HeaderLimits = DEFAULT_LIMITS) -> SafetensorsHeader:
    with open(path, "rb") as stream:
        return read_header(stream, limits)


class StreamValidator:
    """Validates a safetensors file fed chunk by chunk, holding at most the header in memory.

    ``feed`` raises as soon as the bytes seen so far cannot be a valid file (bad header, more bytes than
    the header describes); ``finish`` raises if the stream ended early and returns the parsed header.
    """

    def __init__(self, limits: HeaderLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._head = bytearray()  # the 8-byte length prefix while it arrives
        self._header_length: int | None = None
        self._header_stream = HeaderStream(limits)
        self._header_fed = 0
        self._header: SafetensorsHeader | None = None
        self._seen = 0

    @property
    def header(self) -> SafetensorsHeader | None:
        return self._header

    def feed(self, chunk: bytes | memoryview) -> None:
        self._seen += len(chunk)
        if self._header is None:
            self._collect_header(chunk)
        if self._header is not None and self._seen > self._header.total_size:
            raise SafetensorsError(f"file continues past the {self._header.total_size} bytes its header describes")

    def _collect_header(self, chunk: bytes | memoryview) -> None:
        """Header bytes go to the streamed parser as they arrive; only the 8-byte prefix is buffered."""
        view = memoryview(chunk)
        if self._header_length is None:
            take = HEADER_PREFIX_SIZE - len(self._head)
            self._head += view[:take]
            view = view[take:]
            if len(self._head) < HEADER_PREFIX_SIZE:
                return
            self._header_length = header_length(bytes(self._head), self._limits)
        piece = view[: self._header_length - self._header_fed]
        _shape_checked(self._header_stream.feed, piece)
        self._header_fed += len(piece)
        if self._header_fed == self._header_length:
            self._header = _finish_header(self._header_stream, self._header_length, self._limits)

    def finish(self) -> SafetensorsHeader:
        if self._header is None:
            if self._header_length is None:
                raise SafetensorsError("file is shorter than the 8-byte safetensors header length")
            raise SafetensorsError("file ends inside the safetensors header")
        if self._seen != self._header.total_size:
            raise SafetensorsError(
                f"file is truncated: {self._seen} bytes of the {self._header.total_size} its header describes"
            )
        return self._header
