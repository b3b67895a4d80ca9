"""EMOv2 (Zhang et al., "EMOv2: Pushing 5M Vision Model Frontier", arXiv 2412.06674).

A four-stage mobile network built from one block, the i2RMB (improved inverted residual mobile
block):

    x -> Norm -> F -> depthwise kxk conv (BN, SiLU, inner residual) -> 1x1 projection
      -> LayerScale -> drop path -> + x

F is a 1x1 expansion conv in stages 1-2 and, in stages 3-4, parameter-shared *spanning* window
attention: q, k and v are computed once, then attended within contiguous w x w windows ("close")
and within strided windows that take every (H / w)-th pixel ("remote"); the two results are summed.
The spanning form costs no parameters beyond single-window attention and sees the whole image.
The first block of every stage downsamples (stride-2 depthwise conv, doubled expansion, no
residual). Stages 1-2 normalise with BatchNorm, stages 3-4 with channels-last LayerNorm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from workers.models.zoo import register_model

Attention = Literal["spanning", "close", "remote", "none"]
_NORM_EPS = 1e-6  # every norm in EMOv2 (BatchNorm and LayerNorm) uses eps 1e-6


@dataclass(frozen=True)
class EMOv2Config:
    depths: tuple[int, ...] = (2, 2, 8, 3)  # blocks per stage (the first one downsamples)
    dims: tuple[int, ...] = (32, 48, 80, 180)  # output channels per stage
    expansion: tuple[float, ...] = (2.0, 2.5, 3.0, 3.5)  # lambda: inner width = dim * lambda
    dim_head: tuple[int, ...] = (16, 16, 20, 20)  # q/k channels per head (heads = dim / dim_head)
    drop_path: float = 0.04036  # stochastic depth rate of the last block; rises linearly from 0
    num_classes: int = 1000  # classifier outputs
    in_channels: int = 3  # image channels
    window_size: int = 7  # attention window side; shrinks to the feature map when that is smaller
    attention: Attention = "spanning"  # stages 3-4 mixer: close + remote windows, one kind, or none
    attention_stages: tuple[int, ...] = (2, 3)  # 0-based stages whose blocks use attention
    kernel_size: int = 5  # depthwise conv kernel inside every block
    layer_scale_init: float = 1e-6  # LayerScale initial value

    def example_input_shape(self) -> tuple[int, int, int]:
        # the resolution the published variants are designed and measured at (window 7 = 224 / 32)
        return (self.in_channels, 224, 224)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of a [B, C, H, W] map (computed channels-last)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C, H, W]
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScale2d(nn.Module):
    def __init__(self, dim: int, init_value: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((1, dim, 1, 1), init_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch of a sample with probability ``rate``."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty(x.shape[0], *([1] * (x.ndim - 1))).bernoulli_(keep)
        return x * mask / keep


def conv_bn_act(
    dim_in: int, dim_out: int, kernel: int, stride: int = 1, groups: int = 1, bias: bool = False
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(dim_in, dim_out, kernel, stride, padding=kernel // 2, groups=groups, bias=bias),
        nn.BatchNorm2d(dim_out, eps=_NORM_EPS),
        nn.SiLU(),
    )


class SpanningWindowAttention(nn.Module):
    """Multi-head window attention whose q, k, v are shared by close and remote windows.

    q and k come from one 1x1 conv (dim -> 2 dim); v from a 1x1 conv (dim -> inner) with GELU, so
    the value head width is inner / heads. No output projection: the block's depthwise conv and 1x1
    projection follow. ``kinds`` selects which window layouts are attended and summed.
    """

    def __init__(self, dim: int, inner: int, dim_head: int, window_size: int, kinds: tuple[str, ...]) -> None:
        super().__init__()
        if dim % dim_head or inner % (dim // dim_head):
            raise ValueError(f"dim {dim} / inner {inner} are not divisible into heads of {dim_head}")
        self.heads = dim // dim_head
        self.scale = dim_head**-0.5
        self.window_size = window_size
        self.kinds = kinds
        self.qk = nn.Conv2d(dim, 2 * dim, 1)
        self.v = nn.Sequential(nn.Conv2d(dim, inner, 1), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, C, H, W] -> [B, inner, H, W]
        b, _, h, w = x.shape
        window = (min(self.window_size, h), min(self.window_size, w))
        pad = (0, -w % window[1], 0, -h % window[0])  # right and bottom, up to window multiples
        q, k = F.pad(self.qk(x), pad).chunk(2, dim=1)  # each [B, C, Hp, Wp]
        v = F.pad(self.v(x), pad)  # [B, inner, Hp, Wp]
        # padded positions are never attended to, so padding does not change any output
        valid = F.pad(x.new_ones(b, self.heads, h, w), pad) if any(pad) else None  # [B, heads, Hp, Wp]
        outputs = [self._attend(q, k, v, valid, window, kind) for kind in self.kinds]
        return sum(outputs[1:], outputs[0])[:, :, :h, :w]

    def _attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        valid: torch.Tensor | None,
        window: tuple[int, int],
        kind: str,
    ) -> torch.Tensor:
        """Attention within the ``kind`` windows: [B, C, Hp, Wp] maps -> [B, inner, Hp, Wp]."""
        qw, kw, vw = (self._windows(t, window, kind) for t in (q, k, v))  # [B*n, heads, wh*ww, d]
        scores = (qw @ kw.transpose(-2, -1)) * self.scale  # [B*n, heads, wh*ww, wh*ww]
        if valid is not None:
            key_valid = self._windows(valid, window, kind).transpose(-2, -1)  # [B*n, heads, 1, wh*ww]
            scores = scores.masked_fill(key_valid == 0, torch.finfo(scores.dtype).min)
        return self._merge(scores.softmax(dim=-1) @ vw, v.shape, window, kind)

    def _windows(self, t: torch.Tensor, window: tuple[int, int], kind: str) -> torch.Tensor:
        """[B, heads*d, Hp, Wp] -> [B * windows, heads, wh*ww, d] in the close or remote layout."""
        b, c, hp, wp = t.shape
        wh, ww = window
        nh, nw = hp // wh, wp // ww
        if kind == "close":  # row = window_index * wh + offset: contiguous tiles
            t = t.view(b, self.heads, c // self.heads, nh, wh, nw, ww).permute(0, 3, 5, 1, 4, 6, 2)
        else:  # row = offset * nh + window_index: every nh-th row, a dilated grid over the image
            t = t.view(b, self.heads, c // self.heads, wh, nh, ww, nw).permute(0, 4, 6, 1, 3, 5, 2)
        return t.reshape(b * nh * nw, self.heads, wh * ww, c // self.heads)

    def _merge(self, t: torch.Tensor, shape: torch.Size, window: tuple[int, int], kind: str) -> torch.Tensor:
        """Inverse of ``_windows``: [B * windows, heads, wh*ww, d] -> [B, heads*d, Hp, Wp]."""
        b, c, hp, wp = shape
        wh, ww = window
        nh, nw = hp // wh, wp // ww
        t = t.view(b, nh, nw, self.heads, wh, ww, c // self.heads)
        # close: [B, heads, d, nh, wh, nw, ww]; remote: [B, heads, d, wh, nh, ww, nw]
        order = (0, 3, 6, 1, 4, 2, 5) if kind == "close" else (0, 3, 6, 4, 1, 5, 2)
        return t.permute(order).reshape(b, c, hp, wp)


class I2RMB(nn.Module):
    """The improved inverted residual mobile block (see the module docstring)."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        expansion: float,
        stride: int,
        layer_norm: bool,
        mixer: Attention | Literal["conv"],
        dim_head: int,
        window_size: int,
        kernel_size: int,
        drop_path: float,
        layer_scale_init: float,
    ) -> None:
        super().__init__()
        inner = int(dim_in * expansion)
        self.has_skip = stride == 1 and dim_in == dim_out
        self.norm = LayerNorm2d(dim_in, eps=_NORM_EPS) if layer_norm else nn.BatchNorm2d(dim_in, eps=_NORM_EPS)
        act: type[nn.Module] = nn.GELU if layer_norm else nn.SiLU
        self.mixer: nn.Module
        if mixer in ("conv", "none"):  # a plain 1x1 expansion ("none": the attention ablation)
            self.mixer = nn.Sequential(nn.Conv2d(dim_in, inner, 1), act())
        else:
            kinds = ("close", "remote") if mixer == "spanning" else (mixer,)
            self.mixer = SpanningWindowAttention(dim_in, inner, dim_head, window_size, kinds)
        self.local = conv_bn_act(inner, inner, kernel_size, stride, groups=inner)
        self.proj = nn.Conv2d(inner, dim_out, 1, bias=False)
        self.layer_scale = LayerScale2d(dim_out, layer_scale_init)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, dim_in, H, W]
        y = self.mixer(self.norm(x))  # [B, inner, H, W]
        y = y + self.local(y) if self.has_skip else self.local(y)  # [B, inner, H/s, W/s]
        y = self.layer_scale(self.proj(y))  # [B, dim_out, H/s, W/s]
        return x + self.drop_path(y) if self.has_skip else y


class EMOv2(nn.Module):
    def __init__(self, config: EMOv2Config) -> None:
        super().__init__()
        if not len(config.depths) == len(config.dims) == len(config.expansion) == len(config.dim_head):
            raise ValueError("depths, dims, expansion and dim_head need one entry per stage")
        if config.attention not in ("spanning", "close", "remote", "none"):
            raise ValueError(f"unknown attention {config.attention!r}")
        self.config = config
        stem_dim = config.dims[0] // 2
        self.stem = nn.Sequential(
            conv_bn_act(config.in_channels, stem_dim, 3, stride=2, bias=True),
            conv_bn_act(stem_dim, stem_dim, 3, groups=stem_dim),
            nn.Conv2d(stem_dim, stem_dim, 1, bias=False),
        )
        blocks_total = sum(config.depths)
        rates = [config.drop_path * i / max(1, blocks_total - 1) for i in range(blocks_total)]
        stages, dim_in, index = [], stem_dim, 0
        for stage, (depth, dim) in enumerate(zip(config.depths, config.dims, strict=True)):
            attends = stage in config.attention_stages
            blocks = []
            for i in range(depth):
                first = i == 0
                blocks.append(
                    I2RMB(
                        dim_in,
                        dim,
                        expansion=config.expansion[stage] * (2 if first else 1),
                        stride=2 if first else 1,
                        layer_norm=attends,
                        mixer=config.attention if attends and not first else "conv",
                        dim_head=config.dim_head[stage],
                        window_size=config.window_size,
                        kernel_size=config.kernel_size,
                        drop_path=rates[index],
                        layer_scale_init=config.layer_scale_init,
                    )
                )
                dim_in, index = dim, index + 1
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        last_layer_norm = (len(config.dims) - 1) in config.attention_stages
        self.norm = LayerNorm2d(dim_in, eps=_NORM_EPS) if last_layer_norm else nn.BatchNorm2d(dim_in, eps=_NORM_EPS)
        self.head = nn.Linear(dim_in, config.num_classes)
        self.apply(_init_weights)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, in_channels, H, W] -> [B, dims[-1], H/32, W/32]
        x = self.stem(x)  # [B, dims[0]/2, H/2, W/2]
        for stage in self.stages:
            x = stage(x)  # halves H and W, sets channels to the stage's dim
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, in_channels, H, W] -> logits [B, num_classes]
        features = self.norm(self.forward_features(x))  # [B, dims[-1], H/32, W/32]
        return self.head(features.mean(dim=(2, 3)))  # [B, num_classes]


def _init_weights(module: nn.Module) -> None:
    # linear layers get trunc_normal(0.02), norms start as identity; convs keep PyTorch's default
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.LayerNorm, nn.BatchNorm2d)):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def build_emov2(config: EMOv2Config) -> EMOv2:
    return EMOv2(config)


@register_model("emov2_1m", build_emov2)
def emov2_1m() -> EMOv2Config:
    return EMOv2Config()


@register_model("emov2_2m", build_emov2)
def emov2_2m() -> EMOv2Config:
    return EMOv2Config(depths=(3, 3, 9, 3), dims=(32, 48, 120, 200), expansion=(2.0, 2.5, 3.0, 3.5), drop_path=0.05)


@register_model("emov2_5m", build_emov2)
def emov2_5m() -> EMOv2Config:
    return EMOv2Config(
        depths=(3, 3, 9, 3),
        dims=(48, 72, 160, 288),
        expansion=(2.0, 3.0, 4.0, 4.0),
        dim_head=(16, 24, 32, 32),
        drop_path=0.05,
    )


@register_model("emov2_20m", build_emov2)
def emov2_20m() -> EMOv2Config:
    return EMOv2Config(
        depths=(3, 3, 13, 3),
        dims=(64, 128, 320, 448),
        expansion=(2.0, 3.0, 4.0, 4.0),
        dim_head=(16, 32, 32, 32),
        drop_path=0.1,
    )
