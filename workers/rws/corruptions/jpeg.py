"""Baseline JPEG compression and decompression in torch (the lossy part of the codec, batched).

Follows ITU-T T.81 / libjpeg as Pillow uses it: JFIF RGB -> YCbCr, 2x2 chroma subsampling (4:2:0), level
shift, 8x8 orthonormal DCT-II, quantization with the Annex K tables scaled by the IJG quality formula,
then the inverse path with bilinear chroma upsampling. Entropy coding is lossless and therefore skipped.
One channel is coded as luminance only; other channel counts code each channel as luminance.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LUMA_TABLE = torch.tensor(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=torch.float32,
)
CHROMA_TABLE = torch.full((8, 8), 99.0)
CHROMA_TABLE[:4, :4] = torch.tensor(
    [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]], dtype=torch.float32
)


def quality_table(base: torch.Tensor, quality: int) -> torch.Tensor:
    """IJG scaling: quality 50 keeps the table, lower multiplies it, higher shrinks it."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return torch.floor((base * scale + 50) / 100).clamp(1, 255)


def _dct_matrix() -> torch.Tensor:
    k = torch.arange(8, dtype=torch.float64)
    matrix = torch.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    matrix[0] /= math.sqrt(2)
    return matrix.float()  # [8, 8], orthonormal: D @ D.T = I


DCT = _dct_matrix()


def _code_plane(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """DCT-quantize-dequantize-IDCT one plane [N, H, W] (H, W multiples of 8) of 0..255 samples."""
    n, h, w = plane.shape
    blocks = (plane - 128).reshape(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)  # [N, bh, bw, 8, 8]
    coefficients = DCT @ blocks @ DCT.T
    quantized = torch.round(coefficients / table) * table
    restored = DCT.T @ quantized @ DCT + 128
    return restored.permute(0, 1, 3, 2, 4).reshape(n, h, w)


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple), mode="replicate")


def jpeg_round_trip(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Float images [N, C, H, W] in [0, 1] -> what a JPEG at ``quality`` decodes to, in [0, 1]."""
    luma_q = quality_table(LUMA_TABLE, quality)
    _, c, h, w = x.shape
    samples = _pad_to(torch.round(x * 255), 16)  # [N, C, H16, W16], integer samples as an encoder sees
    if c != 3:
        planes = [_code_plane(samples[:, i], luma_q) for i in range(c)]
        decoded = torch.stack(planes, dim=1)
    else:
        red, green, blue = samples.unbind(1)
        luma = 0.299 * red + 0.587 * green + 0.114 * blue
        blue_diff = -0.168736 * red - 0.331264 * green + 0.5 * blue + 128
        red_diff = 0.5 * red - 0.418688 * green - 0.081312 * blue + 128
        chroma = torch.stack([blue_diff, red_diff], dim=1)  # [N, 2, H16, W16]
        small = F.avg_pool2d(chroma, 2)  # 4:2:0 subsampling
        chroma_q = quality_table(CHROMA_TABLE, quality)
        coded_small = torch.stack([_code_plane(small[:, i], chroma_q) for i in range(2)], dim=1)
        coded_chroma = F.interpolate(coded_small, scale_factor=2, mode="bilinear", align_corners=False)
        coded_luma = torch.round(_code_plane(luma, luma_q)).clamp(0, 255)
        cb, cr = (torch.round(coded_chroma).clamp(0, 255) - 128).unbind(1)
        decoded = torch.stack(
            [coded_luma + 1.402 * cr, coded_luma - 0.344136 * cb - 0.714136 * cr, coded_luma + 1.772 * cb], dim=1
        )
    return (torch.round(decoded).clamp(0, 255)[:, :, :h, :w] / 255).float()
