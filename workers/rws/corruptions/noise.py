"""Noise corruptions: Gaussian, shot (Poisson), impulse (salt and pepper) and speckle noise.

Each function takes float images [N, C, H, W] in [0, 1], the severity's parameter and a generator.
"""

from __future__ import annotations

import torch

from workers.rws.corruptions.common import normal


def gaussian_noise(x: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    return (x + normal(x.shape, 0.0, std, generator)).clamp(0, 1)


def shot_noise(x: torch.Tensor, photons: float, generator: torch.Generator) -> torch.Tensor:
    """Photon counting: a pixel of value v receives Poisson(v * photons) photons."""
    return (torch.poisson(x.double() * photons, generator=generator) / photons).clamp(0, 1).float()


def impulse_noise(x: torch.Tensor, amount: float, generator: torch.Generator) -> torch.Tensor:
    """A fraction ``amount`` of the values (each channel on its own) turns black or white, half each."""
    hit = torch.rand(x.shape, generator=generator) < amount
    salt = torch.rand(x.shape, generator=generator) < 0.5
    return torch.where(hit, salt.to(x.dtype), x)


def speckle_noise(x: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Multiplicative noise: v + v * N(0, std)."""
    return (x + x * normal(x.shape, 0.0, std, generator)).clamp(0, 1)
