"""The in-memory image classification dataset every loader returns and every trainer consumes."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ImageDataset:
    images: torch.Tensor  # uint8 [N, C, H, W], pixel values 0..255
    labels: torch.Tensor  # int64 [N], each in [0, num_classes)
    num_classes: int  # size of the label space (may exceed the labels present)
    class_names: list[str] | None = None  # optional human names, one per class

    def __post_init__(self) -> None:
        validate_dataset(self.images, self.labels, self.num_classes, self.class_names)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[3])

    def subset(self, indices: torch.Tensor) -> ImageDataset:
        """The examples at ``indices`` (int64 [M]), keeping the label space."""
        return ImageDataset(self.images[indices], self.labels[indices], self.num_classes, self.class_names)


def validate_dataset(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int, class_names: list[str] | None
) -> None:
    """Raise ``ValueError`` with a sentence a user can act on when the tensors are not a dataset."""
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise ValueError(f"images must be a uint8 tensor, got {_describe(images)}")
    if images.ndim != 4:
        raise ValueError(f"images must have shape [N, C, H, W], got {list(images.shape)}")
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
        raise ValueError(f"labels must be an int64 tensor, got {_describe(labels)}")
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape [N], got {list(labels.shape)}")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    if min(images.shape[1:]) < 1:
        raise ValueError(f"images must have at least one channel and pixel, got {list(images.shape)}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), found range [{int(labels.min())}, {int(labels.max())}]"
        )
    if class_names is not None and (
        len(class_names) != num_classes or not all(isinstance(n, str) for n in class_names)
    ):
        raise ValueError(f"class_names must be {num_classes} strings, got {class_names!r}")


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {list(value.shape)}"
    return type(value).__name__
