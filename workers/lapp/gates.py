"""Per-layer learnable thresholds over channel importance scores.

A layer keeps channel c while its standardised score z_c = (score_c - mean) / std (statistics of
that layer) exceeds the layer's threshold t. The forward pass uses the hard mask 1[z_c > t];
gradients reach t through the sigmoid surrogate sigmoid((z_c - t) / T), a straight-through
estimator (the scores themselves are trained by the task loss alone). Standardising makes one
temperature and one threshold scale fit every layer, and keeps a rising threshold from crossing a
whole layer at once while its scores are still close together (early in training, when every BN
gamma is near its initial 1).
"""

from __future__ import annotations

import torch
from torch import nn


class ChannelGate(nn.Module):
    def __init__(self, temperature: float, initial_threshold: float = -3.0) -> None:
        super().__init__()
        self.temperature = temperature
        # Starts low (3 standard deviations under the mean): nothing is pruned until it rises.
        self.threshold = nn.Parameter(torch.tensor(float(initial_threshold)))

    @staticmethod
    def standardised(scores: torch.Tensor) -> torch.Tensor:
        # Not differentiated: the scores move with the task loss only; the surrogate trains t.
        # (Through 1/std, surrogate gradients would explode while a layer's scores are still equal.)
        scores = scores.detach()
        return (scores - scores.mean()) / scores.std(unbiased=False).clamp(min=1e-8)

    def forward(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """scores [C] -> (mask [C] with hard values and surrogate gradients, surrogate [C])."""
        margin = self.standardised(scores) - self.threshold
        soft = torch.sigmoid(margin / self.temperature)
        hard = (margin > 0).to(soft.dtype)
        return hard + (soft - soft.detach()), soft  # exactly `hard` in value

    @torch.no_grad()
    def margins(self, scores: torch.Tensor) -> torch.Tensor:
        """How far each channel is above the threshold, in standard deviations of its layer ([C])."""
        return self.standardised(scores) - self.threshold
