"""FLOPs in the fvcore convention that mobile-vision papers (EMOv2, EfficientFormer...) report.

fvcore (used by the EMOv2, EfficientFormer, MobileViT... logs) counts one fused multiply-add as
one FLOP for convolutions, matmuls and linear layers, 2 per element for an inference BatchNorm and
5 per element for an affine LayerNorm, and nothing for activations, softmax or additions. PyTorch's
``FlopCounterMode`` counts a multiply-add as 2 FLOPs and skips norms, so ``count_flops`` halves its
total and adds the fvcore norm terms back. (``workers.models.flops`` counts MACs without norms,
the pruning papers' convention.)
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """fvcore-convention FLOPs of one inference forward pass on a zero input of ``input_shape``."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    counter = FlopCounterMode(display=False, custom_mapping=_NORM_FLOPS)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(input_shape, device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2  # FlopCounterMode counts 2 per multiply-add


# FlopCounterMode calls these with tensor arguments replaced by their shapes. They return twice
# the fvcore count because the total is halved above.
def _batch_norm_inference(input_shape: Any, weight: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return 2 * (2 if weight is not None else 1) * math.prod(input_shape)


def _layer_norm(
    input_shape: Any, normalized_shape: Any, weight: Any, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    return 2 * (5 if weight is not None else 4) * math.prod(input_shape)


_NORM_FLOPS = {
    torch.ops.aten._native_batch_norm_legit_no_training: _batch_norm_inference,
    torch.ops.aten.native_layer_norm: _layer_norm,
}
