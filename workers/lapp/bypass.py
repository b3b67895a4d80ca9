"""The lightweight linear bypass LAPP adds beside each prunable 3x3 conv, and its exact folding.

During pruning a 1x1 conv + BN runs parallel to a 3x3 conv + BN (same input, same stride, outputs
summed), so information keeps flowing while the 3x3 layer's neighbours get narrow. Both branches
are linear at inference (BN with running statistics), so after training they fold RepVGG-style into
one 3x3 conv followed by a BN: each BN is absorbed into its kernel, the 1x1 kernel is added to the
centre tap, and the folded BN keeps only the summed bias (unit scale, zero mean, unit variance).
"""

from __future__ import annotations

import torch
from torch import nn


class Bypass(nn.Module):
    """1x1 conv + BN from a conv's input to its output (same stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, H, W] -> [B, C_out, H/s, W/s]
        return self.bn(self.conv(x))


def bn_scale_and_bias(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BN as y = scale * x + bias, per channel ([C], [C])."""
    assert bn.running_var is not None and bn.running_mean is not None and bn.weight is not None
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - scale * bn.running_mean


@torch.no_grad()
def fold_bypass(
    conv: nn.Conv2d, bn: nn.BatchNorm2d, bypass: Bypass | None
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One (kernel [O, I, k, k], BN state dict) computing ``bn(conv(x)) + bypass(x)`` in eval mode.

    With a bypass, the returned BN state has weight 1, running mean 0 and running variance
    ``1 - eps`` so its normalisation is the identity and only the bias remains; training can continue
    from it. Without one, the conv and BN are returned unchanged.
    """
    if bypass is None:
        return conv.weight.clone(), {name: value.clone() for name, value in bn.state_dict().items()}
    scale, bias = bn_scale_and_bias(bn)
    kernel = conv.weight * scale[:, None, None, None]
    bypass_scale, bypass_bias = bn_scale_and_bias(bypass.bn)
    centre_h, centre_w = conv.kernel_size[0] // 2, conv.kernel_size[1] // 2
    kernel[:, :, centre_h, centre_w] += bypass.conv.weight[:, :, 0, 0] * bypass_scale[:, None]
    bias = bias + bypass_bias
    channels = kernel.shape[0]
    state = {
        "weight": torch.ones(channels),
        "bias": bias.clone(),
        "running_mean": torch.zeros(channels),
        "running_var": torch.full((channels,), 1.0 - bn.eps),
        "num_batches_tracked": torch.tensor(0),
    }
    return kernel.clone(), state
