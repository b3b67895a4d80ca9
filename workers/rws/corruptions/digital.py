"""Digital corruptions: contrast, elastic transform, pixelate, JPEG and saturate, on [N, C, H, W] in [0, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from workers.rws.corruptions import common
from workers.rws.corruptions.jpeg import jpeg_round_trip


def contrast(x: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """Pull every channel towards its own mean by ``factor``."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * factor + mean).clamp(0, 1)


def _sample(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of x [N, C, H, W] at pixel coordinates rows/cols [N, H, W], reflecting at borders."""
    h, w = x.shape[-2:]
    grid = torch.stack([cols / max(w - 1, 1) * 2 - 1, rows / max(h - 1, 1) * 2 - 1], dim=-1)  # [N, H, W, 2]
    return F.grid_sample(x, grid.float(), mode="bilinear", padding_mode="reflection", align_corners=True)


def _smooth_field(shape: tuple[int, int, int], sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Uniform(-1, 1) noise [N, H, W] smoothed by a Gaussian of ``sigma`` pixels."""
    field = common.uniform(shape, -1.0, 1.0, generator).float()[:, None]  # [N, 1, H, W]
    return common.gaussian_blur(field, sigma, mode="reflect", truncate=3.0)[:, 0]


def elastic_transform(x: torch.Tensor, params: tuple[float, float, float], generator: torch.Generator) -> torch.Tensor:
    """A random affine jitter of three anchor points, then a smooth random displacement field.

    ``params`` = (alpha, sigma, affine), all as fractions of the image height: displacement magnitude,
    smoothing of the field, and the anchor jitter (0 turns the affine step off, as in ImageNet-C).
    """
    alpha, sigma, affine = (p * x.shape[-2] for p in params)
    n, _, h, w = x.shape
    rows, cols = torch.meshgrid(
        torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
    )
    rows, cols = rows.expand(n, h, w), cols.expand(n, h, w)
    if affine > 0:
        x = _sample(x, *_affine_source(n, h, w, affine, rows, cols, generator))
    if alpha > 0:
        dx = _smooth_field((n, h, w), max(sigma, 1e-3), generator) * alpha
        dy = _smooth_field((n, h, w), max(sigma, 1e-3), generator) * alpha
        x = _sample(x, rows + dy, cols + dx)
    return x.clamp(0, 1)


def _affine_source(
    n: int, h: int, w: int, jitter: float, rows: torch.Tensor, cols: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Source coordinates of the affine map that moves three anchors by up to ``jitter`` pixels."""
    centre = torch.tensor([w // 2, h // 2], dtype=torch.float64)
    half = min(h, w) // 3
    anchors = torch.stack([centre + half, centre + torch.tensor([half, -half]), centre - half])  # [3, (x, y)]
    moved = anchors + common.uniform((n, 3, 2), -jitter, jitter, generator)  # [N, 3, 2]
    ones = torch.ones(n, 3, 1, dtype=torch.float64)
    # Solve [moved, 1] @ A = anchors: A maps destination pixels back to source pixels.
    inverse = torch.linalg.solve(torch.cat([moved, ones], dim=2), anchors.expand(n, 3, 2))  # [N, 3, 2]
    points = torch.stack([cols, rows, torch.ones_like(rows)], dim=-1).double()  # [N, H, W, 3]
    source = torch.einsum("nhwk,nkj->nhwj", points, inverse)
    return source[..., 1].float(), source[..., 0].float()


def box_resize_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """[size_out, size_in] weights of a box filter: each output pixel averages the input span it covers,
    partial pixels weighted by their overlap (Pillow's BOX filter when shrinking)."""
    edges = torch.arange(size_out + 1, dtype=torch.float64) * (size_in / size_out)
    starts, ends = edges[:-1, None], edges[1:, None]
    pixels = torch.arange(size_in, dtype=torch.float64)[None, :]
    overlap = (torch.minimum(ends, pixels + 1) - torch.maximum(starts, pixels)).clamp_min(0)
    return (overlap / overlap.sum(dim=1, keepdim=True)).float()


def pixelate(x: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """Box-downsample to ``factor`` of the size, then blow the blocks back up (nearest neighbour)."""
    h, w = x.shape[-2:]
    rows = box_resize_matrix(h, max(1, int(h * factor)))  # [h', H]
    cols = box_resize_matrix(w, max(1, int(w * factor)))  # [w', W]
    small = rows @ x @ cols.T  # [N, C, h', w']
    return F.interpolate(small, size=(h, w), mode="nearest-exact")


def jpeg_compression(x: torch.Tensor, quality: int, generator: torch.Generator) -> torch.Tensor:
    return jpeg_round_trip(x, int(quality))


def saturate(x: torch.Tensor, params: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    """Scale and shift the HSV saturation; grey images are returned unchanged (they have no hue).

    At fixed hue and value, every RGB channel is ``V - (V - channel) * S'/S``. Grey pixels (S = 0) get
    hue 0 (red) as scikit-image assigns it, so a positive shift tints them red as in the reference.
    """
    gain, shift = params
    if x.shape[1] != 3:
        return x
    value = x.amax(dim=1, keepdim=True)
    low = x.amin(dim=1, keepdim=True)
    saturation = torch.where(value > 0, (value - low) / value.clamp_min(1e-12), torch.zeros_like(value))
    new_saturation = (saturation * gain + shift).clamp(0, 1)
    ratio = new_saturation / saturation.clamp_min(1e-12)
    coloured = value - (value - x) * ratio
    grey_tinted = torch.cat([value, value * (1 - new_saturation), value * (1 - new_saturation)], dim=1)
    return torch.where(saturation > 0, coloured, grey_tinted).clamp(0, 1)
