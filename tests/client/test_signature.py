"""The signature file format: round trips, bit packing, error bounds and strict loading."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import load as safetensors_load

from patchhub.safetensors_format import SafetensorsError
from patchhub.signature import (
    Signature,
    pack_bits,
    quantize_signature,
    unpack_bits,
)

ALL_BITS = (32, 8, 4, 2, 1)
SCHEMES = ("per_tensor", "per_channel")


def _deltas(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "features.0.weight": (rng.normal(size=(16, 3, 3, 3)) * 0.01).astype(np.float32),
        "features.0.bias": (rng.normal(size=(16,)) * 0.01).astype(np.float32),
        "features.2.weight": (
            rng.normal(size=(32, 16, 3, 3)) * np.linspace(0.001, 0.1, 32)[:, None, None, None]
        ).astype(np.float32),
    }


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bits", ALL_BITS)
def test_round_trip_keeps_bytes_and_deltas_within_the_quantization_step(bits: int, scheme: str) -> None:
    deltas = _deltas()
    signature = quantize_signature(deltas, bits, scheme, {"arch": "vgg16", "corruption": "fog"})
    data = signature.to_bytes()
    loaded = Signature.from_bytes(data)

    assert loaded.to_bytes() == data
    assert loaded.tensor_names == list(deltas)
    assert loaded.metadata["arch"] == "vgg16" and loaded.metadata["bits"] == str(bits)
    for name, delta in deltas.items():
        restored = loaded.delta(name)
        assert restored.dtype == np.float32 and restored.shape == delta.shape
        rows = delta.shape[0] if scheme == "per_channel" and delta.ndim >= 2 else 1
        by_row, got = delta.reshape(rows, -1), restored.reshape(rows, -1)
        if bits == 32:
            np.testing.assert_array_equal(got, by_row)
        elif bits == 1:
            expected = np.where(by_row > 0, 1.0, -1.0) * np.abs(by_row).mean(axis=1, keepdims=True)
            np.testing.assert_allclose(got, expected, rtol=1e-6)
        else:
            half_step = (by_row.max(axis=1) - by_row.min(axis=1)) / ((1 << bits) - 1) / 2
            assert (np.abs(got - by_row) <= half_step[:, None] * (1 + 1e-4) + 1e-9).all()


def test_per_channel_scales_beat_per_tensor_on_channels_of_different_magnitude() -> None:
    delta = _deltas()["features.2.weight"]  # channel magnitudes span 100x
    errors = {
        scheme: np.abs(quantize_signature({"w": delta}, 4, scheme).delta("w") - delta).mean() for scheme in SCHEMES
    }
    assert errors["per_channel"] < errors["per_tensor"] / 2


@pytest.mark.parametrize("bits", (1, 2, 4, 8))
def test_bit_packing_is_exact_and_dense(bits: int) -> None:
    rng = np.random.default_rng(bits)
    codes = rng.integers(0, 1 << bits, size=1001, dtype=np.uint8)  # odd count: the last byte is partial
    packed = pack_bits(codes, bits)
    assert packed.dtype == np.uint8 and packed.size == -(-1001 * bits // 8)
    np.testing.assert_array_equal(unpack_bits(packed, bits, codes.size), codes)


def test_bit_packing_puts_the_first_element_in_the_lowest_bits() -> None:
    assert pack_bits(np.array([1, 2, 3, 0], dtype=np.uint8), 2).tolist() == [0b00_11_10_01]
    assert pack_bits(np.array([1, 0, 0, 0, 0, 0, 0, 1, 1], dtype=np.uint8), 1).tolist() == [0b1000_0001, 1]
    assert pack_bits(np.array([0xA, 0x5], dtype=np.uint8), 4).tolist() == [0x5A]


@pytest.mark.parametrize("bits", (8, 4, 2, 1))
def test_stored_size_shrinks_with_bits(bits: int) -> None:
    delta = np.random.default_rng(0).normal(size=(64, 64, 3, 3)).astype(np.float32)
    signature = quantize_signature({"w": delta}, bits, "per_tensor")
    ratio = delta.nbytes / signature.stored_nbytes()
    assert ratio == pytest.approx(32 / bits, rel=0.01)
    assert len(signature.to_bytes()) < delta.nbytes * bits / 32 + 1024  # header stays small


def test_file_is_plain_safetensors_readable_by_the_reference_library() -> None:
    signature = quantize_signature(_deltas(), 4, "per_channel")
    arrays = safetensors_load(signature.to_bytes())
    assert set(arrays) == {f"{n}::{p}" for n in _deltas() for p in ("q", "scale", "offset")}
    assert arrays["features.2.weight::scale"].shape == (32,)
    assert arrays["features.0.bias::scale"].shape == (1,)  # 1-d tensors keep one scale


def test_constant_delta_survives_quantization_exactly() -> None:
    delta = np.full((4, 5), 0.25, dtype=np.float32)
    for bits in (8, 2):
        np.testing.assert_array_equal(quantize_signature({"w": delta}, bits).delta("w"), delta)


def _rewrite(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    header, body = edit(header, body)
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def _valid() -> bytes:
    return quantize_signature(_deltas(), 4, "per_tensor", {"corruption": "fog"}).to_bytes()


def test_loading_rejects_truncated_and_non_signature_files() -> None:
    data = _valid()
    with pytest.raises(SafetensorsError):
        Signature.from_bytes(data[:-1])
    with pytest.raises(SafetensorsError):
        Signature.from_bytes(b"\x00" * 4)

    def not_a_signature(header, body):  # type: ignore[no-untyped-def]
        header["__metadata__"]["format"] = "something.else"
        return header, body

    with pytest.raises(ValueError, match="not a patchhub signature"):
        Signature.from_bytes(_rewrite(data, not_a_signature))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h: h["__metadata__"].update(bits="3"), "bits must be one of"),
        (lambda h: h["__metadata__"].update(scheme="per_row"), "scheme must be one of"),
        (lambda h: h["__metadata__"].update(format_version="99"), "format_version"),
        (lambda h: h["__metadata__"].update(tensors="[1, 2]"), "map names to shapes"),
        (
            lambda h: h["__metadata__"].update(tensors=json.dumps({"features.0.bias": [16]})),
            "does not describe",
        ),
        (
            lambda h: h.update({"features.0.bias::scale": {**h["features.0.bias::scale"], "dtype": "I32"}}),
            "F32",
        ),
    ],
)
def test_loading_rejects_inconsistent_metadata(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    def apply(header, body):  # type: ignore[no-untyped-def]
        edit(header)
        return header, body

    with pytest.raises(ValueError, match=message):
        Signature.from_bytes(_rewrite(_valid(), apply))


def test_loading_rejects_codes_that_do_not_match_the_declared_shape() -> None:
    def grow_shape(header, body):  # type: ignore[no-untyped-def]
        shapes = json.loads(header["__metadata__"]["tensors"])
        shapes["features.0.bias"] = [40]
        header["__metadata__"]["tensors"] = json.dumps(shapes)
        return header, body

    with pytest.raises(ValueError, match=r"features\.0\.bias"):
        Signature.from_bytes(_rewrite(_valid(), grow_shape))


def test_loading_rejects_non_finite_scales() -> None:
    signature = quantize_signature({"w": np.ones((2, 2), np.float32)}, 8)
    data = bytearray(signature.to_bytes())
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    start = 8 + length + header["w::scale"]["data_offsets"][0]
    data[start : start + 4] = np.array([np.nan], dtype="<f4").tobytes()
    with pytest.raises(ValueError, match="NaN"):
        Signature.from_bytes(bytes(data))


def test_quantizing_rejects_non_finite_deltas_and_unknown_widths() -> None:
    with pytest.raises(ValueError, match="NaN"):
        quantize_signature({"w": np.array([1.0, np.inf], np.float32)}, 8)
    with pytest.raises(ValueError, match="bits"):
        quantize_signature({"w": np.ones(3, np.float32)}, 3)


class CountingSource:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read_bytes = 0

    def read(self, offset: int, length: int) -> bytes:
        self.read_bytes += length
        return self.data[offset : offset + length]


def test_a_loaded_signature_keeps_its_codes_in_the_file_and_reads_only_the_slice_asked_for() -> None:
    rng = np.random.default_rng(5)
    deltas = {"w": rng.standard_normal((256, 1024)).astype(np.float32)}
    fresh = quantize_signature(deltas, 8, "per_channel")
    data = fresh.to_bytes()
    source = CountingSource(data)
    loaded = Signature.open(source, len(data), "ab" * 32)
    assert source.read_bytes < 8 << 10  # header, scales and offsets; not the 256 KiB of codes
    assert loaded.sha256() == "ab" * 32  # the artifact's digest, not hashed again
    source.read_bytes = 0
    step = loaded.slice_alignment("w") * 4
    np.testing.assert_array_equal(loaded.delta_slice("w", step, 2 * step), fresh.delta_slice("w", step, 2 * step))
    assert source.read_bytes == step  # one byte per 8-bit code of the slice
    assert loaded.to_bytes() == data
