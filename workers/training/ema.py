"""Exponential moving average of model weights (the model that is evaluated and returned)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightEma:
    """Keeps ``shadow = d * shadow + (1 - d) * weights`` after every step.

    ``d`` is warmed up as ``min(decay, (1 + t) / (10 + t))`` so that short runs (where a decay like
    0.9998 would still remember the random init) get a meaningful average. Buffers (BatchNorm
    statistics) are copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for shadow, live in zip(self.shadow.parameters(), model.parameters(), strict=True):
            shadow.lerp_(live.detach(), 1.0 - d)
        for shadow_buffer, live_buffer in zip(self.shadow.buffers(), model.buffers(), strict=True):
            shadow_buffer.copy_(live_buffer)
