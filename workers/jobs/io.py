"""Inputs and outputs of classifier jobs: datasets, zoo models rebuilt from artifacts, checkpoints."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

from registry.contract.context import InputArtifact, JobContext
from registry.contract.kinds.base import is_builtin_dataset
from registry.contract.kinds.training import DatasetChoice
from workers.data import ImageDataset, dataset_from_bytes, load_digits_dataset, load_fashion_mnist_dataset
from workers.models import config_to_json, create_model, model_config

ARCH_KEY = "patchhub.arch"
ARCH_CONFIG_KEY = "patchhub.arch_config"


# Horizontal flips preserve the labels of clothes, not of handwritten digits.
_MIRROR_SYMMETRIC_BUILTINS = frozenset({"builtin:fashion-mnist"})


def load_dataset_param(context: JobContext, params: DatasetChoice, value: str, split: str) -> ImageDataset:
    """A built-in dataset (with the job's image_size/channels/split_seed) or a dataset artifact id."""
    if is_builtin_dataset(value):
        return load_builtin_dataset(value, params.image_size, params.channels, split, params.split_seed)
    return dataset_from_bytes(context.read_artifact(value).data)


def load_builtin_dataset(name: str, image_size: int, channels: int, split: str, split_seed: int) -> ImageDataset:
    """``builtin:digits`` (a seeded stratified split) or ``builtin:fashion-mnist`` (the official split)."""
    if name == "builtin:digits":
        return load_digits_dataset(image_size, channels, split, split_seed)  # type: ignore[arg-type]
    if name == "builtin:fashion-mnist":
        return load_fashion_mnist_dataset(image_size, channels, split)  # type: ignore[arg-type]
    raise ValueError(f"unknown built-in dataset {name!r}")


def flips_preserve_labels(dataset: str) -> bool:
    """Whether mirror augmentation suits ``dataset``: artifacts (the user's call) and mirror-symmetric built-ins."""
    return not is_builtin_dataset(dataset) or dataset in _MIRROR_SYMMETRIC_BUILTINS


def build_model(
    arch: str, arch_config: dict[str, Any], num_classes: int | None = None, in_channels: int | None = None
) -> tuple[nn.Module, Any]:
    """A zoo model; the data's class and channel counts fill in the config where the caller did not set them."""
    config = model_config(arch, **arch_config)
    fill = {"num_classes": num_classes, "in_channels": in_channels}
    updates = {k: v for k, v in fill.items() if v is not None and k not in arch_config and hasattr(config, k)}
    config = dataclasses.replace(config, **updates)
    return create_model(arch, **config_to_json(config)), config


def checkpoint_bytes(model: nn.Module, arch: str, config: Any) -> bytes:
    """Weights as safetensors, with the architecture in the header so the file rebuilds on its own."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    metadata = {ARCH_KEY: arch, ARCH_CONFIG_KEY: json.dumps(config_to_json(config), sort_keys=True)}
    return save_tensors(state, metadata=metadata)


def model_from_artifact(artifact: InputArtifact) -> tuple[nn.Module, str, Any]:
    """Rebuild the network an artifact holds: from its own header if it says, else from its model's arch."""
    arch = artifact.file_metadata.get(ARCH_KEY, artifact.arch)
    if ARCH_CONFIG_KEY in artifact.file_metadata:
        arch_config = json.loads(artifact.file_metadata[ARCH_CONFIG_KEY])
    else:
        arch_config = artifact.arch_config
    model, config = build_model(arch, arch_config)
    load_weights(model, artifact.data)
    return model, arch, config


def load_weights(model: nn.Module, data: bytes) -> None:
    state = load_tensors(data)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"the weights do not fit the architecture: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}"
        )


def torch_device(device: str) -> str:
    return {"gpu": "cuda", "cpu": "cpu"}.get(device, "auto")
