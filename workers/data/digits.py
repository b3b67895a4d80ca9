"""scikit-learn's digits (1,797 8x8 grey images, 10 classes) as an ImageDataset: real data, offline."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from workers.data.dataset import ImageDataset

Split = Literal["train", "test", "all"]

_DIGITS_MAX_VALUE = 16.0  # sklearn digits pixels are counts 0..16


def load_digits_dataset(
    image_size: int = 32,
    channels: int = 3,
    split: Split = "train",
    seed: int = 0,
    test_fraction: float = 0.2,
) -> ImageDataset:
    """Digits scaled to uint8, bilinearly resized to ``image_size`` and replicated to ``channels``.

    The train/test split is stratified (each class keeps ``test_fraction`` of its examples in
    test) and depends only on ``seed``, so "train" and "test" with the same seed never overlap.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if image_size < 1 or channels < 1:
        raise ValueError("image_size and channels must be positive")
    bunch = load_digits()
    pixels = torch.from_numpy(bunch.images.astype(np.float32)) * (255.0 / _DIGITS_MAX_VALUE)  # [N, 8, 8]
    pixels = pixels.unsqueeze(1)  # [N, 1, 8, 8]
    if image_size != pixels.shape[-1]:
        pixels = F.interpolate(pixels, size=(image_size, image_size), mode="bilinear", align_corners=False)
    images = pixels.round().clamp(0, 255).to(torch.uint8).expand(-1, channels, -1, -1).contiguous()
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    full = ImageDataset(images, labels, num_classes=10, class_names=[str(d) for d in range(10)])
    if split == "all":
        return full
    train_idx, test_idx = stratified_split(labels, test_fraction, seed)
    return full.subset(train_idx if split == "train" else test_idx)


def stratified_split(labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted (train, test) index tensors; each class puts round(fraction * count) examples in test."""
    generator = torch.Generator().manual_seed(seed)
    train_parts, test_parts = [], []
    for cls in torch.unique(labels).tolist():
        members = torch.nonzero(labels == cls).flatten()
        members = members[torch.randperm(members.numel(), generator=generator)]
        n_test = round(test_fraction * members.numel())
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return torch.cat(train_parts).sort().values, torch.cat(test_parts).sort().values
