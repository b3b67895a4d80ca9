"""Fashion-MNIST (Xiao et al. 2017: 60,000 + 10,000 28x28 grey images, 10 classes) as an ImageDataset.

The bytes come from Debian's ``dataset-fashion-mnist`` package (``apt-get install dataset-fashion-mnist``),
which ships the original gzipped IDX files; nothing is downloaded. Images are zero-padded to the 32x32
CIFAR canvas (2 pixels each side: the background is black), then bilinearly resized when another size is
asked for, and replicated to ``channels``. The splits are the official train and test sets.
"""

from __future__ import annotations

import functools
import gzip
import os
import struct
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from workers.data.dataset import ImageDataset

Split = Literal["train", "test", "all"]

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")  # where the Debian package puts the IDX files
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CANVAS = 32  # side the 28x28 images are padded to
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IDX_DTYPE_UBYTE = 0x08


def load_fashion_mnist_dataset(
    image_size: int = 32, channels: int = 3, split: Split = "train", root: str | os.PathLike[str] | None = None
) -> ImageDataset:
    """The official ``split`` (or both, train first) padded to 32x32, resized to ``image_size``."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if image_size < 1 or channels < 1:
        raise ValueError("image_size and channels must be positive")
    folder = Path(root) if root is not None else DEFAULT_ROOT
    parts = [_read_split(folder, name) for name in (("train", "test") if split == "all" else (split,))]
    pixels = torch.from_numpy(np.concatenate([images for images, _ in parts])).unsqueeze(1)  # [N, 1, 28, 28]
    labels = torch.from_numpy(np.concatenate([labels for _, labels in parts]).astype(np.int64))
    pad = CANVAS - pixels.shape[-1]
    pixels = F.pad(pixels, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))  # [N, 1, 32, 32]
    if image_size != CANVAS:
        resized = F.interpolate(pixels.float(), size=(image_size, image_size), mode="bilinear", align_corners=False)
        pixels = resized.round().clamp(0, 255).to(torch.uint8)
    images = pixels.expand(-1, channels, -1, -1).contiguous()  # [N, channels, S, S]
    return ImageDataset(images, labels, num_classes=10, class_names=list(CLASS_NAMES))


@functools.lru_cache(maxsize=4)
def _read_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name = _FILES[split]
    images, labels = _read_idx(folder / images_name, 3), _read_idx(folder / labels_name, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {images.shape[0]} {split} images but {labels.shape[0]} labels")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file (LeCun's MNIST format: magic 0x0000 <dtype> <ndim>, big-endian sizes, then the data)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: install Fashion-MNIST with 'apt-get install dataset-fashion-mnist' "
            "(or pass the folder holding its IDX files)"
        )
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != _IDX_DTYPE_UBYTE or dims != ndim:
        raise ValueError(f"{path} is not an unsigned-byte IDX file with {ndim} dimensions")
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, found {body.size} bytes of data")
    return body.reshape(shape)
