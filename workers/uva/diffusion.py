"""Small per-vector diffusion heads (MAR / UVA style): an AdaLN MLP denoiser and a DDPM cosine schedule.

A head models p(x | z) for many independent vectors x (a video token's pixels, one action) given a
conditioning vector z from the transformer. Training draws t uniformly from ``train_steps`` (1000 in
the paper) and regresses the noise; sampling runs ancestral DDPM over ``sample_steps`` evenly respaced
timesteps (100 in the paper).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def cosine_alphas_cumprod(steps: int, offset: float = 0.008) -> Tensor:
    """Improved-DDPM cosine schedule: alpha_bar(t) for t = 0..steps-1, betas capped at 0.999."""
    grid = torch.arange(steps + 1, dtype=torch.float64) / steps
    alpha_bar = torch.cos((grid + offset) / (1 + offset) * math.pi / 2) ** 2
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0)


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal embedding [N, dim] of (possibly fractional) timesteps [N]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
    return nn.functional.pad(embedding, (0, dim % 2))


def _zero(module: nn.Module) -> None:
    for parameter in module.parameters():
        nn.init.zeros_(parameter)


class AdaLNResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 3 * width))
        _zero(self.modulation[-1])  # blocks start as the identity (DiT's adaLN-zero)

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        shift, scale, gate = self.modulation(condition).chunk(3, dim=-1)
        return x + gate * self.mlp(self.norm(x) * (1 + scale) + shift)


class AdaLNMLP(nn.Module):
    """Denoiser eps(x_t, t, z): residual MLP blocks modulated (AdaLN) by time + condition embeddings."""

    def __init__(self, channels: int, cond_channels: int, width: int, depth: int) -> None:
        super().__init__()
        self.time_embed = nn.Sequential(nn.Linear(256, width), nn.SiLU(), nn.Linear(width, width))
        self.cond_embed = nn.Linear(cond_channels, width)
        self.input_proj = nn.Linear(channels, width)
        self.blocks = nn.ModuleList(AdaLNResBlock(width) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.output = nn.Linear(width, channels)
        _zero(self.final_modulation[-1])
        _zero(self.output)

    def forward(self, x: Tensor, t: Tensor, z: Tensor) -> Tensor:
        # x: [N, channels] noisy vectors, t: [N] timesteps, z: [N, cond_channels] -> eps [N, channels]
        condition = self.time_embed(timestep_embedding(t, 256)) + self.cond_embed(z)
        h = self.input_proj(x)
        for block in self.blocks:
            h = block(h, condition)
        shift, scale = self.final_modulation(condition).chunk(2, dim=-1)
        return self.output(self.final_norm(h) * (1 + scale) + shift)


class DiffusionHead(nn.Module):
    """Noise-prediction diffusion over vectors of ``channels`` values in [-1, 1], conditioned on z."""

    alphas_cumprod: Tensor  # [train_steps] buffer

    def __init__(
        self, channels: int, cond_channels: int, width: int, depth: int, train_steps: int, sample_steps: int
    ) -> None:
        super().__init__()
        self.channels = channels
        self.train_steps = train_steps
        self.sample_steps = min(sample_steps, train_steps)
        self.denoiser = AdaLNMLP(channels, cond_channels, width, depth)
        self.register_buffer("alphas_cumprod", cosine_alphas_cumprod(train_steps).float(), persistent=False)

    def loss(self, target: Tensor, z: Tensor, batch_mul: int = 1) -> Tensor:
        """Per-vector noise-regression loss [N] (averaged over ``batch_mul`` noise draws)."""
        # target: [N, channels], z: [N, cond_channels]
        target_rep, z_rep = target.repeat(batch_mul, 1), z.repeat(batch_mul, 1)
        t = torch.randint(0, self.train_steps, (target_rep.shape[0],), device=target.device)
        alpha_bar = self.alphas_cumprod[t][:, None]
        noise = torch.randn_like(target_rep)
        noisy = alpha_bar.sqrt() * target_rep + (1 - alpha_bar).sqrt() * noise
        per_vector = ((self.denoiser(noisy, t, z_rep) - noise) ** 2).mean(dim=-1)
        return per_vector.view(batch_mul, -1).mean(dim=0)

    @torch.no_grad()
    def sample(self, z: Tensor, temperature: float = 1.0, clip: bool = True) -> Tensor:
        """Ancestral DDPM sampling over the respaced timesteps: z [N, cond] -> x [N, channels]."""
        timesteps = torch.linspace(0, self.train_steps - 1, self.sample_steps).round().long().tolist()
        x = torch.randn(z.shape[0], self.channels, device=z.device) * temperature
        for index in reversed(range(len(timesteps))):
            t = timesteps[index]
            alpha_bar = self.alphas_cumprod[t]
            alpha_bar_prev = self.alphas_cumprod[timesteps[index - 1]] if index > 0 else alpha_bar.new_tensor(1.0)
            beta = 1 - alpha_bar / alpha_bar_prev  # the respaced step's beta
            eps = self.denoiser(x, torch.full((x.shape[0],), t, device=z.device), z)
            x0 = (x - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()
            if clip:
                x0 = x0.clamp(-1.0, 1.0)
            mean = (alpha_bar_prev.sqrt() * beta * x0 + (1 - beta).sqrt() * (1 - alpha_bar_prev) * x) / (1 - alpha_bar)
            if index > 0:
                variance = beta * (1 - alpha_bar_prev) / (1 - alpha_bar)
                x = mean + variance.sqrt() * temperature * torch.randn_like(x)
            else:
                x = mean
        return x
