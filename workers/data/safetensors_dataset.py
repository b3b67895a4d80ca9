"""Datasets as safetensors files: ``images`` uint8 [N, C, H, W] and ``labels`` int64 [N].

The optional ``__metadata__`` carries ``num_classes`` (JSON integer) and ``class_names`` (JSON list
of strings). Everything is checked against the header before any tensor is materialised; nothing is
ever unpickled.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from workers.data.dataset import ImageDataset

_EXPECTED = {"images": ("U8", 4), "labels": ("I64", 1)}  # name -> (safetensors dtype, ndim)
_MAX_HEADER_BYTES = 16 * 1024 * 1024


def save_dataset(dataset: ImageDataset, path: str | os.PathLike[str]) -> None:
    with open(path, "wb") as f:
        f.write(dataset_to_bytes(dataset))


def dataset_to_bytes(dataset: ImageDataset) -> bytes:
    tensors = {"images": dataset.images.contiguous(), "labels": dataset.labels.contiguous()}
    return save_safetensors_bytes(tensors, metadata=_metadata(dataset))


def load_dataset(path: str | os.PathLike[str]) -> ImageDataset:
    """Read and validate a dataset file; raises ``ValueError`` saying what is wrong."""
    try:
        with safe_open(os.fspath(path), framework="pt") as f:
            header = {name: _slice_info(f.get_slice(name)) for name in f.keys()}  # noqa: SIM118
            _check_header(header)
            metadata = f.metadata() or {}
            images, labels = f.get_tensor("images"), f.get_tensor("labels")
    except ValueError:
        raise
    except Exception as exc:  # the Rust parser reports corrupt files with its own exception types
        raise ValueError(f"not a valid safetensors file: {exc}") from exc
    return _build(images, labels, metadata)


def dataset_from_bytes(data: bytes) -> ImageDataset:
    """Like ``load_dataset`` for bytes already in memory (e.g. an artifact fetched from a blob store)."""
    header, metadata = _parse_header(data)
    _check_header(header)
    try:
        tensors = load_safetensors_bytes(data)
    except Exception as exc:
        raise ValueError(f"not a valid safetensors file: {exc}") from exc
    return _build(tensors["images"], tensors["labels"], metadata)


def _metadata(dataset: ImageDataset) -> dict[str, str]:
    metadata = {"num_classes": json.dumps(dataset.num_classes)}
    if dataset.class_names is not None:
        metadata["class_names"] = json.dumps(dataset.class_names)
    return metadata


def _slice_info(tensor_slice: Any) -> tuple[str, list[int]]:
    dtype = str(tensor_slice.get_dtype())
    return dtype, list(tensor_slice.get_shape())


def _parse_header(data: bytes) -> tuple[dict[str, tuple[str, list[int]]], dict[str, str]]:
    if len(data) < 8:
        raise ValueError("not a valid safetensors file: shorter than its 8-byte header length")
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(_MAX_HEADER_BYTES, len(data) - 8):
        raise ValueError(f"not a valid safetensors file: header length {length} is out of bounds")
    try:
        raw = json.loads(data[8 : 8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a valid safetensors file: header is not JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError("not a valid safetensors file: header is not a JSON object")
    metadata = raw.pop("__metadata__", None) or {}
    header: dict[str, tuple[str, list[int]]] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list):
            raise ValueError(f"not a valid safetensors file: bad header entry for {name!r}")
        header[name] = (str(entry.get("dtype")), entry["shape"])
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ must map names to strings")
    return header, metadata


def _check_header(header: dict[str, tuple[str, list[int]]]) -> None:
    if set(header) != set(_EXPECTED):
        raise ValueError(f"a dataset holds exactly the tensors 'images' and 'labels', found {sorted(header)}")
    for name, (dtype, ndim) in _EXPECTED.items():
        actual_dtype, shape = header[name]
        if actual_dtype.upper() not in (dtype, _TORCH_NAMES[dtype]):
            raise ValueError(f"{name!r} must have dtype {dtype}, found {actual_dtype}")
        if len(shape) != ndim:
            raise ValueError(f"{name!r} must have {ndim} dimensions, found shape {shape}")
    if header["images"][1][0] != header["labels"][1][0]:
        raise ValueError(f"{header['images'][1][0]} images but {header['labels'][1][0]} labels")


# safe_open reports dtypes by their safetensors names on some versions and torch names on others.
_TORCH_NAMES = {"U8": "TORCH.UINT8", "I64": "TORCH.INT64"}


def _build(images: torch.Tensor, labels: torch.Tensor, metadata: dict[str, str]) -> ImageDataset:
    class_names = _json_field(metadata, "class_names")
    num_classes = _json_field(metadata, "num_classes")
    if num_classes is None:
        if class_names is not None:
            num_classes = len(class_names)
        elif labels.numel():
            num_classes = int(labels.max()) + 1
        else:
            raise ValueError("an empty dataset must state num_classes in its metadata")
    return ImageDataset(images, labels, num_classes=num_classes, class_names=class_names)


def _json_field(metadata: dict[str, str], key: str) -> Any:
    if key not in metadata:
        return None
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise ValueError(f"metadata field {key!r} is not valid JSON: {metadata[key]!r}") from exc
