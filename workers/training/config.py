"""What a classifier training run is told (``TrainConfig``) and what it hands back (``TrainResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

from registry.contract.kinds.training import TrainParams

# The defaults of a ``train`` job, which a user sees at submission (registry/contract/kinds/training.py).
_TRAIN_JOB = TrainParams.model_construct()

Optimizer = Literal["sgd", "adamw"]
Schedule = Literal["cosine", "step"]
Augmentation = Literal["none", "flip_crop", "randaugment"]
Device = Literal["cpu", "cuda", "auto"]


@dataclass
class TrainConfig:
    # The recipe's defaults are the ``train`` job's, defined once in its params model.
    epochs: int = _TRAIN_JOB.epochs  # passes over the training set
    batch_size: int = _TRAIN_JOB.batch_size  # examples per optimisation step
    optimizer: Optimizer = _TRAIN_JOB.optimizer  # "sgd" (momentum, optional Nesterov) or "adamw"
    lr: float = _TRAIN_JOB.lr  # peak learning rate, reached at the end of warm-up
    weight_decay: float = _TRAIN_JOB.weight_decay  # decoupled for AdamW; never applied to biases, norms or LayerScale
    momentum: float = _TRAIN_JOB.momentum  # SGD momentum
    nesterov: bool = True  # SGD Nesterov momentum
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW betas
    schedule: Schedule = _TRAIN_JOB.schedule  # per-iteration cosine to min_lr, or step decay at milestones
    min_lr: float = 1e-6  # where the cosine schedule ends
    milestones: tuple[int, ...] = ()  # "step": epochs at which lr is multiplied by gamma
    gamma: float = _TRAIN_JOB.gamma  # "step": decay factor
    warmup_epochs: float = _TRAIN_JOB.warmup_epochs  # linear warm-up from warmup_lr to lr over this many epochs
    warmup_lr: float = 1e-6  # learning rate at step 0 when warming up
    label_smoothing: float = _TRAIN_JOB.label_smoothing  # cross-entropy label smoothing
    grad_clip: float | None = _TRAIN_JOB.grad_clip  # max global gradient L2 norm; None = no clipping
    ema_decay: float | None = (
        _TRAIN_JOB.ema_decay
    )  # weight EMA decay (e.g. 0.9998), warmed up as (1+t)/(10+t); None = off
    augmentation: Augmentation = _TRAIN_JOB.augmentation  # "flip_crop": pad-crop (+flip); "randaugment": pad-crop + ops
    flip: bool = True  # horizontal flips in "flip_crop"/"randaugment" (off for digits and text)
    crop_padding: float = 0.125  # pad-crop translation as a fraction of the image side
    randaugment_ops: int = 2  # RandAugment: ops applied per image
    randaugment_magnitude: float = 9.0  # RandAugment: magnitude on the 0..10 scale
    seed: int = _TRAIN_JOB.seed  # seeds shuffling, augmentation, dropout and drop path; same seed = same weights on CPU
    device: Device = "auto"  # "auto" = cuda when available
    amp: bool = True  # bfloat16 autocast on cuda (ignored on cpu)
    num_threads: int | None = None  # torch intra-op CPU threads for this run; None = leave as is
    log_every: int = 50  # steps between intermediate progress reports (an epoch end always reports)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}")
        if self.schedule not in ("cosine", "step"):
            raise ValueError(f"unknown schedule {self.schedule!r}")
        if self.augmentation not in ("none", "flip_crop", "randaugment"):
            raise ValueError(f"unknown augmentation {self.augmentation!r}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"unknown device {self.device!r}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if not 0.0 <= self.randaugment_magnitude <= 10.0:
            raise ValueError("randaugment_magnitude is on the 0..10 scale")
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        self.milestones = tuple(int(m) for m in self.milestones)


@dataclass
class TrainResult:
    model: nn.Module  # the trained model (the EMA weights when EMA is on), in eval mode, on the CPU
    metrics: dict[str, Any]  # final numbers: val_top1/val_loss (with val), train_loss, steps, seconds...
    history: list[dict[str, Any]] = field(default_factory=list)  # one record per epoch


class TrainingCancelled(Exception):
    """Raised when ``should_stop()`` returns True at a progress point."""
