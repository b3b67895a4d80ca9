"""The engines' configs built from a job's params model: the one place each params field reaches its engine.

A config takes every params field it has a field of the same name for (the two also share those fields' defaults:
the engines take them from the params models); what differs is set here by name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from registry.contract.kinds import JobParams
from registry.contract.kinds.emov2 import TrainEmov2Params
from registry.contract.kinds.pruning import LappPruneParams
from registry.contract.kinds.training import TrainParams
from registry.contract.kinds.uva import EvaluateUvaParams, TrainUvaParams
from workers.jobs.io import flips_preserve_labels, torch_device
from workers.lapp import LappSettings
from workers.training import TrainConfig
from workers.training.evaluate import resolve_device
from workers.uva.evaluate import UVAEvalConfig
from workers.uva.train import UVATrainConfig

EMOV2_PAPER_BATCH = 512  # the EMOv2 recipe's lr is given at batch 512 and scaled linearly
EMOV2_MIN_LR = 5e-7


def train_config(params: TrainParams) -> TrainConfig:
    return TrainConfig(
        **shared_fields(params, TrainConfig),
        flip=flips_preserve_labels(params.dataset),
        device=torch_device(params.device),  # type: ignore[arg-type]
        log_every=1,  # the job context decides how often progress reaches the database
    )


def emov2_lr(params: TrainEmov2Params) -> float:
    return params.base_lr * params.batch_size / EMOV2_PAPER_BATCH


def emov2_train_config(params: TrainEmov2Params) -> TrainConfig:
    """The EMOv2 recipe: AdamW, warm-up + cosine, RandAugment; the rest from the params."""
    return TrainConfig(
        **shared_fields(params, TrainConfig),
        optimizer="adamw",
        lr=emov2_lr(params),
        schedule="cosine",
        min_lr=EMOV2_MIN_LR,
        augmentation="randaugment",
        flip=flips_preserve_labels(params.dataset),
        device=torch_device(params.device),  # type: ignore[arg-type]
        log_every=1,
    )


def lapp_settings(params: LappPruneParams) -> LappSettings:
    return LappSettings(**shared_fields(params, LappSettings), device=str(resolve_device(torch_device(params.device))))


def uva_train_config(params: TrainUvaParams) -> UVATrainConfig:
    return UVATrainConfig.from_json(shared_fields(params, UVATrainConfig))


def uva_eval_config(params: EvaluateUvaParams) -> UVAEvalConfig:
    return UVAEvalConfig(**shared_fields(params, UVAEvalConfig))


def shared_fields(params: JobParams, config: type[Any]) -> dict[str, Any]:
    """The params' values for the fields ``config`` has by the same name; ``device`` is left to the caller
    (the params say cpu/gpu/auto, the engines cpu/cuda/auto)."""
    names = {f.name for f in dataclasses.fields(config)} - {"device"}
    return {name: getattr(params, name) for name in type(params).model_fields if name in names}
