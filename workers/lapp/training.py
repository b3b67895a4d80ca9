"""The plain supervised pieces LAPP and its controls share: batches, one epoch of SGD, accuracy."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from workers.data.batching import iterate_batches, to_model_input
from workers.data.dataset import ImageDataset

# Extra loss terms computed after each forward (e.g. LAPP's FLOPs term): () -> scalar tensor.
ExtraLoss = Callable[[], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]  # uint8 [B,C,H,W] -> same shape


def sgd(parameters: list[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.SGD:
    return torch.optim.SGD(parameters, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)


def cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def steps_per_epoch(data: ImageDataset, batch_size: int) -> int:
    return max(1, len(data) // batch_size)


def train_epoch(
    model: nn.Module,
    data: ImageDataset,
    optimizers: Sequence[torch.optim.Optimizer],
    *,
    batch_size: int,
    generator: torch.Generator,
    lr_at: Callable[[int], float],
    first_step: int,
    extra_loss: ExtraLoss | None = None,
    augment: Augment | None = None,
    before_step: Callable[[int], None] | None = None,
) -> tuple[float, int]:
    """One shuffled pass (last partial batch dropped); returns (mean task loss, next global step).

    ``lr_at(step)`` sets the learning rate of every parameter group except those marked
    ``scheduled=False`` (which keep their own constant rate).
    """
    model.train()
    device = next(model.parameters()).device
    step, total, count = first_step, 0.0, 0
    for images, labels in iterate_batches(
        data.images, data.labels, batch_size, shuffle=True, generator=generator, drop_last=True
    ):
        if before_step is not None:
            before_step(step)
        if augment is not None:
            images = augment(images, generator)
        inputs, targets = to_model_input(images.to(device)), labels.to(device)
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step) if group.get("scheduled", True) else group["lr"]
        task_loss = F.cross_entropy(model(inputs), targets)
        loss = task_loss if extra_loss is None else task_loss + extra_loss()
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        total, count, step = total + float(task_loss.detach()), count + 1, step + 1
    return total / max(count, 1), step


@torch.no_grad()
def evaluate(model: nn.Module, data: ImageDataset, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``model`` on ``data`` in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for images, labels in iterate_batches(data.images, data.labels, batch_size):
        logits = model(to_model_input(images.to(device)))
        correct += int((logits.argmax(dim=1).cpu() == labels).sum())
    return correct / max(len(data), 1)


def pad_crop_flip(padding: int = 4, flip: bool = True) -> Augment:
    """CIFAR-style augmentation: random translation by up to ``padding`` pixels, optional h-flip."""

    def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch, _, height, width = images.shape
        padded = F.pad(images, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).tolist()
        dx = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).tolist()
        out = torch.stack(
            [padded[i, :, y : y + height, x : x + width] for i, (y, x) in enumerate(zip(dy, dx, strict=True))]
        )
        if flip:
            flipped = torch.rand(batch, generator=generator) < 0.5
            out[flipped] = out[flipped].flip(-1)
        return out

    return augment


def train_dense(
    model: nn.Module,
    train_data: ImageDataset,
    epochs: int,
    *,
    seed: int,
    lr: float = 0.05,
    weight_decay: float = 5e-4,
    batch_size: int = 64,
    augment: Augment | None = None,
) -> list[float]:
    """Plain SGD + cosine training of any classifier (used for the controls); per-epoch mean losses."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = sgd(list(model.parameters()), lr, weight_decay)
    total = epochs * steps_per_epoch(train_data, batch_size)
    losses, step = [], 0
    for _ in range(epochs):
        loss, step = train_epoch(
            model,
            train_data,
            [optimizer],
            batch_size=batch_size,
            generator=generator,
            lr_at=lambda s: cosine_lr(lr, s, total),
            first_step=step,
            augment=augment,
        )
        losses.append(loss)
    return losses
