"""Decoding and encoding safetensors tensor bytes as numpy float arrays (numpy only, no torch).

safetensors stores little-endian values. numpy has no bfloat16, so BF16 is handled through its bit
pattern: a BF16 value is the upper 16 bits of the float32 with the same sign, exponent and top mantissa
bits. Widening is exact; narrowing rounds to nearest, ties to even, as torch does.
"""

from __future__ import annotations

import numpy as np

# Floating dtypes whose values composition can change; everything else is copied byte for byte.
FLOAT_DTYPES: dict[str, np.dtype] = {
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bit patterns, see bf16_bits_to_float32
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}

# The largest finite value of each float dtype: a composed value past it would be stored as infinity.
LARGEST_FINITE: dict[str, float] = {
    "F16": 65504.0,
    "BF16": 3.3895313892515355e38,
    "F32": float(np.finfo(np.float32).max),
    "F64": float(np.finfo(np.float64).max),
}


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """uint16 BF16 bit patterns -> float32 values (exact)."""
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def float32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 values -> uint16 BF16 bit patterns, rounding to nearest with ties to even.

    NaNs stay NaNs (quiet, sign kept); infinities and overflow to infinity behave as IEEE rounding does.
    """
    as_bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    # Adding 0x7FFF plus the lowest kept bit rounds half-way cases to the even neighbour.
    lowest_kept = (as_bits >> np.uint32(16)) & np.uint32(1)
    rounded = (as_bits + np.uint32(0x7FFF) + lowest_kept) >> np.uint32(16)
    is_nan = np.isnan(values)
    if is_nan.any():
        quiet_nan = (as_bits >> np.uint32(16)) | np.uint32(0x0040)
        rounded = np.where(is_nan, quiet_nan, rounded)
    return rounded.astype(np.uint16)


def decode_float(raw: bytes | bytearray | memoryview, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Bytes of one tensor -> float32 array (float64 for F64, so nothing is lost)."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype {dtype} is not a floating dtype this code can compute with")
    array = np.frombuffer(raw, dtype=FLOAT_DTYPES[dtype]).reshape(shape)
    if dtype == "BF16":
        return bf16_bits_to_float32(array)
    if dtype == "F64":
        return array.astype(np.float64)
    return array.astype(np.float32)


def encode_float(values: np.ndarray, dtype: str) -> bytes:
    """Float array -> the little-endian bytes of ``dtype`` (rounding to nearest even)."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype {dtype} is not a floating dtype this code can compute with")
    if dtype == "BF16":
        return float32_to_bf16_bits(values.astype(np.float32, copy=False)).tobytes()
    return np.ascontiguousarray(values, dtype=FLOAT_DTYPES[dtype]).tobytes()
