"""``train``: a zoo classifier on a dataset; the checkpoint is registered with its arch and metrics."""

from __future__ import annotations

from workers.jobs.classifier import train_checkpoint
from workers.jobs.context import JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import flips_preserve_labels, torch_device
from workers.training import TrainConfig


@handles("train")
def run_train(context: JobContext) -> JobOutcome:
    p = context.params
    train_config = TrainConfig(
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        optimizer=p["optimizer"],
        lr=p["lr"],
        weight_decay=p["weight_decay"],
        momentum=p["momentum"],
        schedule=p["schedule"],
        milestones=tuple(p["milestones"]),
        gamma=p["gamma"],
        warmup_epochs=p["warmup_epochs"],
        label_smoothing=p["label_smoothing"],
        grad_clip=p["grad_clip"],
        ema_decay=p["ema_decay"],
        augmentation=p["augmentation"],
        flip=flips_preserve_labels(p["dataset"]),
        seed=p["seed"],
        device=torch_device(p["device"]),  # type: ignore[arg-type]
    )
    return train_checkpoint(context, p["arch_config"], train_config, {"epochs": p["epochs"]})
