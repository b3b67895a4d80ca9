"""CIFAR ResNets (He et al. 2016, section 4.2): ResNet-20/32/56 for 32x32 inputs.

Layout: a 3x3 stem conv, three stages of ``n`` BasicBlocks (6n+2 layers), global average pool and
one linear layer. Shortcuts that change shape use **option A** (parameter-free: stride-2 subsampling
plus zero channel padding), as in the paper's CIFAR experiments and the CIFAR ResNets that pruning
papers (LAPP, Torch-Pruning's benchmarks) start from; this gives the published 0.27M / 0.46M / 0.85M
parameters.

Every width is explicit in the config so that a physically pruned network is just another config:
``stage_widths`` are the residual-stream widths (coupled by the residual adds, one per stage) and
``block_widths`` the inner width of each block (output of its first conv, free to differ per block).
``bypass`` optionally adds LAPP's lightweight path around each block's two convs (``BlockBypass``);
the plain ResNets have none.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from workers.models.zoo import register_model

BYPASS_KINDS = ("none", "depthwise", "pointwise")


@dataclass(frozen=True)
class CifarResNetConfig:
    num_classes: int = 10  # size of the classifier output
    in_channels: int = 3  # image channels
    blocks_per_stage: tuple[int, ...] = (3, 3, 3)  # n BasicBlocks in each of the 3 stages (depth 6n+2)
    stage_widths: tuple[int, ...] = (16, 32, 64)  # residual-stream width per stage (stem = stage 0)
    block_widths: tuple[int, ...] = (16,) * 3 + (32,) * 3 + (64,) * 3  # inner width of every block
    bypass: str = "none"  # LAPP's path around each block's convs: "none", "depthwise" or "pointwise"

    def __post_init__(self) -> None:
        check_bypass_kind(self.bypass)
        if len(self.stage_widths) != len(self.blocks_per_stage):
            raise ValueError("stage_widths and blocks_per_stage need one entry per stage")
        if len(self.block_widths) != sum(self.blocks_per_stage):
            raise ValueError(f"block_widths needs {sum(self.blocks_per_stage)} entries, got {len(self.block_widths)}")
        if min(self.stage_widths + self.block_widths) < 1:
            raise ValueError("every width must be at least 1")
        if any(b < a for a, b in zip(self.stage_widths, self.stage_widths[1:], strict=False)):
            raise ValueError("option-A shortcuts zero-pad channels, so stage widths must not decrease")


class ZeroPadShortcut(nn.Module):
    """Option-A shortcut: subsample by ``stride`` and zero-pad channels (split evenly before/after)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.pad_before = (out_channels - in_channels) // 2
        self.pad_after = out_channels - in_channels - self.pad_before

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # [B, C_in, H/s, W/s]
        return F.pad(x, (0, 0, 0, 0, self.pad_before, self.pad_after))  # [B, C_out, H/s, W/s]


def check_bypass_kind(kind: str) -> None:
    if kind not in BYPASS_KINDS:
        raise ValueError(f"bypass must be one of {', '.join(BYPASS_KINDS)}, got {kind!r}")


class BlockBypass(nn.Module):
    """LAPP's lightweight bypass: block input -> block output around conv1 and conv2, + BN.

    ``depthwise``: a 3x3 depthwise conv (each output channel reads one input channel; a widening block
    gives each input channel out/in filters). ``pointwise``: a 1x1 conv. Either way it does not pass
    through the block's inner (prunable) channels, so it carries information however narrow they get,
    and its cost is small beside the two 3x3 convs (depthwise at width 16: 144 vs 4,608 MACs a pixel; 1.9%
    of ResNet-20).
    """

    def __init__(self, kind: str, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if kind == "depthwise":
            if out_channels % in_channels:
                raise ValueError(f"a depthwise bypass needs out_channels a multiple of in_channels ({in_channels})")
            self.conv = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, groups=in_channels, bias=False)
        elif kind == "pointwise":
            self.conv = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
        else:
            raise ValueError(f"unknown bypass kind {kind!r}")
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, H, W] -> [B, C_out, H/s, W/s]
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """Post-activation residual block: relu(bn2(conv2(relu(bn1(conv1(x))))) [+ bypass(x)] + shortcut(x)).

    Shared by the CIFAR and ImageNet ResNets; ``mid_channels`` (conv1's output) is the prunable width.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int,
        shortcut: nn.Module,
        bypass: str = "none",
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut
        self.bypass = None if bypass == "none" else BlockBypass(bypass, in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, H, W]
        y = F.relu(self.bn1(self.conv1(x)))  # [B, C_mid, H/s, W/s]
        y = self.bn2(self.conv2(y))  # [B, C_out, H/s, W/s]
        if self.bypass is not None:
            y = y + self.bypass(x)  # [B, C_out, H/s, W/s]
        return F.relu(y + self.shortcut(x))  # [B, C_out, H/s, W/s]


class CifarResNet(nn.Module):
    def __init__(self, config: CifarResNetConfig) -> None:
        super().__init__()
        self.config = config
        stem_width = config.stage_widths[0]
        self.conv1 = nn.Conv2d(config.in_channels, stem_width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        stages: list[nn.Module] = []
        inner = iter(config.block_widths)
        in_width = stem_width
        for stage, (count, width) in enumerate(zip(config.blocks_per_stage, config.stage_widths, strict=True)):
            blocks = []
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                shortcut: nn.Module = (
                    ZeroPadShortcut(in_width, width, stride) if stride != 1 or in_width != width else nn.Identity()
                )
                blocks.append(BasicBlock(in_width, next(inner), width, stride, shortcut, config.bypass))
                in_width = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(in_width, config.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C_in, H, W]
        x = F.relu(self.bn1(self.conv1(x)))  # [B, 16, H, W]
        x = self.stages(x)  # [B, 64, H/4, W/4]
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # [B, 64]
        return self.fc(x)  # [B, num_classes]


def build_cifar_resnet(config: CifarResNetConfig) -> nn.Module:
    return CifarResNet(config)


def _config_for_depth(blocks: int) -> CifarResNetConfig:
    return CifarResNetConfig(
        blocks_per_stage=(blocks,) * 3,
        stage_widths=(16, 32, 64),
        block_widths=(16,) * blocks + (32,) * blocks + (64,) * blocks,
    )


@register_model("resnet20", build_cifar_resnet)
def resnet20() -> CifarResNetConfig:
    return _config_for_depth(3)


@register_model("resnet32", build_cifar_resnet)
def resnet32() -> CifarResNetConfig:
    return _config_for_depth(5)


@register_model("resnet56", build_cifar_resnet)
def resnet56() -> CifarResNetConfig:
    return _config_for_depth(9)
