"""The uniform-thinning control: every prunable width scaled by one factor to the same FLOPs.

Liu et al. (ICLR 2019, "Rethinking the value of network pruning") showed that a uniformly thinned
network trained from scratch is the baseline a pruning method has to beat. The thinned layers are
exactly the ones LAPP may prune (the inner width of each block), so the two differ only in how the
same FLOPs budget is spread over layers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from workers.lapp.cost_model import ChannelCostModel
from workers.lapp.prunable import block_paths
from workers.models.zoo import config_to_json, create_model


def uniform_config(arch: str, config: Any, target_flops_ratio: float, image_size: int) -> Any:
    """``config`` with every block width scaled by the largest common factor that stays within the
    target MACs ratio (widths rounded to the nearest channel, at least 1)."""
    model = create_model(arch, **config_to_json(config))
    example = torch.zeros(1, config.in_channels, image_size, image_size)
    costs = ChannelCostModel.measure(model, block_paths(model), example)

    def widths(factor: float) -> tuple[int, ...]:
        return tuple(max(1, round(w * factor)) for w in costs.full_widths)

    low, high = 0.0, 1.0
    for _ in range(40):  # bisection on the width factor
        middle = (low + high) / 2
        if float(costs.ratio(widths(middle))) <= target_flops_ratio:
            low = middle
        else:
            high = middle
    return dataclasses.replace(config, block_widths=widths(low))
