"""ImageNet ResNet-18 (He et al. 2016, table 1): 11.69M parameters, 1.82G MACs at 224x224.

Layout: 7x7/2 stem conv, 3x3/2 max pool, four stages of two BasicBlocks, global average pool, one
linear layer. Shape-changing shortcuts use option B (1x1 conv + BN), as in the paper's ImageNet
models. ``stage_widths`` are the residual-stream widths and ``block_widths`` the inner width of each
block, so a physically pruned ResNet-18 is another config of this family.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from workers.models.resnet_cifar import BasicBlock, check_bypass_kind
from workers.models.zoo import register_model


@dataclass(frozen=True)
class ImageNetResNetConfig:
    num_classes: int = 1000  # size of the classifier output
    in_channels: int = 3  # image channels
    blocks_per_stage: tuple[int, ...] = (2, 2, 2, 2)  # BasicBlocks in each stage
    stage_widths: tuple[int, ...] = (64, 128, 256, 512)  # residual-stream width per stage (stem = stage 0)
    block_widths: tuple[int, ...] = (64, 64, 128, 128, 256, 256, 512, 512)  # inner width of every block
    bypass: str = "none"  # LAPP's path around each block's convs: "none", "depthwise" or "pointwise"

    def __post_init__(self) -> None:
        check_bypass_kind(self.bypass)
        if len(self.stage_widths) != len(self.blocks_per_stage):
            raise ValueError("stage_widths and blocks_per_stage need one entry per stage")
        if len(self.block_widths) != sum(self.blocks_per_stage):
            raise ValueError(f"block_widths needs {sum(self.blocks_per_stage)} entries, got {len(self.block_widths)}")
        if min(self.stage_widths + self.block_widths) < 1:
            raise ValueError("every width must be at least 1")


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
    )


class ImageNetResNet(nn.Module):
    def __init__(self, config: ImageNetResNetConfig) -> None:
        super().__init__()
        self.config = config
        stem_width = config.stage_widths[0]
        self.conv1 = nn.Conv2d(config.in_channels, stem_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        stages: list[nn.Module] = []
        inner = iter(config.block_widths)
        in_width = stem_width
        for stage, (count, width) in enumerate(zip(config.blocks_per_stage, config.stage_widths, strict=True)):
            blocks = []
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                shortcut = _projection(in_width, width, stride) if stride != 1 or in_width != width else nn.Identity()
                blocks.append(BasicBlock(in_width, next(inner), width, stride, shortcut, config.bypass))
                in_width = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(in_width, config.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, H, W]
        x = F.relu(self.bn1(self.conv1(x)))  # [B, 64, H/2, W/2]
        x = F.max_pool2d(x, 3, stride=2, padding=1)  # [B, 64, H/4, W/4]
        x = self.stages(x)  # [B, 512, H/32, W/32]
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # [B, 512]
        return self.fc(x)  # [B, num_classes]


def build_imagenet_resnet(config: ImageNetResNetConfig) -> nn.Module:
    return ImageNetResNet(config)


@register_model("resnet18", build_imagenet_resnet)
def resnet18() -> ImageNetResNetConfig:
    return ImageNetResNetConfig()
