"""Image operations the corruptions share, batched in torch on float images [N, C, H, W] in [0, 1].

They mirror the helpers of the ImageNet-C / CIFAR-10-C generators (Hendrycks & Dietterich 2019):
Gaussian filtering, 2-d filtering, centre zoom, the shift-and-average motion blur and the diamond-square
plasma fractal; every random draw comes from the ``torch.Generator`` passed in.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def uniform(shape: tuple[int, ...] | list[int], low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64).mul(high - low).add(low)


def normal(shape: tuple[int, ...] | list[int], mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator).mul(std).add(mean)


def gaussian_kernel1d(sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Normalized 1-d Gaussian taps, radius ``truncate * sigma`` as scipy/scikit-image use."""
    radius = max(1, int(truncate * sigma + 0.5))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    return (kernel / kernel.sum()).float()


def _pad(x: torch.Tensor, pad_h: int, pad_w: int, mode: str) -> torch.Tensor:
    if mode == "reflect" and (pad_h >= x.shape[-2] or pad_w >= x.shape[-1]):
        mode = "replicate"  # reflection needs the image to be larger than the padding
    return F.pad(x, (pad_w, pad_w, pad_h, pad_h), mode=mode)


def gaussian_blur(x: torch.Tensor, sigma: float, mode: str = "replicate", truncate: float = 4.0) -> torch.Tensor:
    """Separable Gaussian filter of every channel; ``mode`` "replicate" is scikit-image's default."""
    if sigma <= 0:
        return x
    kernel = gaussian_kernel1d(sigma, truncate).to(x.dtype)
    radius = kernel.numel() // 2
    n, c, h, w = x.shape
    flat = _pad(x.reshape(n * c, 1, h, w), radius, radius, mode)  # [N*C, 1, H+2r, W+2r]
    flat = F.conv2d(flat, kernel.view(1, 1, 1, -1))
    flat = F.conv2d(flat, kernel.view(1, 1, -1, 1))
    return flat.reshape(n, c, h, w)


def filter2d(x: torch.Tensor, kernel: torch.Tensor, mode: str = "reflect") -> torch.Tensor:
    """Correlate every channel with one odd-sized 2-d kernel (OpenCV's filter2D, reflect-101 border)."""
    kh, kw = kernel.shape
    n, c, h, w = x.shape
    flat = _pad(x.reshape(n * c, 1, h, w), kh // 2, kw // 2, mode)
    return F.conv2d(flat, kernel.to(x.dtype).view(1, 1, kh, kw)).reshape(n, c, h, w)


def trim_zero_border(kernel: torch.Tensor) -> torch.Tensor:
    """Drop all-zero outer rings of a centred kernel (symmetric, so the centre stays the centre)."""
    while kernel.shape[0] > 1 and kernel[0].abs().sum() == 0 and kernel[-1].abs().sum() == 0:
        kernel = kernel[1:-1]
    while kernel.shape[1] > 1 and kernel[:, 0].abs().sum() == 0 and kernel[:, -1].abs().sum() == 0:
        kernel = kernel[:, 1:-1]
    return kernel


def clipped_zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom into the image centre by ``factor`` >= 1 (bilinear), keeping the size [N, C, H, W]."""
    _, _, h, w = x.shape
    crop_h, crop_w = math.ceil(h / factor), math.ceil(w / factor)
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    crop = x[:, :, top : top + crop_h, left : left + crop_w]
    size = (max(h, round(crop_h * factor)), max(w, round(crop_w * factor)))
    zoomed = F.interpolate(crop, size=size, mode="bilinear", align_corners=True)
    trim_h, trim_w = (size[0] - h) // 2, (size[1] - w) // 2
    return zoomed[:, :, trim_h : trim_h + h, trim_w : trim_w + w]


def motion_blur(x: torch.Tensor, radius: int, sigma: float, angles_deg: torch.Tensor) -> torch.Tensor:
    """Average of edge-clamped shifts along each image's angle, weighted by a one-sided Gaussian.

    ``angles_deg`` [N]; like the reference, summation stops for an image once a shift leaves the frame.
    """
    n, _, h, w = x.shape
    width = 2 * radius + 1
    taps = torch.arange(width, dtype=torch.float64)
    weights = torch.exp(-(taps**2) / (2 * sigma**2))
    weights = weights / weights.sum()
    radians = torch.deg2rad(angles_deg.double())
    rows, cols = torch.arange(h), torch.arange(w)
    batch = torch.arange(n)[:, None, None]
    out = torch.zeros_like(x)
    inside = torch.ones(n, dtype=torch.bool)
    for i in range(width):
        dy = -torch.ceil(i * torch.sin(radians) - 0.5).long()  # [N]
        dx = -torch.ceil(i * torch.cos(radians) - 0.5).long()
        inside &= (dy.abs() < h) & (dx.abs() < w)
        src_rows = (rows[None, :] - dy[:, None]).clamp(0, h - 1)  # [N, H]
        src_cols = (cols[None, :] - dx[:, None]).clamp(0, w - 1)  # [N, W]
        shifted = x.permute(0, 2, 3, 1)[batch, src_rows[:, :, None], src_cols[:, None, :]]  # [N, H, W, C]
        out += (float(weights[i]) * inside.to(x.dtype))[:, None, None, None] * shifted.permute(0, 3, 1, 2)
    return out


def next_power_of_two(value: int) -> int:
    return 1 if value <= 1 else 1 << (value - 1).bit_length()


def plasma_fractal(count: int, mapsize: int, decay: float, generator: torch.Generator) -> torch.Tensor:
    """Diamond-square height maps [count, mapsize, mapsize] scaled to [0, 1] (``mapsize`` a power of 2)."""
    if mapsize & (mapsize - 1):
        raise ValueError("plasma fractal size must be a power of two")
    height = torch.zeros(count, mapsize, mapsize, dtype=torch.float64)
    step, wibble = mapsize, 100.0

    def wibbled_mean(total: torch.Tensor) -> torch.Tensor:
        return total / 4 + wibble * uniform(total.shape, -wibble, wibble, generator)

    while step >= 2:
        half = step // 2
        corners = height[:, 0::step, 0::step]
        squares = corners + torch.roll(corners, -1, dims=1)
        squares = squares + torch.roll(squares, -1, dims=2)
        height[:, half::step, half::step] = wibbled_mean(squares)
        centres = height[:, half::step, half::step]
        corners = height[:, 0::step, 0::step]
        left = centres + torch.roll(centres, 1, dims=1) + corners + torch.roll(corners, -1, dims=2)
        height[:, 0::step, half::step] = wibbled_mean(left)
        top = centres + torch.roll(centres, 1, dims=2) + corners + torch.roll(corners, -1, dims=1)
        height[:, half::step, 0::step] = wibbled_mean(top)
        step //= 2
        wibble /= decay
    height -= height.amin(dim=(1, 2), keepdim=True)
    return (height / height.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)).float()


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """Luma [N, 1, H, W] (ITU-R 601 weights) of RGB, or the image itself when it has one channel."""
    if x.shape[1] == 1:
        return x
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(1, 3, 1, 1)
    return (x[:, :3] * weights).sum(dim=1, keepdim=True)
