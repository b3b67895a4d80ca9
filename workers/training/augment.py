"""Batched training augmentation in torch: pad-crop, horizontal flip and RandAugment.

All functions take and return float tensors [B, C, H, W] holding pixel values on the 0..255 scale,
and draw every random choice from the caller's ``torch.Generator`` so a seeded run repeats exactly.
RandAugment follows timm's "rand-m{M}" policy: each image gets ``num_ops`` ops drawn uniformly from
the list below, each applied with probability 0.5 at magnitude M/10 with a random sign.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from workers.training.config import TrainConfig

_APPLY_PROBABILITY = 0.5  # timm applies each chosen op with this probability


def augment_batch(images: torch.Tensor, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """uint8 or float [B, C, H, W] -> augmented float [B, C, H, W] on the 0..255 scale."""
    x = images.float()
    if config.augmentation == "none":
        return x
    x = random_pad_crop(x, config.crop_padding, generator)
    if config.flip:
        x = random_flip(x, generator)
    if config.augmentation == "randaugment":
        x = rand_augment(x, config.randaugment_ops, config.randaugment_magnitude / 10.0, generator)
    return x


def random_pad_crop(x: torch.Tensor, padding: float, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to ``padding`` x side pixels in each direction, filling with zeros."""
    b, _, h, w = x.shape
    pad_h, pad_w = round(padding * h), round(padding * w)
    if pad_h == 0 and pad_w == 0:
        return x
    padded = F.pad(x, (pad_w, pad_w, pad_h, pad_h))  # [B, C, H + 2ph, W + 2pw]
    top = torch.randint(0, 2 * pad_h + 1, (b,), generator=generator)
    left = torch.randint(0, 2 * pad_w + 1, (b,), generator=generator)
    rows = (top[:, None] + torch.arange(h)).to(x.device)  # [B, H]
    cols = (left[:, None] + torch.arange(w)).to(x.device)  # [B, W]
    batch = torch.arange(b, device=x.device)[:, None, None]
    crops = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    return crops.permute(0, 3, 1, 2).contiguous()


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def rand_augment(x: torch.Tensor, num_ops: int, magnitude: float, generator: torch.Generator) -> torch.Tensor:
    """Apply ``num_ops`` rounds of randomly chosen ops; ``magnitude`` is on the 0..1 scale."""
    x = x.clone()
    b = x.shape[0]
    for _ in range(num_ops):
        choice = torch.randint(0, len(RAND_AUGMENT_OPS), (b,), generator=generator).to(x.device)
        applied = (torch.rand(b, generator=generator) < _APPLY_PROBABILITY).to(x.device)
        sign = (torch.randint(0, 2, (b,), generator=generator) * 2 - 1).float().to(x.device)
        for index, op in enumerate(RAND_AUGMENT_OPS):
            selected = applied & (choice == index)
            if selected.any():
                x[selected] = op(x[selected], magnitude, sign[selected]).clamp(0.0, 255.0)
    return x


# Each op: (images [n, C, H, W] on 0..255, magnitude in 0..1, sign [n] of +-1) -> images.
Op = Callable[[torch.Tensor, float, torch.Tensor], torch.Tensor]


def auto_contrast(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    low = x.amin(dim=(2, 3), keepdim=True)
    high = x.amax(dim=(2, 3), keepdim=True)
    scale = torch.where(high > low, 255.0 / (high - low).clamp_min(1e-6), torch.ones_like(high))
    return torch.where(high > low, (x - low) * scale, x)


def equalize(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    """Per-channel histogram equalisation with PIL's lookup-table rule."""
    n, c, h, w = x.shape
    values = x.round().clamp(0, 255).long().flatten(2)  # [n, C, HW]
    hist = torch.zeros(n, c, 256, device=x.device).scatter_add_(2, values, torch.ones_like(values, dtype=x.dtype))
    last_bin = 255 - (hist.flip(-1) > 0).float().argmax(-1, keepdim=True)  # [n, C, 1]
    step = torch.div(h * w - hist.gather(2, last_bin), 255, rounding_mode="floor")  # [n, C, 1]
    before = hist.cumsum(-1) - hist  # pixels strictly below each bin
    lut = torch.div(before + torch.div(step, 2, rounding_mode="floor"), step.clamp_min(1), rounding_mode="floor")
    lut = torch.where(step > 0, lut.clamp(max=255), torch.arange(256, device=x.device, dtype=x.dtype))
    return lut.gather(2, values).view(n, c, h, w)


def invert(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    return 255.0 - x


def posterize(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    bucket = 2.0 ** round(4 * m)  # keep 8 - round(4m) bits: 4 bits at full magnitude
    return torch.div(x.round(), bucket, rounding_mode="floor") * bucket


def solarize(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    threshold = 256.0 - 256.0 * m
    return torch.where(x >= threshold, 255.0 - x, x)


def solarize_add(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    return torch.where(x < 128.0, x + 110.0 * m, x)


def brightness(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    return _blend(x, torch.zeros_like(x), 1.0 + 0.9 * m * sign)


def color(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    return _blend(x, _grey(x).expand_as(x), 1.0 + 0.9 * m * sign)


def contrast(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    return _blend(x, _grey(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x), 1.0 + 0.9 * m * sign)


def sharpness(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    kernel = torch.ones(3, 3, device=x.device, dtype=x.dtype)
    kernel[1, 1] = 5.0
    kernel = (kernel / kernel.sum()).expand(c, 1, 3, 3)
    smooth = x.clone()
    smooth[:, :, 1:-1, 1:-1] = F.conv2d(x, kernel, groups=c)  # PIL leaves the border untouched
    return _blend(x, smooth, 1.0 + 0.9 * m * sign)


def rotate(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    angle = sign * math.radians(30.0 * m)
    cos, sin = angle.cos(), angle.sin()
    return _affine(x, cos, -sin, sin, cos, torch.zeros_like(cos), torch.zeros_like(cos))


def shear_x(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(sign), torch.zeros_like(sign)
    return _affine(x, one, 0.3 * m * sign, zero, one, zero, zero)


def shear_y(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(sign), torch.zeros_like(sign)
    return _affine(x, one, zero, 0.3 * m * sign, one, zero, zero)


def translate_x(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(sign), torch.zeros_like(sign)
    return _affine(x, one, zero, zero, one, 0.45 * m * sign * x.shape[3], zero)


def translate_y(x: torch.Tensor, m: float, sign: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(sign), torch.zeros_like(sign)
    return _affine(x, one, zero, zero, one, zero, 0.45 * m * sign * x.shape[2])


RAND_AUGMENT_OPS: tuple[Op, ...] = (
    auto_contrast,
    equalize,
    invert,
    rotate,
    posterize,
    solarize,
    solarize_add,
    color,
    contrast,
    brightness,
    sharpness,
    shear_x,
    shear_y,
    translate_x,
    translate_y,
)


def _blend(image: torch.Tensor, degenerate: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    # PIL ImageEnhance: factor 0 gives the degenerate image, 1 the original, >1 extrapolates.
    return degenerate + factor.view(-1, 1, 1, 1) * (image - degenerate)


def _grey(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * weights).sum(1, keepdim=True)
    return x.mean(1, keepdim=True)


def _affine(
    x: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    d: torch.Tensor,
    tx: torch.Tensor,
    ty: torch.Tensor,
) -> torch.Tensor:
    """Sample x at [[a, b], [c, d]] @ (column, row) + (tx, ty), in pixel units about the centre.

    Each argument is [n]; pixels mapped from outside the image are zero.
    """
    h, w = x.shape[2], x.shape[3]
    # pixel-space map -> the normalised [-1, 1] coordinates affine_grid uses
    theta = torch.stack(
        [
            torch.stack([a, b * h / w, 2.0 * tx / w], dim=-1),
            torch.stack([c * w / h, d, 2.0 * ty / h], dim=-1),
        ],
        dim=1,
    ).to(x.dtype)  # [n, 2, 3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
