"""``train``: a zoo classifier on a dataset; the checkpoint is registered with its arch and metrics."""

from __future__ import annotations

from registry.contract.context import JobContext
from registry.contract.handlers import JobOutcome, handles
from registry.contract.kinds.training import TrainParams
from workers.jobs.classifier import train_checkpoint
from workers.jobs.configs import train_config


@handles(TrainParams)
def run_train(context: JobContext, params: TrainParams) -> JobOutcome:
    return train_checkpoint(context, params, params.arch_config, train_config(params), {"epochs": params.epochs})
