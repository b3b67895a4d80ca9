"""``train_emov2``: EMOv2 with the paper's recipe, scaled to the run's batch size and length."""

from __future__ import annotations

from workers.jobs.classifier import train_checkpoint
from workers.jobs.context import JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import flips_preserve_labels, torch_device
from workers.training import TrainConfig

PAPER_BATCH = 512  # lr 1.5e-3 at batch 512, scaled linearly


@handles("train_emov2")
def run_train_emov2(context: JobContext) -> JobOutcome:
    p = context.params
    lr = p["base_lr"] * p["batch_size"] / PAPER_BATCH
    train_config = TrainConfig(
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        optimizer="adamw",
        lr=lr,
        weight_decay=p["weight_decay"],
        schedule="cosine",
        min_lr=5e-7,
        warmup_epochs=p["warmup_epochs"],
        label_smoothing=p["label_smoothing"],
        grad_clip=p["grad_clip"],
        ema_decay=p["ema_decay"],
        augmentation="randaugment",
        randaugment_magnitude=p["randaugment_magnitude"],
        flip=flips_preserve_labels(p["dataset"]),
        seed=p["seed"],
        device=torch_device(p["device"]),  # type: ignore[arg-type]
    )
    return train_checkpoint(
        context, p["arch_config"], train_config, {"epochs": p["epochs"], "lr": lr, "recipe": "emov2"}
    )
