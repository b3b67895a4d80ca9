"""Masked-input UVA training: stage 1 video generation only, stage 2 one task mode per batch; EMA.

``train_uva`` is a plain function (the Celery job kind ``train_uva`` wraps it): it takes a dataset and a
``UVATrainConfig`` and returns the EMA model and JSON-ready metrics.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from registry.contract.kinds.uva import TrainUvaParams
from workers.models.uva import UVA, TaskMode, UVAConfig
from workers.uva.clips import ClipTensors, build_clip_index
from workers.uva.dataset import UVADataset

ALL_MODES = tuple(mode.value for mode in TaskMode)
ProgressCallback = Callable[[int, int, dict[str, float]], None]  # (step, total_steps, latest losses)


# The defaults of a ``train_uva`` job, which a user sees at submission (registry/contract/kinds/uva.py).
_TRAIN_JOB = TrainUvaParams.model_construct()


@dataclass(frozen=True)
class UVATrainConfig:
    model: UVAConfig = field(default_factory=UVAConfig)  # architecture (saved next to the weights)
    video_steps: int = _TRAIN_JOB.video_steps  # stage 1: optimizer steps of video generation only
    joint_steps: int = _TRAIN_JOB.joint_steps  # stage 2: optimizer steps, task mode drawn uniformly per batch
    joint_modes: tuple[str, ...] = ALL_MODES  # stage-2 modes; ("policy",) gives the UVA-action ablation
    batch_size: int = _TRAIN_JOB.batch_size  # clips per step
    learning_rate: float = _TRAIN_JOB.learning_rate  # AdamW peak rate (linear warmup, cosine decay to 10%)
    warmup_steps: int = 100
    weight_decay: float = 0.02  # on matrices only
    ema_decay: float = _TRAIN_JOB.ema_decay  # EMA of the weights; the EMA copy is what train_uva returns
    expert_only_for_actions: bool = True  # policy and joint modes see expert clips only
    seed: int = _TRAIN_JOB.seed
    log_every: int = 50  # progress callback period, in steps

    def __post_init__(self) -> None:
        unknown = set(self.joint_modes) - set(ALL_MODES)
        if unknown or not self.joint_modes:
            raise ValueError(f"joint_modes must be a non-empty subset of {ALL_MODES}, got {self.joint_modes}")
        if self.video_steps < 0 or self.joint_steps < 0 or self.video_steps + self.joint_steps == 0:
            raise ValueError("video_steps and joint_steps must be >= 0 with a positive total")

    @property
    def total_steps(self) -> int:
        return self.video_steps + self.joint_steps

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> UVATrainConfig:
        values = dict(values)
        model = UVAConfig(**values.pop("model", {}))
        if "joint_modes" in values:
            values["joint_modes"] = tuple(values["joint_modes"])
        return cls(model=model, **values)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def train_uva(
    dataset: UVADataset,
    config: UVATrainConfig,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[UVA, dict[str, Any]]:
    """Train UVA on ``dataset``; returns (EMA model in eval mode, metrics)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    mc = config.model
    if dataset.actions.shape[1] != mc.action_dim or dataset.frames.shape[1:] != (
        mc.in_channels,
        mc.image_size,
        mc.image_size,
    ):
        raise ValueError(f"dataset frames {dataset.frames.shape[1:]} / actions do not match the model config")
    clips = build_clip_index(dataset, mc.num_frames, mc.actions_per_frame)
    action_clips = clips.subset(clips.expert) if config.expert_only_for_actions and clips.expert.any() else clips
    tensors = ClipTensors(dataset)
    model = UVA(mc)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    optimizer = _optimizer(model, config)
    losses: dict[str, list[float]] = {mode: [] for mode in ALL_MODES}
    started = time.perf_counter()
    step = 0
    stopped_early = False
    model.train()
    for step in range(config.total_steps):
        if should_stop is not None and should_stop():
            stopped_early = True
            break
        mode = TaskMode.VIDEO if step < config.video_steps else TaskMode(rng.choice(config.joint_modes))
        pool = action_clips if mode in (TaskMode.POLICY, TaskMode.JOINT) else clips
        history, future, actions = tensors.batch(pool, rng.integers(0, len(pool), config.batch_size))
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, step)
        out = model.loss(history, future, actions, mode)
        optimizer.zero_grad(set_to_none=True)
        out["loss"].backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        _update_ema(ema, model, min(config.ema_decay, (1 + step) / (10 + step)))
        losses[mode.value].append(float(out["loss"].detach()))
        if progress is not None and ((step + 1) % config.log_every == 0 or step + 1 == config.total_steps):
            progress(step + 1, config.total_steps, {m: float(np.mean(v[-20:])) for m, v in losses.items() if v})
    else:
        step = config.total_steps
    elapsed = time.perf_counter() - started
    metrics: dict[str, Any] = {
        "steps": step,
        "stopped_early": stopped_early,
        "train_seconds": elapsed,
        "samples_per_second": step * config.batch_size / max(elapsed, 1e-9),
        "num_clips": len(clips),
        "num_action_clips": len(action_clips),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    for mode_name, values in losses.items():
        if len(values) >= 10:
            tenth = max(1, len(values) // 10)
            metrics[f"{mode_name}_loss_first"] = float(np.mean(values[:tenth]))
            metrics[f"{mode_name}_loss_last"] = float(np.mean(values[-tenth:]))
    return ema, metrics


def _optimizer(model: nn.Module, config: UVATrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.95))


def _learning_rate(config: UVATrainConfig, step: int) -> float:
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.total_steps - config.warmup_steps)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


@torch.no_grad()
def _update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for ema_param, param in zip(ema.parameters(), model.parameters(), strict=True):
        ema_param.lerp_(param, 1 - decay)
