"""``train_emov2``: EMOv2 with the paper's recipe, scaled to the run's batch size and length."""

from __future__ import annotations

from registry.contract.context import JobContext
from registry.contract.handlers import JobOutcome, handles
from registry.contract.kinds.emov2 import TrainEmov2Params
from workers.jobs.classifier import train_checkpoint
from workers.jobs.configs import emov2_lr, emov2_train_config


@handles(TrainEmov2Params)
def run_train_emov2(context: JobContext, params: TrainEmov2Params) -> JobOutcome:
    metadata = {"epochs": params.epochs, "lr": emov2_lr(params), "recipe": "emov2"}
    return train_checkpoint(context, params, params.arch_config, emov2_train_config(params), metadata)
