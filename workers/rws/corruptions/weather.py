"""Weather corruptions: snow, frost, fog, brightness and spatter on float images [N, C, H, W] in [0, 1].

Frost differs from the reference generators on purpose: they overlay crops of six bundled photographs of
frost, which patchhub does not ship. Here the frost layer is synthesized per image: a large-scale
coverage map and a rough small-scale grain (both diamond-square plasma fractals) plus ice needles (sparse
seeds smeared along random directions), normalized to the brightness statistics measured on the bundled
photographs the reference samples (mean 0.45-0.85, std ~0.15, bluish tint). The blend weights per
severity are the reference's.
"""

from __future__ import annotations

import torch

from workers.rws.corruptions import common

# Pale turquoise water and mud brown, as RGB in [0, 1] (the reference's colours).
WATER_RGB = (175 / 255, 238 / 255, 238 / 255)
MUD_RGB = (63 / 255, 42 / 255, 20 / 255)
# Per-channel gain of frost relative to its grey level (bundled photographs average R:G:B ~ 0.8:0.93:1).
FROST_TINT = (0.86, 1.0, 1.08)


def _colour(rgb: tuple[float, float, float], channels: int) -> torch.Tensor:
    """[1, C, 1, 1] colour for C=3, its luma for one channel, the luma repeated otherwise."""
    colour = torch.tensor(rgb).view(1, 3, 1, 1)
    if channels == 3:
        return colour
    return common.to_gray(colour).expand(1, channels, 1, 1)


def snow(x: torch.Tensor, params: tuple[float, ...], generator: torch.Generator) -> torch.Tensor:
    """Falling snow: thresholded, zoomed noise smeared by motion blur, over a greyed, brightened image."""
    loc, scale, zoom, threshold, blur_radius, blur_sigma, blend = params
    n, _, h, w = x.shape
    flakes = common.normal((n, 1, h, w), loc, scale, generator)
    flakes = common.clipped_zoom(flakes, zoom)
    flakes = torch.where(flakes < threshold, torch.zeros_like(flakes), flakes).clamp(0, 1)
    angles = common.uniform((n,), -135.0, -45.0, generator)
    flakes = common.motion_blur(flakes, int(blur_radius), blur_sigma, angles)
    flakes = torch.round(flakes * 255) / 255  # [N, 1, H, W]
    washed = blend * x + (1 - blend) * torch.maximum(x, common.to_gray(x) * 1.5 + 0.5)
    return (washed + flakes + torch.rot90(flakes, 2, dims=(2, 3))).clamp(0, 1)


def frost_texture(count: int, channels: int, h: int, w: int, generator: torch.Generator) -> torch.Tensor:
    """Synthetic frost layers [count, channels, H, W] in [0, 1] (see the module docstring)."""
    size = common.next_power_of_two(max(h, w, 2))
    coverage = common.plasma_fractal(count, size, 2.5, generator)[:, None, :h, :w]
    grain = common.plasma_fractal(count, size, 1.3, generator)[:, None, :h, :w]
    needles = torch.zeros(count, 1, h, w)
    for _ in range(3):  # three needle directions per image
        seeds = (torch.rand(count, 1, h, w, generator=generator) < 0.06).float()
        angles = common.uniform((count,), 0.0, 360.0, generator)
        streak = common.motion_blur(seeds, max(2, h // 8), max(1.0, h / 12), angles)
        needles = torch.maximum(needles, streak)
    needles = needles / needles.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    layer = 0.5 * coverage + 0.3 * grain + 0.6 * needles
    mean = layer.mean(dim=(2, 3), keepdim=True)
    std = layer.std(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    target_mean = common.uniform((count, 1, 1, 1), 0.45, 0.85, generator).float()
    grey = ((layer - mean) / std * 0.15 + target_mean).clamp(0, 1)
    tint = _colour(FROST_TINT, 3) if channels == 3 else torch.ones(1, channels, 1, 1)
    return (grey * tint).clamp(0, 1)


def frost(x: torch.Tensor, params: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    image_weight, frost_weight = params
    n, c, h, w = x.shape
    return (image_weight * x + frost_weight * frost_texture(n, c, h, w, generator)).clamp(0, 1)


def fog(x: torch.Tensor, params: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    """Add a plasma-fractal haze and rescale so the brightest pixel keeps its value before clipping."""
    strength, decay = params
    n, _, h, w = x.shape
    size = common.next_power_of_two(max(h, w, 2))
    haze = common.plasma_fractal(n, size, decay, generator)[:, None, :h, :w]  # [N, 1, H, W]
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    return ((x + strength * haze) * peak / (peak + strength)).clamp(0, 1)


def brightness(x: torch.Tensor, shift: float, generator: torch.Generator) -> torch.Tensor:
    """Raise the HSV value channel by ``shift``: hue and saturation stay, RGB scales with V."""
    value = x.amax(dim=1, keepdim=True)
    raised = (value + shift).clamp(0, 1)
    scaled = x * raised / value.clamp_min(1e-12)
    return torch.where(value > 0, scaled, raised.expand_as(x)).clamp(0, 1)


def spatter(x: torch.Tensor, params: tuple[float, ...], generator: torch.Generator) -> torch.Tensor:
    """Water drops (shaded, pale turquoise) or mud splashes (opaque brown) on the lens.

    Mud follows the reference exactly. For water the reference shades drops with OpenCV's Canny edges and
    a distance transform; here the shading is an emboss of the soft drop mask, which gives the same
    look (bright rims on one side) without OpenCV.
    """
    loc, scale, sigma, threshold, strength, is_mud = params
    n, c, h, w = x.shape
    liquid = common.gaussian_blur(common.normal((n, 1, h, w), loc, scale, generator), sigma)
    liquid = torch.where(liquid < threshold, torch.zeros_like(liquid), liquid)  # [N, 1, H, W]
    if is_mud:
        mask = common.gaussian_blur((liquid > threshold).float(), strength)
        mask = torch.where(mask < 0.8, torch.zeros_like(mask), mask)
        return (x * (1 - mask) + _colour(MUD_RGB, c) * mask).clamp(0, 1)
    soft = common.gaussian_blur((liquid > 0).float(), 1.0)
    emboss = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
    relief = common.gaussian_blur(common.filter2d(soft, emboss).clamp_min(0), 0.5)
    relief = relief / relief.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    # Dim interiors, bright lit rims: calibrated so the mean change per covered pixel is near the reference's.
    drops = liquid * soft * (0.15 + 0.6 * relief)
    drops = drops / drops.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12) * strength
    return (x + drops * _colour(WATER_RGB, c)).clamp(0, 1)
