"""Freezing the learned masks at the FLOPs target, and physically removing pruned channels.

Calibration: the thresholds learn *which* channels and *how many per layer*; the schedule
(workers/lapp/schedule.py) retires channels down to the target from above, so at the end of the pruning
epochs the live network is at or a little over it. ``calibrate_keep`` then drops the live channel
lowest under (or closest to) its layer's threshold until the target is met. It never re-admits a
retired channel: a masked channel got no task gradient while masked, and bringing it back would cost
accuracy at the moment the network is frozen. Every block keeps at least one channel, so the network
stays connected.

Extraction folds each ``folded``-ablation bypass into its conv (exact in eval mode), slices conv1's
outputs, bn1 and conv2's inputs to the kept channels, copies an ungated bypass as it is, and loads the
result into the same zoo family with smaller ``block_widths``: the extracted model is an ordinary zoo
model that trains on like any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from workers.lapp.bypass import fold_bypass
from workers.lapp.cost_model import ChannelCostModel
from workers.lapp.prunable import LappBlock
from workers.models.zoo import config_to_json, create_model


@torch.no_grad()
def calibrate_keep(blocks: Sequence[LappBlock], costs: ChannelCostModel, target_ratio: float) -> list[torch.Tensor]:
    """Sorted kept channel indices per block, a subset of the live channels, meeting ``target_ratio`` of
    the dense MACs from below (as closely as dropping whole channels allows)."""
    margins = [block.margins() for block in blocks]
    keep = [block.alive.clone() for block in blocks]
    budget = target_ratio * costs.dense_macs
    macs = float(costs.macs([int(k.sum()) for k in keep]))
    kept = sorted((margin, b, c) for b, m in enumerate(margins) for c, margin in enumerate(m.tolist()) if keep[b][c])
    for _, b, c in kept:  # drop the weakest kept channels while over budget (never a block's last one)
        if macs <= budget:
            break
        if int(keep[b].sum()) > 1:
            keep[b][c] = False
            macs -= costs.per_channel_macs[b]
    return [torch.nonzero(k).flatten() for k in keep]


def freeze_masks(blocks: Sequence[LappBlock], keep: Sequence[torch.Tensor]) -> None:
    """Fix every block's mask to its kept channels (the masked network now equals the extracted one)."""
    for block, kept in zip(blocks, keep, strict=True):
        mask = torch.zeros(block.width, device=block.bn1.weight.device)
        mask[kept] = 1.0
        block.frozen_mask = mask


@torch.no_grad()
def extract_pruned(
    model: nn.Module, arch: str, config: Any, blocks: Mapping[str, LappBlock], keep: Sequence[torch.Tensor]
) -> tuple[Any, nn.Module]:
    """(smaller config, zoo model with the kept channels and folded bypasses) of a LAPP-wrapped model."""
    small_config = dataclasses.replace(config, block_widths=tuple(int(k.numel()) for k in keep))
    state = {
        name: value
        for name, value in model.state_dict().items()
        if not any(name.startswith(f"{path}.") for path in blocks)
    }
    for (path, block), kept in zip(blocks.items(), keep, strict=True):
        state.update(_block_state(path, block, kept))
    small = create_model(arch, **config_to_json(small_config))
    small.load_state_dict(state, strict=True)
    return small_config, small.to(next(model.parameters()).device)


def _block_state(path: str, block: LappBlock, kept: torch.Tensor) -> dict[str, torch.Tensor]:
    conv1_weight, bn1_state = fold_bypass(block.conv1, block.bn1, block.bypass1)
    conv2_weight, bn2_state = fold_bypass(block.conv2, block.bn2, block.bypass2)
    state = {f"{path}.conv1.weight": conv1_weight[kept], f"{path}.conv2.weight": conv2_weight[:, kept]}
    for name, value in bn1_state.items():
        state[f"{path}.bn1.{name}"] = value if value.ndim == 0 else value[kept]
    state.update({f"{path}.bn2.{name}": value for name, value in bn2_state.items()})
    state.update({f"{path}.shortcut.{name}": value for name, value in block.shortcut.state_dict().items()})
    if block.bypass is not None:
        state.update({f"{path}.bypass.{name}": value for name, value in block.bypass.state_dict().items()})
    return state
