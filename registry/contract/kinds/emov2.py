"""``train_emov2``: the EMOv2 recipe scaled to the user's budget (AdamW, linear lr scaling, warm-up + cosine,
label smoothing, EMA, gradient clipping, RandAugment-style augmentation)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from registry.contract.kinds.base import job_kind
from registry.contract.kinds.training import DatasetChoice
from registry.contract.kinds.zoo_names import EMOV2_NAMES, check_arch_config


@job_kind("train_emov2", "train an EMOv2 variant with the paper's recipe; output: a checkpoint artifact")
class TrainEmov2Params(DatasetChoice):
    output_model: str = Field(description="'ns/name' the checkpoint is registered under; created if missing")
    arch: Literal[EMOV2_NAMES] = "emov2_1m"  # type: ignore[valid-type]
    arch_config: dict[str, Any] = Field(default_factory=dict, description="overrides, e.g. window_size, attention")
    image_size: int = Field(default=64, ge=16, le=1024)
    init: str | None = Field(default=None, description="artifact whose weights start the training")
    epochs: int = Field(default=30, ge=1, le=1000)
    batch_size: int = Field(default=64, ge=1, le=4096)
    base_lr: float = Field(default=1.5e-3, gt=0, description="lr at batch 512; scaled linearly to batch_size")
    weight_decay: float = Field(default=0.05, ge=0, le=1)
    warmup_epochs: float = Field(default=3.0, ge=0, description="paper: 20 of 300 epochs")
    label_smoothing: float = Field(default=0.1, ge=0, lt=1)
    ema_decay: float | None = Field(default=0.999, gt=0, lt=1, description="paper: 0.9998 over 300 epochs")
    grad_clip: float | None = Field(default=5.0, gt=0)
    randaugment_magnitude: float = Field(default=9.0, ge=0, le=10)
    seed: int = 0

    artifact_fields: ClassVar[tuple[str, ...]] = ("init", "dataset")
    output_model_fields: ClassVar[tuple[str, ...]] = ("output_model",)

    @model_validator(mode="after")
    def _config_fields_exist(self) -> TrainEmov2Params:
        check_arch_config(self.arch, self.arch_config)
        return self
