"""How many channels are pruned by when: the FLOPs target over the pruning steps, and channel retirement.

The target falls linearly from 1 to the user's ratio over the first ``ramp_fraction`` of the pruning
steps. Before each step, every live channel whose standardised score is under its layer's threshold is
retired for good, weakest (most negative margin) first, as long as the network stays at or above the
current target: the thresholds say which channels go and where, the target how many by when. So the
network approaches the target from above, never dips under the schedule, and no retired channel comes
back. At the end of the pruning epochs ``calibrate_keep`` (workers/lapp/extract.py) drops the last few
weakest channels to land at or just under the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workers.lapp.cost_model import ChannelCostModel
from workers.lapp.prunable import LappBlock


@dataclass
class TargetSchedule:
    final: float  # the user's FLOPs ratio
    ramp_steps: int  # steps over which the target falls linearly from 1 to ``final``
    step: int = 0

    def target(self) -> float:
        return 1.0 - (1.0 - self.final) * min(1.0, self.step / self.ramp_steps)


@torch.no_grad()
def retire_channels(blocks: Sequence[LappBlock], costs: ChannelCostModel, floor_ratio: float) -> int:
    """Retire live channels under their thresholds, weakest first, keeping the MACs ratio >= ``floor_ratio``
    and one channel per block; returns how many were retired."""
    margins = [block.margins() for block in blocks]
    macs = float(costs.macs([int(block.alive.sum()) for block in blocks]))
    floor = floor_ratio * costs.dense_macs
    below = sorted(
        (float(margin), b, c)
        for b, (block, m) in enumerate(zip(blocks, margins, strict=True))
        for c, margin in enumerate(m.tolist())
        if block.alive[c] and margin <= 0
    )
    retired = 0
    for _, b, c in below:
        if macs - costs.per_channel_macs[b] < floor or int(blocks[b].alive.sum()) == 1:
            continue  # a cheaper channel elsewhere may still fit above the floor
        blocks[b].alive[c] = False
        macs -= costs.per_channel_macs[b]
        retired += 1
    return retired
