"""Names of the model zoo's architectures (workers/models/zoo.py) and of their config fields, so submissions
are checked without the registry importing the workers' ML code. Every params model takes its architectures
from here, and tests/workers/models/test_zoo_names.py keeps each list equal to what the zoo (and LAPP) can
build and each architecture's fields equal to its config dataclass."""

from __future__ import annotations

from typing import Any

ZOO_NAMES = (
    "emov2_1m", "emov2_20m", "emov2_2m", "emov2_5m", "inverted_residual", "resnet18", "resnet20", "resnet32",
    "resnet56", "uva", "vgg16",
)  # fmt: skip
EMOV2_NAMES = ("emov2_1m", "emov2_2m", "emov2_5m", "emov2_20m")  # the EMOv2 family, smallest first
LAPP_NAMES = ("resnet20", "resnet32", "resnet56", "resnet18")  # the ResNets of basic blocks LAPP prunes
UVA_NAMES = ("uva",)

_RESNET_FIELDS = frozenset({"block_widths", "blocks_per_stage", "bypass", "in_channels", "num_classes", "stage_widths"})
_EMOV2_FIELDS = frozenset(
    {"attention", "attention_stages", "depths", "dim_head", "dims", "drop_path", "expansion", "in_channels",
     "kernel_size", "layer_scale_init", "num_classes", "window_size"}
)  # fmt: skip
_UVA_FIELDS = frozenset(
    {"action_dim", "action_head_depth", "action_head_width", "actions_per_frame", "decoder_depth",
     "diffusion_batch_mul", "diffusion_sample_steps", "diffusion_train_steps", "dropout", "encoder_depth",
     "image_size", "in_channels", "mask_ratio_min", "mask_ratio_std", "mlp_ratio", "num_frames", "num_heads",
     "patch_size", "video_head_depth", "video_head_width", "width"}
)  # fmt: skip
# The fields ``arch_config`` may override, per architecture (the fields of its config dataclass).
ZOO_CONFIG_FIELDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(EMOV2_NAMES, _EMOV2_FIELDS),
    **dict.fromkeys(LAPP_NAMES, _RESNET_FIELDS),
    "inverted_residual": frozenset(
        {"divisor", "dropout", "head_channels", "in_channels", "num_classes", "stages", "stem_channels", "width"}
    ),
    "uva": _UVA_FIELDS,
    "vgg16": frozenset({"classifier_widths", "conv_widths", "dropout", "in_channels", "num_classes", "pool_after"}),
}


def check_arch_config(arch: str, arch_config: dict[str, Any]) -> None:
    """Refuse ``arch_config`` keys the architecture's config lacks (a ValueError naming them and the known ones),
    at submission rather than on the worker."""
    known = ZOO_CONFIG_FIELDS.get(arch)
    if known is None:
        return  # an unknown architecture is the arch field's own error
    unknown = sorted(key for key in arch_config if key not in known)
    if unknown:
        names = ", ".join(repr(key[:64]) for key in unknown[:10])
        raise ValueError(f"{arch} has no config field {names}; its fields are {', '.join(sorted(known))}")
