"""Classifier evaluation: top-1, top-5 and mean cross-entropy over a dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from workers.data.batching import iterate_batches, to_model_input
from workers.data.dataset import ImageDataset
from workers.training.config import TrainingCancelled


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no GPU is available")
    return torch.device(device)


@torch.no_grad()
def evaluate_classifier(
    model: nn.Module,
    data: ImageDataset,
    batch_size: int = 256,
    device: str = "auto",
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """{"top1", "top5" (only when num_classes > 5), "loss", "n"}; accuracies are fractions in [0, 1].

    The model runs in eval mode on ``device`` and is returned to its previous mode and device. ``should_stop``
    is polled before every batch; a True answer raises ``TrainingCancelled``.
    """
    if len(data) == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    target = resolve_device(device)
    was_training = model.training
    original_device = next(model.parameters()).device
    model.eval().to(target)
    correct1 = correct5 = 0
    total_loss = 0.0
    try:
        for images, labels in iterate_batches(data.images, data.labels, batch_size):
            if should_stop is not None and should_stop():
                raise TrainingCancelled("evaluation stopped")
            images, labels = images.to(target), labels.to(target)
            logits = model(to_model_input(images)).float()  # [B, num_classes]
            total_loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            top = logits.topk(min(5, logits.shape[1]), dim=1).indices  # [B, k]
            hits = top == labels[:, None]
            correct1 += int(hits[:, 0].sum())
            correct5 += int(hits.any(dim=1).sum())
    finally:
        model.train(was_training).to(original_device)
    n = len(data)
    metrics: dict[str, Any] = {"top1": correct1 / n, "loss": total_loss / n, "n": n}
    if data.num_classes > 5:
        metrics["top5"] = correct5 / n
    return metrics
