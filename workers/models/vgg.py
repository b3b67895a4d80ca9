"""VGG-16 for 32x32 inputs without BatchNorm (configuration D of Simonyan & Zisserman 2015).

This is the plain VGG-16 the Robust Weight Signatures paper patches: 13 3x3 convs with ReLU, max
pooling after conv 2, 4, 7, 10 and 13 (32x32 -> 1x1), then a classifier of two 512-wide hidden
layers with dropout and the output layer (the widely used CIFAR adaptation of VGG's 4096-wide head).
With 10 classes it has 15,245,130 parameters (14,714,688 in the convs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from workers.models.zoo import register_model


@dataclass(frozen=True)
class VGGConfig:
    num_classes: int = 10  # size of the classifier output
    in_channels: int = 3  # image channels
    conv_widths: tuple[int, ...] = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)  # per conv
    pool_after: tuple[int, ...] = (1, 3, 6, 9, 12)  # 0-based conv indices followed by 2x2 max pooling
    classifier_widths: tuple[int, ...] = (512, 512)  # hidden widths of the classifier head
    dropout: float = 0.5  # dropout before each hidden classifier layer

    def __post_init__(self) -> None:
        if min(self.conv_widths + self.classifier_widths) < 1:
            raise ValueError("every width must be at least 1")
        if any(not 0 <= i < len(self.conv_widths) for i in self.pool_after):
            raise ValueError("pool_after indices must name convs")


class VGG(nn.Module):
    def __init__(self, config: VGGConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.in_channels
        for index, out_width in enumerate(config.conv_widths):
            layers += [nn.Conv2d(width, out_width, 3, padding=1), nn.ReLU(inplace=True)]
            if index in config.pool_after:
                layers.append(nn.MaxPool2d(2))
            width = out_width
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = []
        for hidden in config.classifier_widths:
            head += [nn.Dropout(config.dropout), nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        head.append(nn.Linear(width, config.num_classes))
        self.classifier = nn.Sequential(*head)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, 32, 32]
        x = self.features(x)  # [B, 512, 1, 1] (spatial side / 32)
        x = torch.flatten(x, 1)  # [B, 512 * (H/32) * (W/32)]
        return self.classifier(x)  # [B, num_classes]


def build_vgg(config: VGGConfig) -> nn.Module:
    return VGG(config)


@register_model("vgg16", build_vgg)
def vgg16() -> VGGConfig:
    return VGGConfig()
