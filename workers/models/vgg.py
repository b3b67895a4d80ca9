"""VGG-16 for 32x32 inputs without BatchNorm (configuration D of Simonyan & Zisserman 2015).

This is the VGG-16 the Robust Weight Signatures paper patches, as its official code builds it
(VITA-Group/Robust_Weight_Signatures, models/vgg.py): 13 3x3 convs with ReLU, max pooling after conv
2, 4, 7 and 10 (32x32 -> 2x2; configuration D's list ends on the last conv, with no fifth pool), then
global average pooling and one ``Linear(512, num_classes)``. With 10 classes it has 14,719,818
parameters (14,714,688 in the convs). ``classifier_widths`` adds hidden layers (with dropout) to the
head for experiments that want the older 512-512 CIFAR head; by default there are none.
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
    pool_after: tuple[int, ...] = (1, 3, 6, 9)  # 0-based conv indices followed by 2x2 max pooling
    classifier_widths: tuple[int, ...] = ()  # hidden widths of the head (none: avgpool + one linear)
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
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        head: list[nn.Module] = []
        for hidden in config.classifier_widths:
            head += [nn.Dropout(config.dropout), nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        # The official code's head is a bare Linear named "classifier"; its weights load by name.
        output = nn.Linear(width, config.num_classes)
        self.classifier: nn.Module = nn.Sequential(*head, output) if head else output
        for module in self.modules():  # the official initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, H, W]
        x = self.features(x)  # [B, 512, H/16, W/16]
        x = torch.flatten(self.avgpool(x), 1)  # [B, 512]
        return self.classifier(x)  # [B, num_classes]


def build_vgg(config: VGGConfig) -> nn.Module:
    return VGG(config)


@register_model("vgg16", build_vgg)
def vgg16() -> VGGConfig:
    return VGGConfig()
