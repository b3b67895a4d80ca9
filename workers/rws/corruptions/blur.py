"""Blur corruptions: defocus, glass, motion, zoom and Gaussian blur on float images [N, C, H, W] in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from workers.rws.corruptions import common


def gaussian_blur(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    return common.gaussian_blur(x, sigma).clamp(0, 1)


def defocus_kernel(radius: float, alias_sigma: float) -> torch.Tensor:
    """A disk of ``radius`` pixels, anti-aliased by a small Gaussian (3x3, or 5x5 for radius > 8)."""
    half = 8 if radius <= 8 else int(radius)
    taps = torch.arange(-half, half + 1, dtype=torch.float64)
    disk = ((taps[:, None] ** 2 + taps[None, :] ** 2) <= radius**2).double()
    disk /= disk.sum()
    size = 3 if radius <= 8 else 5
    offsets = torch.arange(size, dtype=torch.float64) - size // 2
    alias = torch.exp(-(offsets**2) / (2 * alias_sigma**2))
    alias /= alias.sum()
    smoothed = common.filter2d(disk.view(1, 1, *disk.shape), torch.outer(alias, alias))
    return common.trim_zero_border(smoothed[0, 0]).float()


def defocus_blur(x: torch.Tensor, params: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    radius, alias_sigma = params
    return common.filter2d(x, defocus_kernel(radius, alias_sigma)).clamp(0, 1)


def glass_blur(x: torch.Tensor, params: tuple[float, int, int], generator: torch.Generator) -> torch.Tensor:
    """Blur, then swap each pixel with a random neighbour up to ``max_delta`` away, then blur again."""
    sigma, max_delta, iterations = params
    n, _, h, w = x.shape
    out = torch.floor(common.gaussian_blur(x, sigma).clamp(0, 1) * 255) / 255  # the reference rounds to uint8
    batch = torch.arange(n)
    for _ in range(iterations):
        for row in range(h - max_delta, max_delta, -1):
            for col in range(w - max_delta, max_delta, -1):
                dx, dy = torch.randint(-max_delta, max_delta, (2, n), generator=generator)
                other_row, other_col = (row + dy).clamp(0, h - 1), (col + dx).clamp(0, w - 1)
                here = out[batch, :, row, col].clone()  # [N, C]
                out[batch, :, row, col] = out[batch, :, other_row, other_col]
                out[batch, :, other_row, other_col] = here
    return common.gaussian_blur(out, sigma).clamp(0, 1)


def motion_blur(x: torch.Tensor, params: tuple[int, float], generator: torch.Generator) -> torch.Tensor:
    """Camera shake along a random direction in [-45, 45] degrees per image."""
    radius, sigma = params
    angles = common.uniform((x.shape[0],), -45.0, 45.0, generator)
    return common.motion_blur(x, int(radius), sigma, angles).clamp(0, 1)


def zoom_blur(x: torch.Tensor, factors: Sequence[float], generator: torch.Generator) -> torch.Tensor:
    """Average of the image and centre zooms of it by each factor (moving towards the camera)."""
    total = x.clone()
    for factor in factors:
        total += common.clipped_zoom(x, factor)
    return (total / (len(factors) + 1)).clamp(0, 1)
