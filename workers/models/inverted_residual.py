"""A plain inverted-residual network (MobileNetV2, Sandler et al. 2018) with a free width.

The baseline EMOv2 is compared against: the same kind of mobile block without attention or
LayerNorm. ``width`` scales every layer (head included), channels are rounded to multiples of
``divisor``, and ``width_for_parameters`` finds the width whose parameter count is closest to a
target, so the baseline can be matched to a model of the same size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from workers.models.zoo import register_model

# MobileNetV2's body: (expansion t, output channels c, repeats n, first stride s) per stage.
MOBILENET_V2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


@dataclass(frozen=True)
class InvertedResidualConfig:
    width: float = 1.0  # multiplier on every channel count (stem, blocks and head)
    stages: tuple[tuple[int, int, int, int], ...] = MOBILENET_V2_STAGES  # (t, c, n, s) per stage
    stem_channels: int = 32  # stem conv output at width 1
    head_channels: int = 1280  # final 1x1 conv output at width 1
    divisor: int = 8  # channels are rounded to a multiple of this
    num_classes: int = 1000  # classifier outputs
    in_channels: int = 3  # image channels
    dropout: float = 0.2  # before the classifier

    def example_input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, 224, 224)


def _round_channels(channels: float, divisor: int) -> int:
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded  # never lose more than 10%


def _conv_bn(
    dim_in: int, dim_out: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(dim_in, dim_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(dim_out),
    ]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1x1 expand (ReLU6) -> 3x3 depthwise (ReLU6) -> 1x1 linear projection, residual when shapes match."""

    def __init__(self, dim_in: int, dim_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        inner = dim_in * expansion
        layers = [] if expansion == 1 else [_conv_bn(dim_in, inner, 1)]
        layers += [_conv_bn(inner, inner, 3, stride, groups=inner), _conv_bn(inner, dim_out, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.has_skip = stride == 1 and dim_in == dim_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, dim_in, H, W] -> [B, dim_out, H/stride, W/stride]
        return x + self.body(x) if self.has_skip else self.body(x)


class InvertedResidualNet(nn.Module):
    def __init__(self, config: InvertedResidualConfig) -> None:
        super().__init__()
        self.config = config
        channels = _round_channels(config.stem_channels * config.width, config.divisor)
        blocks: list[nn.Module] = [_conv_bn(config.in_channels, channels, 3, stride=2)]
        for expansion, base_out, repeats, first_stride in config.stages:
            out = _round_channels(base_out * config.width, config.divisor)
            for i in range(repeats):
                blocks.append(InvertedResidual(channels, out, first_stride if i == 0 else 1, expansion))
                channels = out
        head = _round_channels(config.head_channels * config.width, config.divisor)
        blocks.append(_conv_bn(channels, head, 1))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(head, config.num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, in_channels, H, W] -> logits [B, num_classes]
        features = self.features(x)  # [B, head, H/32, W/32]
        return self.classifier(features.mean(dim=(2, 3)))  # [B, num_classes]


def build_inverted_residual(config: InvertedResidualConfig) -> InvertedResidualNet:
    return InvertedResidualNet(config)


def count_parameters_for(config: InvertedResidualConfig) -> int:
    with torch.device("meta"):  # no memory, no init cost
        return sum(p.numel() for p in InvertedResidualNet(config).parameters())


def width_for_parameters(target: int, config: InvertedResidualConfig | None = None) -> InvertedResidualConfig:
    """``config`` (default: MobileNetV2) with the width whose parameter count is closest to ``target``."""
    base = config or InvertedResidualConfig()
    low, high = 0.05, 4.0
    for _ in range(24):  # the count never decreases with width, so bisect on it
        mid = (low + high) / 2
        if count_parameters_for(dataclasses.replace(base, width=mid)) <= target:
            low = mid
        else:
            high = mid
    below, above = dataclasses.replace(base, width=low), dataclasses.replace(base, width=high)
    return min((below, above), key=lambda c: abs(count_parameters_for(c) - target))


@register_model("inverted_residual", build_inverted_residual)
def inverted_residual() -> InvertedResidualConfig:
    return InvertedResidualConfig()
