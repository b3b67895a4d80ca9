"""Decoding and encoding safetensors tensor bytes as numpy float arrays (numpy only, no torch).

safetensors stores little-endian values. numpy has no bfloat16, so BF16 is handled through its bit
pattern: a BF16 value is the upper 16 bits of the float32 with the same sign, exponent and top mantissa
bits. Widening is exact; narrowing rounds to nearest, ties to even, as torch does.
"""

from __future__ import annotations

import math

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
    return decode_float_into(raw, dtype, np.empty(math.prod(shape), dtype=compute_dtype(dtype))).reshape(shape)


def compute_dtype(dtype: str) -> np.dtype:
    """The dtype ``decode_float`` gives for a tensor of ``dtype``: float64 for F64, float32 for the rest."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype {dtype} is not a floating dtype this code can compute with")
    return np.dtype(np.float64 if dtype == "F64" else np.float32)


def decode_float_into(raw: bytes | bytearray | memoryview, dtype: str, out: np.ndarray) -> np.ndarray:
    """``decode_float`` of flat tensor bytes into ``out`` (contiguous, ``compute_dtype(dtype)``, one element per
    value), which it returns: a buffer reused slice after slice instead of a fresh array each time."""
    expected = compute_dtype(dtype)
    stored = np.frombuffer(raw, dtype=FLOAT_DTYPES[dtype])
    if out.shape != stored.shape or out.dtype != expected or not out.flags.c_contiguous:
        raise ValueError(f"out must be a contiguous {expected} array of {stored.size} elements")
    if dtype == "BF16":  # the bit pattern, widened into the upper half of a float32's
        np.left_shift(stored, np.uint32(16), out=out.view(np.uint32))
    else:
        np.copyto(out, stored)
    return out


def encode_float(values: np.ndarray, dtype: str) -> bytes:
    """Float array -> the little-endian bytes of ``dtype`` (rounding to nearest even)."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype {dtype} is not a floating dtype this code can compute with")
    if dtype == "BF16":
        return float32_to_bf16_bits(values.astype(np.float32, copy=False)).tobytes()
    return np.ascontiguousarray(values, dtype=FLOAT_DTYPES[dtype]).tobytes()
