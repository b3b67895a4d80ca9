"""A ResNet BasicBlock whose inner channels LAPP can gate, plus the helpers that install it.

Which channels are prunable: the inner width of every BasicBlock (conv1's outputs = conv2's inputs).
Residual-stream channels are joined by the residual adds (and, in the option-A CIFAR ResNets, by
zero-padding shortcuts), so they are left unpruned rather than tied under shared masks. Pruning an
inner channel removes its share of both convs of the block, which is where almost all FLOPs are.

``LappBlock`` keeps the block's own conv1/bn1/conv2/bn2/shortcut/bypass modules (same parameter names)
and multiplies the inner activations by the gate's mask. Bypass kinds (``BYPASS_KINDS``):

* ``depthwise`` / ``pointwise`` (the paper's description): the network's own ``BlockBypass``, a 3x3
  depthwise (or 1x1) conv + BN from the block's input to its output around both convs. It is not gated,
  so it carries information however narrow the inner layer gets, stays in the pruned network and is
  counted in its FLOPs.
* ``folded`` (ablation: this project's first reading): a 1x1 conv + BN beside each 3x3 conv, inside the
  gated channel set (masked with it, reading the masked activation), folded into the 3x3 kernels at
  extraction so it costs nothing afterwards.
* ``none``.

Pruning is progressive: the mask is the set of channels still ``alive``; channels are retired for good
(workers/lapp/schedule.py), never re-admitted. A masked channel gets no task gradient, so bringing one
back would return a channel that stopped learning when it was masked. The thresholds reach the mask
through the sigmoid surrogate only (straight-through): they decide which channels go, in which layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workers.lapp.bypass import Bypass
from workers.lapp.gates import ChannelGate
from workers.models.resnet_cifar import BasicBlock

BYPASS_KINDS = ("depthwise", "pointwise", "folded", "none")
NETWORK_BYPASSES = ("depthwise", "pointwise")  # kinds that are part of the (pruned) network itself


class LappBlock(nn.Module):
    def __init__(self, block: BasicBlock, folded_bypass: bool, temperature: float) -> None:
        super().__init__()
        self.conv1, self.bn1 = block.conv1, block.bn1
        self.conv2, self.bn2 = block.conv2, block.bn2
        self.shortcut = block.shortcut
        self.bypass = block.bypass  # the network's own ungated bypass, if its config has one
        in_channels, mid_channels = self.conv1.in_channels, self.conv1.out_channels
        out_channels, stride = self.conv2.out_channels, self.conv1.stride[0]
        self.bypass1 = Bypass(in_channels, mid_channels, stride) if folded_bypass else None
        self.bypass2 = Bypass(mid_channels, out_channels, 1) if folded_bypass else None
        self.gate = ChannelGate(temperature)
        # Channels not yet dropped by the pruning; once False, a channel stays pruned.
        self.alive: torch.Tensor
        self.register_buffer("alive", torch.ones(mid_channels, dtype=torch.bool), persistent=False)
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
        _, soft = self.gate(self.scores())
        alive = self.alive.to(soft.dtype)
        soft = soft * alive
        return alive + (soft - soft.detach()), soft  # exactly `alive` in value

    def margins(self) -> torch.Tensor:
        """How far each channel's standardised score is above this layer's threshold ([C_mid])."""
        return self.gate.margins(self.scores())

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
        if self.bypass is not None:
            z = z + self.bypass(x)  # not gated: reads the block input, skips the inner channels
        return F.relu(z + self.shortcut(x))  # [B, C_out, H/s, W/s]


def block_paths(model: nn.Module) -> list[str]:
    """Module paths of the BasicBlocks of ``model``, in forward order."""
    return [path for path, module in model.named_modules() if isinstance(module, BasicBlock)]


def install_lapp_blocks(model: nn.Module, folded_bypass: bool, temperature: float) -> dict[str, LappBlock]:
    """Replace every BasicBlock of ``model`` in place; returns {module path: LappBlock} in order.

    Ungated bypasses come with the model (its config's ``bypass``); ``folded_bypass`` adds the ablation's.
    """
    installed: dict[str, LappBlock] = {}
    for path in block_paths(model):
        parent_path, _, child = path.rpartition(".")
        block = model.get_submodule(path)
        assert isinstance(block, BasicBlock)
        installed[path] = LappBlock(block, folded_bypass, temperature)
        setattr(model.get_submodule(parent_path), child, installed[path])
    if not installed:
        raise ValueError(f"{type(model).__name__} has no BasicBlock to prune")
    return installed
