"""The shared safetensors validator accepts what the safetensors library writes and rejects hostile headers."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save

from patchhub.safetensors_format import (
    HeaderLimits,
    SafetensorsError,
    StreamValidator,
    read_header,
)


def _file(header: dict[str, object], data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _stream_validate(data: bytes, chunk: int, limits: HeaderLimits = HeaderLimits()) -> object:
    validator = StreamValidator(limits)
    for i in range(0, len(data), chunk):
        validator.feed(data[i : i + chunk])
    return validator.finish()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_library_files_validate_in_any_chunking(chunk: int) -> None:
    tensors = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.ones(5, dtype=np.float16),
        "c": np.zeros((0, 4), dtype=np.int64),
    }
    data = save(tensors, metadata={"arch": "mlp"})
    header = _stream_validate(data, chunk)
    assert header == read_header(io.BytesIO(data))
    assert {t.name: t.shape for t in read_header(io.BytesIO(data)).tensors.values()} == {
        "a": (2, 3),
        "b": (5,),
        "c": (0, 4),
    }
    parsed = read_header(io.BytesIO(data))
    assert parsed.metadata == {"arch": "mlp"}
    assert parsed.parameter_count == 11
    assert parsed.total_size == len(data)


def _entry(dtype: str, shape: list[int], start: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}


HOSTILE = {
    "huge header length": (struct.pack("<Q", 10 * 1024**3) + b"{}", "over the limit"),
    "header is a list": (_file([], b""), "JSON object"),  # type: ignore[arg-type]
    "not json": (struct.pack("<Q", 4) + b"\x80\x04K.", "UTF-8 JSON"),
    "overlap": (_file({"a": _entry("U8", [4], 0, 4), "b": _entry("U8", [4], 2, 6)}, b"\0" * 6), "overlaps"),
    "gap": (_file({"a": _entry("U8", [2], 0, 2), "b": _entry("U8", [2], 4, 6)}, b"\0" * 6), "gap"),
    "past end": (_file({"a": _entry("U8", [8], 0, 8)}, b"\0" * 4), "truncated"),
    "bad dtype": (_file({"a": _entry("F128", [1], 0, 16)}, b"\0" * 16), "unknown dtype"),
    "negative shape": (_file({"a": _entry("U8", [-1], 0, 0)}, b""), "invalid shape"),
    "bool offsets": (_file({"a": {"dtype": "U8", "shape": [1], "data_offsets": [False, True]}}, b"\0"), "data_offsets"),
    "extra key": (_file({"a": {**_entry("U8", [1], 0, 1), "x": 1}}, b"\0"), "exactly"),
    "size mismatch": (_file({"a": _entry("F32", [2], 0, 4)}, b"\0" * 4), "needs 8"),
    "nul in name": (_file({"a\x00b": _entry("U8", [1], 0, 1)}, b"\0"), "invalid tensor name"),
    "metadata not strings": (_file({"__metadata__": {"a": 1}}, b""), "__metadata__"),
    "trailing bytes": (_file({"a": _entry("U8", [1], 0, 1)}, b"\0\0"), "continues past"),
    "too short": (b"\x01\x02", "shorter than"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_rejected_with_a_reason(case: str) -> None:
    data, reason = HOSTILE[case]
    with pytest.raises(SafetensorsError, match=reason):
        _stream_validate(data, 3)


def test_tensor_count_and_header_size_limits() -> None:
    tensors = {f"t{i}": np.zeros(1, dtype=np.uint8) for i in range(20)}
    data = save(tensors)
    with pytest.raises(SafetensorsError, match="limit of 10"):
        _stream_validate(data, 1024, HeaderLimits(max_tensors=10))
    with pytest.raises(SafetensorsError, match="over the limit of 64"):
        _stream_validate(data, 1024, HeaderLimits(max_header_bytes=64))


def test_validator_stops_reading_past_the_declared_end_early() -> None:
    data = save({"a": np.zeros(4, dtype=np.uint8)})
    validator = StreamValidator()
    validator.feed(data)
    with pytest.raises(SafetensorsError, match="continues past"):
        validator.feed(b"more bytes that would otherwise be stored")


def test_limits_hold_while_the_header_streams_in() -> None:
    entries = b",".join(b'"t%d":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}' % i for i in range(50_000))
    header = b"{" + entries + b"}"
    data = struct.pack("<Q", len(header)) + header
    validator = StreamValidator(HeaderLimits(max_tensors=10))
    fed = 0
    with pytest.raises(SafetensorsError, match="limit of 10"):
        for start in range(0, len(data), 1024):
            fed = start
            validator.feed(data[start : start + 1024])
    assert fed < 4096  # refused at the 11th tensor, not after reading the whole header


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b'{"a":{"dtype":' + b"[" * 5000 + b"]" * 5000 + b"}}", "nests deeper"),
        (b'{"a":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}}', "nests deeper"),
        (b'{"__metadata__":{"k":{"x":"y"}}}', "__metadata__"),
        (
            b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
            "twice",
        ),
        (b'{"a":{"dtype":"U8","shape":' + b"[" + b"1," * 100 + b"1]" + b',"data_offsets":[0,1]}}', "more than 64"),
        (b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} {}', "UTF-8 JSON"),
    ],
)
def test_headers_shaped_unlike_safetensors_are_refused(header: bytes, reason: str) -> None:
    with pytest.raises(SafetensorsError, match=reason):
        _stream_validate(struct.pack("<Q", len(header)) + header + b"\0\0", 7)
