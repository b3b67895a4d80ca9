"""Streaming composition: identity without patches, exact arithmetic, canonical order, errors, memory."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from patchhub import compose
from patchhub.compose import (
    CompositionError,
    FileRangeReader,
    check_compatible,
    compose_file,
    composed_size,
    iter_composed,
    recipe_hash,
)
from patchhub.numeric import bf16_bits_to_float32, float32_to_bf16_bits
from patchhub.safetensors_format import read_header
from patchhub.signature import Signature, quantize_signature, unpack_bits

SHAPES = {
    "stem.weight": (8, 3, 3, 3),
    "stem.bias": (8,),
    "block.weight": (16, 8, 3, 3),
    "head.weight": (10, 16),
}


def _encode(values: np.ndarray, dtype: str) -> bytes:
    if dtype == "BF16":
        return float32_to_bf16_bits(values.astype(np.float32)).tobytes()
    return values.astype({"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8"}[dtype]).tobytes()


def _safetensors(tensors: dict[str, tuple[str, np.ndarray]]) -> bytes:
    """A safetensors file from name -> (dtype, values), with metadata, built without any library."""
    header: dict[str, object] = {"__metadata__": {"arch": "toy"}}
    body = b""
    for name, (dtype, values) in tensors.items():
        raw = _encode(values, dtype)
        header[name] = {
            "dtype": dtype,
            "shape": list(values.shape),
            "data_offsets": [len(body), len(body) + len(raw)],
        }
        body += raw
    raw_header = json.dumps(header).encode()
    return struct.pack("<Q", len(raw_header)) + raw_header + body


def _base(dtype: str, seed: int = 0) -> dict[str, tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    tensors = {name: (dtype, rng.normal(size=shape).astype(np.float32)) for name, shape in SHAPES.items()}
    tensors["step"] = ("I64", np.array([7], dtype=np.int64))
    return tensors


def _signature(names: list[str], seed: int, bits: int = 8) -> Signature:
    rng = np.random.default_rng(seed)
    deltas = {n: (rng.normal(size=SHAPES[n]) * 0.05).astype(np.float32) for n in names}
    return quantize_signature(deltas, bits, "per_tensor", {"corruption": f"c{seed}"})


def _compose(base_bytes: bytes, patches: list[tuple[Signature, float]]) -> bytes:
    stream = io.BytesIO(base_bytes)
    header = read_header(stream)
    return b"".join(iter_composed(header, FileRangeReader(stream), patches, copy_chunk=100))


def _decoded(file_bytes: bytes, name: str) -> np.ndarray:
    header = read_header(io.BytesIO(file_bytes))
    info = header.tensors[name]
    raw = file_bytes[header.data_offset + info.start : header.data_offset + info.end]
    if info.dtype == "BF16":
        return bf16_bits_to_float32(np.frombuffer(raw, "<u2")).reshape(info.shape)
    return np.frombuffer(raw, {"F32": "<f4", "F16": "<f2"}[info.dtype]).astype(np.float32).reshape(info.shape)


@pytest.mark.parametrize("dtype", ["F32", "F16", "BF16"])
def test_no_patches_or_zero_scales_give_the_base_bytes(dtype: str) -> None:
    base = _safetensors(_base(dtype))
    signature = _signature(["stem.weight", "stem.bias"], seed=1)
    for patches in ([], [(signature, 0.0)], [(signature, 0.0), (signature, -0.0)]):
        out = _compose(base, patches)
        assert hashlib.sha256(out).hexdigest() == hashlib.sha256(base).hexdigest()
    assert composed_size(read_header(io.BytesIO(base))) == len(base)


@pytest.mark.parametrize("dtype", ["F32", "F16", "BF16"])
def test_composition_matches_a_torch_reference(dtype: str) -> None:
    import torch

    tensors = _base(dtype)
    base = _safetensors(tensors)
    first = _signature(["stem.weight", "stem.bias", "block.weight"], seed=1)
    second = _signature(["stem.weight"], seed=2, bits=4)
    patches = [(first, 0.75), (second, -1.5)]
    out = _compose(base, patches)

    torch_dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    for name in SHAPES:
        weight = torch.from_numpy(tensors[name][1]).to(torch_dtype).float()
        ordered = sorted(patches, key=lambda p: p[0].sha256())
        total = torch.zeros_like(weight)
        for signature, scale in ordered:
            if signature.covers(name):
                total += scale * torch.from_numpy(signature.delta(name))
        expected = (weight + total).to(torch_dtype)
        got = torch.from_numpy(_decoded(out, name)).to(torch_dtype)
        assert torch.equal(got, expected), name
    # The header and the untouched integer tensor are the base's bytes.
    header = read_header(io.BytesIO(base))
    assert out[: header.data_offset] == base[: header.data_offset]
    step = header.tensors["step"]
    assert (
        out[header.data_offset + step.start : header.data_offset + step.end]
        == base[header.data_offset + step.start : header.data_offset + step.end]
    )


def test_patch_order_does_not_change_the_bytes() -> None:
    base = _safetensors(_base("F32"))
    a, b, c = (_signature(["stem.weight", "block.weight"], seed=s) for s in (1, 2, 3))
    one = _compose(base, [(a, 0.3), (b, 1.1), (c, -0.7)])
    other = _compose(base, [(c, -0.7), (a, 0.3), (b, 1.1)])
    assert one == other


def test_removing_a_patch_is_composing_without_it() -> None:
    tensors = _base("F32")
    base = _safetensors(tensors)
    stem_only = _signature(["stem.weight"], seed=1)
    head_only = _signature(["head.weight"], seed=2)
    both = _compose(base, [(stem_only, 1.0), (head_only, 1.0)])
    without_head = _compose(base, [(stem_only, 1.0)])
    assert both != without_head
    np.testing.assert_array_equal(_decoded(without_head, "head.weight"), tensors["head.weight"][1])
    np.testing.assert_array_equal(_decoded(without_head, "stem.weight"), _decoded(both, "stem.weight"))


@pytest.mark.parametrize("scale", [-1.0, -0.25, 0.5, 1.5])
def test_negative_and_fractional_scales_move_weights_along_the_delta(scale: float) -> None:
    tensors = _base("F32")
    signature = _signature(["block.weight"], seed=4, bits=32)
    out = _compose(_safetensors(tensors), [(signature, scale)])
    expected = tensors["block.weight"][1] + np.float32(scale) * signature.delta("block.weight")
    np.testing.assert_array_equal(_decoded(out, "block.weight"), expected)


def test_mismatched_tensors_are_named() -> None:
    header = read_header(io.BytesIO(_safetensors(_base("F32"))))
    wrong = quantize_signature(
        {
            "stem.weight": np.zeros((8, 3, 5, 5), np.float32),  # other kernel size
            "classifier.weight": np.zeros((10, 16), np.float32),  # another architecture's name
            "step": np.zeros((1,), np.float32),  # an integer tensor cannot be patched
            "stem.bias": np.zeros((8,), np.float32),  # fine
        },
        8,
    )
    with pytest.raises(CompositionError) as excinfo:
        check_compatible(header, [wrong])
    assert excinfo.value.tensors == ["classifier.weight", "stem.weight", "step"]
    assert "[8, 3, 3, 3]" in str(excinfo.value) and "[8, 3, 5, 5]" in str(excinfo.value)


def test_compose_file_writes_atomically_the_streamed_bytes(tmp_path: Path) -> None:
    base_path = tmp_path / "base.safetensors"
    base_path.write_bytes(_safetensors(_base("BF16")))
    signature = _signature(["stem.weight"], seed=1)
    out_path = tmp_path / "composed.safetensors"
    compose_file(base_path, [(signature, 1.0)], out_path)
    with open(base_path, "rb") as stream:
        streamed = b"".join(iter_composed(read_header(stream), FileRangeReader(stream), [(signature, 1.0)]))
    assert out_path.read_bytes() == streamed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.safetensors", "composed.safetensors"]

    bad = quantize_signature({"stem.weight": np.zeros((1, 1), np.float32)}, 8)
    with pytest.raises(CompositionError):
        compose_file(base_path, [(bad, 1.0)], tmp_path / "never.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.safetensors", "composed.safetensors"]


def test_recipe_hash_is_canonical() -> None:
    base = "ab" * 32
    key = recipe_hash(base, [("11" * 32, 1), ("22" * 32, 0.5)])
    assert key == recipe_hash(base, [("22" * 32, 0.5), ("11" * 32, 1.0)])
    assert key != recipe_hash(base, [("22" * 32, 0.5), ("11" * 32, 1.0000001)])
    assert key != recipe_hash("cd" * 32, [("22" * 32, 0.5), ("11" * 32, 1.0)])
    assert recipe_hash(base, []) != recipe_hash(base, [("11" * 32, 0.0)])


def test_bf16_rounding_matches_torch_including_ties_and_specials() -> None:
    import torch

    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(size=10_000).astype(np.float32) * 1e3,
            # Exact ties between two bf16 neighbours (low 16 bits = 0x8000), odd and even kept bits.
            (np.array([0x3F808000, 0x3F818000, 0xBF808000, 0x7F7FFFFF], dtype=np.uint32)).view(np.float32),
            np.array([np.inf, -np.inf, 0.0, -0.0, 1e-40], dtype=np.float32),
        ]
    )
    expected = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(float32_to_bf16_bits(values), expected)
    nan_bits = float32_to_bf16_bits(np.array([np.nan], np.float32))
    assert np.isnan(bf16_bits_to_float32(nan_bits)).all()


def test_memory_is_bounded_by_the_largest_tensor_not_the_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    layer_shape = (64, 256)  # 64 KiB per float32 tensor
    tensors = {f"layer{i}.weight": ("F32", rng.normal(size=layer_shape).astype(np.float32)) for i in range(48)}
    base_path = tmp_path / "base.safetensors"
    base_path.write_bytes(_safetensors(tensors))
    model_bytes = base_path.stat().st_size  # ~3 MiB
    deltas = {f"layer{i}.weight": rng.normal(size=layer_shape).astype(np.float32) for i in (0, 1, 2)}
    patches = [(quantize_signature(deltas, 8), 1.0), (quantize_signature(deltas, 4), 0.5)]
    for signature, _ in patches:
        signature.sha256()  # serialize before measuring: only the composition itself is measured

    tracemalloc.start()
    try:
        with open(base_path, "rb") as stream:
            header = read_header(stream)
            digest = hashlib.sha256()
            for piece in iter_composed(header, FileRangeReader(stream), patches, copy_chunk=64 << 10):
                digest.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    largest = 64 * 256 * 4
    assert peak < 8 * largest < model_bytes / 5


@pytest.mark.parametrize(
    ("bits", "scheme"), [(8, "per_tensor"), (4, "per_channel"), (2, "per_tensor"), (1, "per_channel")]
)
def test_delta_slices_tile_the_whole_delta(bits: int, scheme: str) -> None:
    rng = np.random.default_rng(bits)
    signature = quantize_signature({"w": rng.normal(size=(12, 5, 3)).astype(np.float32)}, bits, scheme)
    whole = signature.delta("w").reshape(-1)
    step = signature.slice_alignment("w")
    pieces = [signature.delta_slice("w", start, min(start + step, whole.size)) for start in range(0, whole.size, step)]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    with pytest.raises(ValueError, match="not aligned"):
        signature.delta_slice("w", 1, step)


@pytest.mark.parametrize(
    ("bits", "scheme"),
    [(32, "per_tensor"), (8, "per_channel"), (4, "per_tensor"), (2, "per_channel"), (1, "per_tensor")],
)
def test_dequantized_deltas_are_the_stored_formula_bit_for_bit(bits: int, scheme: str) -> None:
    """The engine dequantizes into reused buffers; the values must be those of the formula on the stored
    file's parts computed in fresh arrays (a different rounding would change composed bytes and sha256s)."""
    from safetensors.numpy import load

    rng = np.random.default_rng(bits)
    signature = quantize_signature({"w": rng.normal(size=(12, 5, 3)).astype(np.float32)}, bits, scheme)
    parts = load(signature.to_bytes())
    if bits == 32:
        expected = parts["w"].astype(np.float32)
    else:
        codes = unpack_bits(parts["w::q"], bits, 12 * 5 * 3).astype(np.float32)
        rows = 12 if scheme == "per_channel" else 1
        scale = parts["w::scale"].reshape(-1, 1)
        by_row = codes.reshape(rows, -1)
        if bits == 1:
            expected = (by_row * np.float32(2) - np.float32(1)) * scale
        else:
            expected = by_row * scale + parts["w::offset"].reshape(-1, 1)
    got = signature.delta("w").reshape(-1)
    np.testing.assert_array_equal(got.view(np.uint32), expected.reshape(-1).view(np.uint32))


def test_float64_tensors_are_composed_in_float64() -> None:
    tensors = {name: ("F64", values.astype(np.float64)) for name, (_, values) in _base("F32").items() if name in SHAPES}
    base = _safetensors(tensors)
    first, second = _signature(["stem.weight", "head.weight"], seed=3), _signature(["stem.weight"], seed=4, bits=2)
    patches = [(first, 0.3), (second, -1.25)]
    out = _compose(base, patches)
    header = read_header(io.BytesIO(out))
    for name, (_, weight) in tensors.items():
        total = np.zeros(weight.size, dtype=np.float64)
        for signature, scale in sorted(patches, key=lambda p: p[0].sha256()):
            if signature.covers(name):
                total = total + np.float64(scale) * signature.delta(name).reshape(-1).astype(np.float64)
        info = header.tensors[name]
        got = np.frombuffer(out[header.data_offset + info.start : header.data_offset + info.end], "<f8")
        np.testing.assert_array_equal(got.view(np.uint64), (weight.reshape(-1) + total).view(np.uint64))


def test_compose_file_in_many_slices_writes_the_streamed_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Covered tensors in many slices written at their offsets while untouched runs are copied beside them in
    many pieces: the same bytes as the stream."""
    monkeypatch.setattr(compose, "WRITEBACK_EVERY", 4096)  # the copier's piece (and flush) size
    rng = np.random.default_rng(7)
    tensors = {f"t{i}": ("F32", rng.normal(size=(64, 48 + i)).astype(np.float32)) for i in range(6)}
    base_path = tmp_path / "base.safetensors"
    base_path.write_bytes(_safetensors(tensors))
    deltas = {name: rng.normal(size=tensors[name][1].shape).astype(np.float32) for name in ("t1", "t2", "t4")}
    patches = [(quantize_signature(deltas, 8), 0.5), (quantize_signature({"t4": deltas["t4"]}, 4), -1.0)]
    compose_file(base_path, patches, tmp_path / "sliced.safetensors", chunk_bytes=1024)
    with open(base_path, "rb") as stream:
        streamed = b"".join(iter_composed(read_header(stream), FileRangeReader(stream), patches))
    assert (tmp_path / "sliced.safetensors").read_bytes() == streamed


def test_memory_is_bounded_by_the_chunk_even_for_one_huge_covered_tensor(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    shape = (512, 1024)  # one 2 MiB float32 tensor, covered by two signatures
    base_path = tmp_path / "base.safetensors"
    base_path.write_bytes(_safetensors({"w": ("F32", rng.normal(size=shape).astype(np.float32))}))
    delta = rng.normal(size=shape).astype(np.float32)
    patches = [(quantize_signature({"w": delta}, 8), 1.0), (quantize_signature({"w": delta}, 4, "per_channel"), -0.5)]
    compose_file(base_path, patches, tmp_path / "whole.safetensors")
    expected = hashlib.sha256((tmp_path / "whole.safetensors").read_bytes()).hexdigest()
    for signature, _ in patches:
        signature.sha256()
    tracemalloc.start()
    try:
        with open(base_path, "rb") as stream:
            header = read_header(stream)
            digest = hashlib.sha256()
            for piece in iter_composed(header, FileRangeReader(stream), patches, copy_chunk=64 << 10):
                digest.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == expected  # slicing changes no byte
    assert peak < (2 << 20) / 2  # well under the one tensor's size
