"""The ImageNet-C / CIFAR-10-C corruptions (Hendrycks & Dietterich, ICLR 2019), batched in torch.

``corrupt(images, name, severity, seed)`` maps uint8 images [N, C, H, W] to corrupted uint8 images of the
same shape, deterministically for a given seed. Two parameter tables exist per corruption:

* ``"cifar"`` (default): the severities of CIFAR-10-C, made for 32x32 images (what RWS trains on).
* ``"imagenet"``: the severities of ImageNet-C as the ``imagecorruptions`` package applies them.

The 15 benchmark corruptions plus the 4 held-out ones (speckle noise, Gaussian blur, spatter, saturate)
are registered in ``CORRUPTIONS``. Deviations from the reference generators: frost uses a synthesized
texture (no bundled photographs), the water form of spatter shades drops with an emboss instead of
OpenCV's edge/distance transform, motion blur uses the shift-and-average kernel everywhere (CIFAR-10-C
used ImageMagick), and outputs are rounded, not truncated, to uint8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from workers.rws.corruptions import blur, digital, noise, weather

CorruptionFn = Callable[[torch.Tensor, Any, torch.Generator], torch.Tensor]
PRESETS = ("cifar", "imagenet")
SEVERITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Corruption:
    name: str
    group: str  # "noise", "blur", "weather" or "digital" (the benchmark's grouping)
    apply: CorruptionFn  # float [N, C, H, W] in [0, 1], severity parameter, generator -> same shape
    cifar: Sequence[Any]  # the parameter of severity 1..5 on CIFAR-10-C
    imagenet: Sequence[Any]  # the parameter of severity 1..5 on ImageNet-C
    benchmark: bool = True  # one of the 15 benchmark corruptions (False: held-out validation ones)

    def parameter(self, severity: int, preset: str) -> Any:
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be an integer in 1..5, got {severity!r}")
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
        table = self.cifar if preset == "cifar" else self.imagenet
        return table[severity - 1]


def _zooms(last: float, step: float) -> tuple[float, ...]:
    return tuple(1 + i * step for i in range(round((last - 1) / step) + 1))


_ALL = [
    Corruption("gaussian_noise", "noise", noise.gaussian_noise,
               (0.04, 0.06, 0.08, 0.09, 0.10), (0.08, 0.12, 0.18, 0.26, 0.38)),
    Corruption("shot_noise", "noise", noise.shot_noise, (500, 250, 100, 75, 50), (60, 25, 12, 5, 3)),
    Corruption("impulse_noise", "noise", noise.impulse_noise,
               (0.01, 0.02, 0.03, 0.05, 0.07), (0.03, 0.06, 0.09, 0.17, 0.27)),
    Corruption("defocus_blur", "blur", blur.defocus_blur,
               ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
               ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5))),
    Corruption("glass_blur", "blur", blur.glass_blur,
               ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
               ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2))),
    Corruption("motion_blur", "blur", blur.motion_blur,
               ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)), ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))),
    Corruption("zoom_blur", "blur", blur.zoom_blur,
               tuple(_zooms(last, 0.01) for last in (1.05, 1.10, 1.15, 1.20, 1.25)),
               (_zooms(1.10, 0.01), _zooms(1.15, 0.01), _zooms(1.20, 0.02), _zooms(1.24, 0.02), _zooms(1.30, 0.03))),
    Corruption("snow", "weather", weather.snow,
               ((0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9), (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
                (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85), (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)),
               ((0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7), (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
                (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65), (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55))),
    Corruption("frost", "weather", weather.frost,
               ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
               ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75))),
    Corruption("fog", "weather", weather.fog,
               ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
               ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))),
    Corruption("brightness", "weather", weather.brightness,
               (0.05, 0.1, 0.15, 0.2, 0.3), (0.1, 0.2, 0.3, 0.4, 0.5)),
    Corruption("contrast", "digital", digital.contrast, (0.75, 0.5, 0.4, 0.3, 0.15), (0.4, 0.3, 0.2, 0.1, 0.05)),
    Corruption("elastic_transform", "digital", digital.elastic_transform,
               ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)),
               tuple((0.005 * 250 * a, 0.01, 0.0) for a in (0.05, 0.065, 0.085, 0.1, 0.12))),
    Corruption("pixelate", "digital", digital.pixelate,
               (0.95, 0.9, 0.85, 0.75, 0.65), (0.6, 0.5, 0.4, 0.3, 0.25)),
    Corruption("jpeg_compression", "digital", digital.jpeg_compression, (80, 65, 58, 50, 40), (25, 18, 15, 10, 7)),
    Corruption("speckle_noise", "noise", noise.speckle_noise,
               (0.06, 0.1, 0.12, 0.16, 0.2), (0.15, 0.2, 0.35, 0.45, 0.6), benchmark=False),
    Corruption("gaussian_blur", "blur", blur.gaussian_blur, (0.4, 0.6, 0.7, 0.8, 1), (1, 2, 3, 4, 6), benchmark=False),
    Corruption("spatter", "weather", weather.spatter,
               ((0.62, 0.1, 0.7, 0.7, 0.5, 0), (0.65, 0.1, 0.8, 0.7, 0.5, 0), (0.65, 0.3, 1, 0.69, 0.5, 0),
                (0.65, 0.1, 0.7, 0.69, 0.6, 1), (0.65, 0.1, 0.5, 0.68, 0.6, 1)),
               ((0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0), (0.65, 0.3, 2, 0.68, 0.5, 0),
                (0.65, 0.3, 1, 0.65, 1.5, 1), (0.67, 0.4, 1, 0.65, 1.5, 1)),
               benchmark=False),
    Corruption("saturate", "digital", digital.saturate,
               ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)), ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
               benchmark=False),
]  # fmt: skip

CORRUPTIONS: dict[str, Corruption] = {c.name: c for c in _ALL}
BENCHMARK_CORRUPTIONS: tuple[str, ...] = tuple(c.name for c in _ALL if c.benchmark)


def corrupt(
    images: torch.Tensor, name: str, severity: int, seed: int, preset: str = "cifar", batch_size: int = 512
) -> torch.Tensor:
    """uint8 [N, C, H, W] -> corrupted uint8 [N, C, H, W]; the same (seed, batch_size) gives the same bytes."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError("images must be a uint8 tensor of shape [N, C, H, W]")
    corruption = CORRUPTIONS[name]
    parameter = corruption.parameter(severity, preset)
    generator = torch.Generator().manual_seed(int(seed))
    outputs = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size].float() / 255  # [B, C, H, W]
            corrupted = corruption.apply(batch, parameter, generator)
            outputs.append(torch.round(corrupted.clamp(0, 1) * 255).to(torch.uint8))
    if not outputs:
        return images.clone()
    return torch.cat(outputs)


def corrupt_dataset(dataset: Any, name: str, severity: int, seed: int, preset: str = "cifar") -> Any:
    """The ``corrupt_dataset`` job: an ``ImageDataset`` with every image corrupted, labels unchanged."""
    from workers.data.dataset import ImageDataset

    return ImageDataset(
        corrupt(dataset.images, name, severity, seed, preset),
        dataset.labels.clone(),
        dataset.num_classes,
        dataset.class_names,
    )
