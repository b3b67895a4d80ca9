"""``train`` and ``evaluate``: classifiers from the model zoo on a dataset artifact or a built-in dataset."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from registry.contract.kinds.base import BUILTIN_DATASETS, JobParams, is_builtin_dataset, job_kind
from registry.contract.kinds.corruption_names import CORRUPTION_NAMES
from registry.contract.kinds.zoo_names import ZOO_NAMES, check_arch_config


class DatasetChoice(JobParams):
    dataset: str = Field(
        default="builtin:digits",
        description=(
            "'builtin:digits' (scikit-learn digits, resized), 'builtin:fashion-mnist' (padded to 32x32, "
            "resized) or a dataset artifact reference"
        ),
    )
    image_size: int = Field(default=32, ge=8, le=512, description="input side for built-in datasets")
    channels: int = Field(default=3, ge=1, le=4, description="channels for built-in datasets")
    split_seed: int = Field(default=0, description="seed of the train/test split of built-in datasets")

    @field_validator("dataset")
    @classmethod
    def _known_builtin(cls, value: str) -> str:
        if is_builtin_dataset(value) and value not in BUILTIN_DATASETS:
            raise ValueError(f"unknown built-in dataset; known: {', '.join(BUILTIN_DATASETS)}")
        return value


@job_kind("train", "train or fine-tune a classifier from the model zoo; output: a checkpoint artifact")
class TrainParams(DatasetChoice):
    output_model: str = Field(description="'ns/name' the checkpoint is registered under; created if missing")
    arch: str = Field(description="model zoo architecture, e.g. resnet20, resnet32, resnet56, vgg16")
    arch_config: dict[str, Any] = Field(default_factory=dict, description="overrides, e.g. num_classes")
    init: str | None = Field(default=None, description="artifact whose weights start the training")
    val_dataset: str | None = Field(
        default=None, description="dataset artifact to validate on (built-in datasets use their test split)"
    )
    epochs: int = Field(default=10, ge=1, le=1000)
    batch_size: int = Field(default=64, ge=1, le=8192)
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = Field(default=0.05, gt=0, le=10)
    weight_decay: float = Field(default=5e-4, ge=0, le=1)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    schedule: Literal["cosine", "step"] = "cosine"
    milestones: list[int] = Field(default_factory=list, description="'step' schedule: epochs where lr drops")
    gamma: float = Field(default=0.1, gt=0, le=1)
    warmup_epochs: float = Field(default=0.0, ge=0)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    grad_clip: float | None = Field(default=None, gt=0)
    ema_decay: float | None = Field(default=None, gt=0, lt=1)
    augmentation: Literal["none", "flip_crop", "randaugment"] = "none"
    seed: int = 0

    artifact_fields: ClassVar[tuple[str, ...]] = ("init", "dataset", "val_dataset")
    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)

    @field_validator("arch")
    @classmethod
    def _in_the_zoo(cls, value: str) -> str:
        if value not in ZOO_NAMES:
            raise ValueError(f"unknown architecture {value[:64]!r}; the model zoo has {', '.join(ZOO_NAMES)}")
        return value

    @model_validator(mode="after")
    def _config_fields_exist(self) -> TrainParams:
        check_arch_config(self.arch, self.arch_config)
        return self


@job_kind("evaluate", "accuracy (top-1, top-5) of an artifact on a dataset; linked from the artifact")
class EvaluateParams(DatasetChoice):
    artifact: str = Field(description="the checkpoint, base or pruned artifact to evaluate")
    split: Literal["train", "test", "all"] = Field(default="test", description="split of built-in datasets")
    batch_size: int = Field(default=256, ge=1, le=8192)
    corruptions: list[str] = Field(
        default_factory=list,
        description="robustness report: accuracy under each of these corruptions ('all' for the 19) per severity",
    )
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    corruption_seed: int = 0

    artifact_fields: ClassVar[tuple[str, ...]] = ("artifact", "dataset")

    @field_validator("corruptions")
    @classmethod
    def _known_corruptions(cls, value: list[str]) -> list[str]:
        if value == ["all"]:
            return list(CORRUPTION_NAMES)
        unknown = sorted(set(value) - set(CORRUPTION_NAMES))
        if unknown:
            raise ValueError(f"unknown corruptions {unknown}; known: {', '.join(CORRUPTION_NAMES)}")
        return value

    @field_validator("severities")
    @classmethod
    def _severities(cls, value: list[int]) -> list[int]:
        if not value or any(not 1 <= s <= 5 for s in value):
            raise ValueError("severities must be a non-empty list of integers from 1 to 5")
        return sorted(set(value))
