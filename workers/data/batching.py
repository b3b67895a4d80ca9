"""Turning a dataset into model inputs: one normalisation convention and a seeded batch iterator."""

from __future__ import annotations

from collections.abc import Iterator

import torch

# One fixed convention for every model in the zoo, so a checkpoint evaluates the same anywhere
# without carrying dataset statistics around.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_model_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B, C, H, W] (or float already scaled to 0..255) -> normalised float32 [B, C, H, W].

    Channel c uses ImageNet statistics for c < 3 and the mean of them for any further channel
    (grey or multispectral inputs still get a sensible scale).
    """
    channels = images.shape[1]
    mean = _per_channel(IMAGENET_MEAN, channels, images.device)
    std = _per_channel(IMAGENET_STD, channels, images.device)
    return (images.float() / 255.0 - mean) / std


def iterate_batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images[B, ...], labels[B]) slices; with ``shuffle`` the order comes from ``generator``.

    The same generator state always gives the same order, so a seeded run is reproducible.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    n = int(labels.shape[0])
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield images[idx], labels[idx]


def _per_channel(values: tuple[float, ...], channels: int, device: torch.device) -> torch.Tensor:
    extra = [sum(values) / len(values)] * max(0, channels - len(values))
    return torch.tensor(list(values[:channels]) + extra, device=device).view(1, channels, 1, 1)
