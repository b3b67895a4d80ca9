"""Multiply-accumulates, FLOPs and parameters of any zoo model at a given input.

Convention (the one most pruning papers and torch.utils.flop_counter use):
- one MAC is one multiply-accumulate of a convolution, linear layer or matrix product;
- FLOPs = 2 * MACs;
- biases, BatchNorm, activations, pooling, residual adds and softmax are not counted.
So ResNet-20 at 32x32 is 40.55M MACs (often quoted as "41M FLOPs" under the 1 MAC = 1 FLOP
convention) and ResNet-18 at 224x224 is 1.82G MACs.

Counting is done on a real forward pass. ``nn.Conv*`` and ``nn.Linear`` modules are counted from
their hooks (which also gives a per-layer breakdown); matrix products written functionally inside
other modules (attention: ``@``, ``matmul``, ``bmm``, ``einsum``, ``scaled_dot_product_attention``,
functional ``linear``/``conv``) are caught by a ``TorchFunctionMode`` and charged to the innermost
module that called them. Python-level composites whose internals cannot be seen this way (e.g.
``F.multi_head_attention_forward``) raise instead of being silently skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from workers.models.zoo import config_to_json, create_model, model_config

# Per-sample input side for the image classifiers defined here; other families describe their input
# through their config (an ``example_input_shape()`` method, or ``in_channels`` plus ``image_size``).
_INPUT_SIDE: dict[str, int] = {"resnet20": 32, "resnet32": 32, "resnet56": 32, "vgg16": 32, "resnet18": 224}

ModelCall = Callable[[nn.Module], Any]  # runs one representative inference of a model


class UncountedOperation(ValueError):
    """The model uses an operation this counter cannot attribute MACs to; it refuses rather than undercount."""


def _uva_policy_call(config: Any, batch_size: int) -> ModelCall:
    # UVA has no forward(): its inference is policy sampling from history frames [B, F, C, H, W].
    history = torch.rand(batch_size, config.num_frames, config.in_channels, config.image_size, config.image_size)
    return lambda model: getattr(model, "sample_actions")(history * 2 - 1)  # noqa: B009


# Families whose inference is not ``model(images)``: name -> (config, batch size) -> call.
_EXAMPLE_CALLS: dict[str, Callable[[Any, int], ModelCall]] = {"uva": _uva_policy_call}


@dataclass(frozen=True)
class LayerCost:
    name: str  # dotted module path ("" for the root module)
    op: str  # what was counted: "conv", "linear", "matmul", "einsum", "attention"
    macs: int  # multiply-accumulates of this call, for the whole batch


@dataclass(frozen=True)
class CostReport:
    macs: int  # total multiply-accumulates for one forward pass of the given input
    params: int  # trainable and frozen parameters (shared tensors counted once)
    layers: tuple[LayerCost, ...]  # every counted call, in execution order

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def macs_by_layer(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for layer in self.layers:
            totals[layer.name] = totals.get(layer.name, 0) + layer.macs
        return totals


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def example_input_shape(name: str, config: Any = None) -> tuple[int, ...]:
    """Per-sample input shape (no batch dimension) at which zoo model ``name`` is measured."""
    config = model_config(name) if config is None else config
    if hasattr(config, "example_input_shape"):
        return tuple(config.example_input_shape())
    if name in _INPUT_SIDE:
        side = _INPUT_SIDE[name]
        return (config.in_channels, side, side)
    if hasattr(config, "in_channels") and hasattr(config, "image_size"):
        return (config.in_channels, config.image_size, config.image_size)
    raise LookupError(
        f"no example input known for model {name!r}: give its config an example_input_shape() method "
        "or in_channels and image_size fields"
    )


def example_call(name: str, config: Any = None, batch_size: int = 1) -> ModelCall:
    """A representative inference of zoo model ``name``: ``model(images)`` at its example input, or
    the family's own inference entry point for models without a plain ``forward``."""
    config = model_config(name) if config is None else config
    if name in _EXAMPLE_CALLS:
        return _EXAMPLE_CALLS[name](config, batch_size)
    example = torch.randn(batch_size, *example_input_shape(name, config))
    return lambda model: model(example)


def model_costs(name: str, config: Any = None, batch_size: int = 1) -> CostReport:
    """Costs of zoo model ``name`` (default config unless given) for one example inference."""
    config = model_config(name) if config is None else config
    model = create_model(name, **config_to_json(config))
    return count_costs(model, example_call(name, config, batch_size))


@torch.no_grad()
def count_costs(model: nn.Module, example: torch.Tensor | ModelCall) -> CostReport:
    """Run ``model`` once in eval mode and count its MACs and parameters.

    ``example`` is an input batch for ``model(example)`` or a callable running any inference of it.
    """
    run: ModelCall = example if callable(example) else (lambda m: m(example))
    counter = _Counter()
    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(counter.enter(name, module)))
        handles.append(module.register_forward_hook(counter.leave(module)))
    was_training = model.training
    model.eval()
    try:
        with counter:
            run(model)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    layers = tuple(counter.layers)
    return CostReport(macs=sum(layer.macs for layer in layers), params=count_parameters(model), layers=layers)


class _Counter(TorchFunctionMode):
    """Module hooks for conv/linear layers plus a function mode for functional matrix products."""

    def __init__(self) -> None:
        super().__init__()
        self.layers: list[LayerCost] = []
        self.scope: list[str] = []  # names of the modules currently running, outermost first
        self.inside_counted_module = 0  # >0 while a hooked conv/linear runs its own functional op

    def enter(self, name: str, module: nn.Module) -> Callable[..., None]:
        def hook(_module: nn.Module, _args: Any) -> None:
            self.scope.append(name)
            if isinstance(module, _COUNTED_MODULES):
                self.inside_counted_module += 1

        return hook

    def leave(self, module: nn.Module) -> Callable[..., None]:
        def hook(_module: nn.Module, args: Any, output: Any) -> None:
            name = self.scope.pop()
            if isinstance(module, _COUNTED_MODULES):
                self.inside_counted_module -= 1
                op, macs = _module_macs(module, args[0], output)
                self.layers.append(LayerCost(name, op, macs))

        return hook

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in _UNSUPPORTED_COMPOSITES:
            raise UncountedOperation(f"flops: cannot see inside {func.__name__}; count it explicitly")
        output = func(*args, **kwargs)
        formula = _FUNCTION_MACS.get(func)
        if formula is not None and not self.inside_counted_module:
            op, macs = formula(args, kwargs, output)
            self.layers.append(LayerCost(self.scope[-1] if self.scope else "", op, macs))
        return output


_COUNTED_MODULES = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
)


def _module_macs(module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> tuple[str, int]:
    if isinstance(module, nn.Linear):
        return "linear", out.numel() * module.in_features
    assert isinstance(module, nn.modules.conv._ConvNd)
    kernel = math.prod(module.kernel_size)
    if module.transposed:  # every input element is scattered through a kernel into out/groups channels
        return "conv", x.numel() * (module.out_channels // module.groups) * kernel
    return "conv", out.numel() * (module.in_channels // module.groups) * kernel


def _matmul(args: Any, kwargs: Any, out: torch.Tensor) -> tuple[str, int]:
    return "matmul", out.numel() * args[0].shape[-1]


def _addmm(args: Any, kwargs: Any, out: torch.Tensor) -> tuple[str, int]:
    return "matmul", out.numel() * args[1].shape[-1]


def _functional_linear(args: Any, kwargs: Any, out: torch.Tensor) -> tuple[str, int]:
    weight = args[1] if len(args) > 1 else kwargs["weight"]
    return "linear", out.numel() * weight.shape[-1]


def _functional_conv(args: Any, kwargs: Any, out: torch.Tensor) -> tuple[str, int]:
    weight = args[1] if len(args) > 1 else kwargs["weight"]
    return "conv", out.numel() * math.prod(weight.shape[1:])


def _einsum(args: Any, kwargs: Any, out: torch.Tensor) -> tuple[str, int]:
    equation, *operands = args
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    if len(operands) != 2:
        raise UncountedOperation(f"flops: einsum with {len(operands)} operands is not counted")
    inputs = equation.replace(" ", "").split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for letters, operand in zip(inputs, operands, strict=True):
        if "..." in letters:
            raise UncountedOperation("flops: einsum with '...' is not counted")
        sizes.update(zip(letters, operand.shape, strict=True))
    return "einsum", math.prod(sizes.values())


def _attention(args: Any, kwargs: Any, out: torch.Tensor) -> tuple[str, int]:
    query, key = args[0], args[1]
    batch = math.prod(out.shape[:-2])
    query_len, key_len = query.shape[-2], key.shape[-2]
    # scores = q @ k^T (E per pair) and out = softmax(scores) @ v (Ev per pair)
    return "attention", batch * query_len * key_len * (query.shape[-1] + out.shape[-1])


_FUNCTION_MACS: dict[Any, Callable[[Any, Any, torch.Tensor], tuple[str, int]]] = {
    torch.matmul: _matmul,
    torch.Tensor.matmul: _matmul,
    torch.Tensor.__matmul__: _matmul,
    torch.mm: _matmul,
    torch.Tensor.mm: _matmul,
    torch.bmm: _matmul,
    torch.Tensor.bmm: _matmul,
    torch.addmm: _addmm,
    torch.baddbmm: _addmm,
    F.linear: _functional_linear,
    F.conv1d: _functional_conv,
    F.conv2d: _functional_conv,
    F.conv3d: _functional_conv,
    torch.einsum: _einsum,
    F.scaled_dot_product_attention: _attention,
}

_UNSUPPORTED_COMPOSITES = {F.multi_head_attention_forward}
