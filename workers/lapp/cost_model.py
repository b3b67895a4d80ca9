"""MACs of the network LAPP will extract, as a (differentiable) function of the kept inner widths.

With residual widths fixed, a block's conv1 and conv2 MACs are each linear in its inner width, so

    MACs(widths) = fixed + sum_b widths_b * per_channel_b

where ``fixed`` covers the stem, shortcuts, classifier and the ungated bypasses (which stay in the pruned
network), and per_channel_b = (conv1 + conv2 MACs of block b) / its full width. The coefficients come
from the shared counter (workers.models.flops) run once on the dense network, so this is the very number
that counter reports for the extracted model. Ratios are taken against ``dense_macs``: by default the
measured network's own MACs; LAPP passes the plain network's (no bypass), so a bypass spends budget.
The ``folded`` ablation's convs are not counted: they fold away at extraction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from workers.models.flops import count_costs


@dataclass(frozen=True)
class ChannelCostModel:
    dense_macs: int  # MACs ratios are relative to: the unpruned (plain, unless given) network's
    fixed_macs: int  # MACs that do not depend on any prunable width
    per_channel_macs: tuple[float, ...]  # MACs of one inner channel of each block, in block order
    full_widths: tuple[int, ...]  # unpruned inner width of each block

    @classmethod
    def measure(
        cls, model: nn.Module, block_paths: Sequence[str], example_input: torch.Tensor, dense_macs: int | None = None
    ) -> ChannelCostModel:
        report = count_costs(model, example_input)
        by_layer = report.macs_by_layer()
        per_channel: list[float] = []
        widths: list[int] = []
        prunable = 0
        for path in block_paths:
            block_macs = by_layer[f"{path}.conv1"] + by_layer[f"{path}.conv2"]
            conv1 = model.get_submodule(f"{path}.conv1")
            assert isinstance(conv1, nn.Conv2d)
            width = conv1.out_channels
            per_channel.append(block_macs / width)
            widths.append(width)
            prunable += block_macs
        reference = report.macs if dense_macs is None else dense_macs
        return cls(reference, report.macs - prunable, tuple(per_channel), tuple(widths))

    def macs(self, widths: Sequence[float] | torch.Tensor) -> torch.Tensor:
        """MACs for (possibly fractional, differentiable) inner widths, as a scalar tensor."""
        counts = widths if isinstance(widths, torch.Tensor) else torch.tensor(list(widths), dtype=torch.float64)
        coefficients = torch.tensor(self.per_channel_macs, dtype=counts.dtype, device=counts.device)
        return self.fixed_macs + (counts * coefficients).sum()

    def ratio(self, widths: Sequence[float] | torch.Tensor) -> torch.Tensor:
        return self.macs(widths) / self.dense_macs

    def min_ratio(self) -> float:
        """The smallest ratio reachable (one channel kept per block)."""
        return float(self.ratio([1.0] * len(self.full_widths)))
