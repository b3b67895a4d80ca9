"""Fashion-MNIST from the Debian package's IDX files (scripts/test.sh installs dataset-fashion-mnist)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from workers.data.fashion_mnist import CLASS_NAMES, DEFAULT_ROOT, load_fashion_mnist_dataset


def _reference(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The dataset authors' own reader (fixed header offsets), independent of the IDX parser under test."""
    with gzip.open(DEFAULT_ROOT / f"{kind}-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    with gzip.open(DEFAULT_ROOT / f"{kind}-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(len(labels), 28, 28)
    return images, labels


def test_official_splits_padded_to_32_with_the_original_pixels_inside() -> None:
    test = load_fashion_mnist_dataset(split="test")
    images, labels = _reference("t10k")
    assert test.images.shape == (10_000, 3, 32, 32) and test.images.dtype == torch.uint8
    assert torch.equal(test.images[:, 1, 2:30, 2:30], torch.from_numpy(images.copy()))
    assert int(test.images[:, :, :2].max()) == 0 and int(test.images[:, :, :, 30:].max()) == 0
    assert torch.equal(test.images[:, 0], test.images[:, 2])
    assert torch.equal(test.labels, torch.from_numpy(labels.astype(np.int64)))
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    assert test.class_names == CLASS_NAMES and test.class_names[9] == "Ankle boot"
    assert len(load_fashion_mnist_dataset(channels=1, split="train")) == 60_000
    assert len(load_fashion_mnist_dataset(image_size=8, channels=1, split="all")) == 70_000


def test_other_sizes_resize_the_padded_canvas() -> None:
    small = load_fashion_mnist_dataset(image_size=16, channels=1, split="test")
    big = load_fashion_mnist_dataset(image_size=32, channels=1, split="test")
    assert small.images.shape == (10_000, 1, 16, 16)
    halved = big.images.float().view(10_000, 1, 16, 2, 16, 2).mean(dim=(3, 5))  # bilinear 2x down = 2x2 mean
    assert (small.images.float() - halved).abs().max() <= 0.5 + 1e-6


def test_a_missing_package_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist_dataset(split="test", root=tmp_path)


def test_a_truncated_idx_file_is_refused(tmp_path: Path) -> None:
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(DEFAULT_ROOT / name, tmp_path / name)
    with gzip.open(DEFAULT_ROOT / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        data = f.read()
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(data[:-100])
    with pytest.raises(ValueError, match="header says"):
        load_fashion_mnist_dataset(split="test", root=tmp_path)
