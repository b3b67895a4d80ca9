"""A ResNet BasicBlock whose inner channels LAPP can gate, plus the helpers that install it.

Which channels are prunable: the inner width of every BasicBlock (conv1's outputs = conv2's inputs).
Residual-stream channels are joined by the residual adds (and, in the option-A CIFAR ResNets, by
zero-padding shortcuts), so they are left unpruned rather than tied under shared masks. Pruning an
inner channel removes its share of both convs of the block, which is where almost all FLOPs are.

``LappBlock`` keeps the block's own conv1/bn1/conv2/bn2/shortcut modules (same parameter names), adds
an optional 1x1 bypass beside each conv, and multiplies the inner activations by the gate's mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workers.lapp.bypass import Bypass
from workers.lapp.gates import ChannelGate
from workers.models.resnet_cifar import BasicBlock


class LappBlock(nn.Module):
    def __init__(self, block: BasicBlock, bypass: bool, temperature: float) -> None:
        super().__init__()
        self.conv1, self.bn1 = block.conv1, block.bn1
        self.conv2, self.bn2 = block.conv2, block.bn2
        self.shortcut = block.shortcut
        in_channels, mid_channels = self.conv1.in_channels, self.conv1.out_channels
        out_channels, stride = self.conv2.out_channels, self.conv1.stride[0]
        self.bypass1 = Bypass(in_channels, mid_channels, stride) if bypass else None
        self.bypass2 = Bypass(mid_channels, out_channels, 1) if bypass else None
        self.gate = ChannelGate(temperature)
        # Set when the masks freeze: a 0/1 float vector [C_mid]; None while pruning is live.
        self.frozen_mask: torch.Tensor | None = None

    @property
    def width(self) -> int:
        return self.conv1.out_channels

    def scores(self) -> torch.Tensor:
        """Importance of each inner channel: |gamma| of the BN(s) producing it ([C_mid])."""
        scores = self.bn1.weight.abs()
        if self.bypass1 is not None:
            scores = scores + self.bypass1.bn.weight.abs()
        return scores

    def mask(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mask [C_mid] used in forward, surrogate soft mask [C_mid] for the FLOPs term)."""
        if self.frozen_mask is not None:
            return self.frozen_mask, self.frozen_mask
        return self.gate(self.scores())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, H, W]
        mask, _ = self.mask()
        y = self.bn1(self.conv1(x))  # [B, C_mid, H/s, W/s]
        if self.bypass1 is not None:
            y = y + self.bypass1(x)
        y = F.relu(y * mask[None, :, None, None])  # pruned channels are exactly 0
        z = self.bn2(self.conv2(y))  # [B, C_out, H/s, W/s]
        if self.bypass2 is not None:
            z = z + self.bypass2(y)
        return F.relu(z + self.shortcut(x))  # [B, C_out, H/s, W/s]


def block_paths(model: nn.Module) -> list[str]:
    """Module paths of the BasicBlocks of ``model``, in forward order."""
    return [path for path, module in model.named_modules() if isinstance(module, BasicBlock)]


def install_lapp_blocks(model: nn.Module, bypass: bool, temperature: float) -> dict[str, LappBlock]:
    """Replace every BasicBlock of ``model`` in place; returns {module path: LappBlock} in order."""
    installed: dict[str, LappBlock] = {}
    for path in block_paths(model):
        parent_path, _, child = path.rpartition(".")
        block = model.get_submodule(path)
        assert isinstance(block, BasicBlock)
        installed[path] = LappBlock(block, bypass, temperature)
        setattr(model.get_submodule(parent_path), child, installed[path])
    if not installed:
        raise ValueError(f"{type(model).__name__} has no BasicBlock to prune")
    return installed
