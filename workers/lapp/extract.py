"""Freezing the learned masks at the FLOPs target, and physically removing pruned channels.

Calibration: the thresholds learn *which* channels and *how many per layer*, but the hard masks at
the end of the pruning epochs land near, not on, the target. ``calibrate_keep`` closes the gap
greedily: while over the target it drops the kept channel closest to its layer's threshold; while
under it, it re-admits the pruned channel closest to its threshold if that still fits. Every block
keeps at least one channel, so the network stays connected.

Extraction folds each bypass into its conv (exact in eval mode), slices conv1's outputs, bn1 and
conv2's inputs to the kept channels, and loads the result into the same zoo family with smaller
``block_widths``: the extracted model is an ordinary zoo model that trains on like any other.
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
    """Sorted kept channel indices per block, meeting ``target_ratio`` of the dense MACs from below."""
    margins = [block.gate.margins(block.scores()) for block in blocks]
    keep = [m > 0 for m in margins]
    for block_keep, block_margins in zip(keep, margins, strict=True):
        block_keep[block_margins.argmax()] = True
    budget = target_ratio * costs.dense_macs
    macs = float(costs.macs([int(k.sum()) for k in keep]))
    candidates = [(margin, b, c) for b, m in enumerate(margins) for c, margin in enumerate(m.tolist())]
    if macs > budget:  # drop the weakest kept channels (never a block's last one)
        for _, b, c in sorted(x for x in candidates if keep[x[1]][x[2]]):
            if macs <= budget:
                break
            if int(keep[b].sum()) > 1:
                keep[b][c] = False
                macs -= costs.per_channel_macs[b]
    else:  # re-admit the strongest pruned channels that still fit
        for _, b, c in sorted((x for x in candidates if not keep[x[1]][x[2]]), reverse=True):
            if macs + costs.per_channel_macs[b] <= budget:
                keep[b][c] = True
                macs += costs.per_channel_macs[b]
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
    return state
