"""Each engine config is built from its kind's params in one place (workers/jobs/configs.py): every params field
reaches the engine under its own name or is one the handler uses itself, and default params give the engine's
defaults (the engines take them from the params models, so the two cannot drift apart)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from registry.contract.kinds import JobParams
from registry.contract.kinds.emov2 import TrainEmov2Params
from registry.contract.kinds.pruning import LappPruneParams
from registry.contract.kinds.training import TrainParams
from registry.contract.kinds.uva import EvaluateUvaParams, TrainUvaParams
from workers.jobs.configs import (
    emov2_train_config,
    lapp_settings,
    shared_fields,
    train_config,
    uva_eval_config,
    uva_train_config,
)
from workers.lapp import LappSettings
from workers.training import TrainConfig
from workers.uva.evaluate import UVAEvalConfig
from workers.uva.train import UVATrainConfig

# Fields the handlers read themselves: data, architecture, initial weights, outputs, prune()'s arguments.
DATA = {"dataset", "image_size", "channels", "split_seed"}
CLASSIFIER = {"output_model", "device", "arch", "arch_config", "init", "val_dataset", *DATA}
CASES: list[tuple[type[JobParams], Callable[[Any], Any], type[Any], set[str]]] = [
    (TrainParams, train_config, TrainConfig, CLASSIFIER),
    (TrainEmov2Params, emov2_train_config, TrainConfig, CLASSIFIER | {"base_lr"}),  # base_lr: lr scaled to batch
    (
        LappPruneParams,
        lapp_settings,
        LappSettings,
        CLASSIFIER | {"target_flops_ratio", "epochs", "pruning_epochs", "seed"},
    ),
    (TrainUvaParams, uva_train_config, UVATrainConfig, {"output_model", "device", "arch", "dataset"}),
    (EvaluateUvaParams, uva_eval_config, UVAEvalConfig, {"device", "artifact", "dataset"}),
]
IDS = [params.kind for params, *_ in CASES]


def defaults(params: type[JobParams]) -> JobParams:
    required = {name: "lab/x" for name, field in params.model_fields.items() if field.is_required()}
    return params.model_validate({**required, **({"arch": "resnet20"} if "arch" in required else {})})


@pytest.mark.parametrize(("params", "build", "config", "handler_fields"), CASES, ids=IDS)
def test_every_params_field_reaches_the_engine_or_the_handler(
    params: type[JobParams], build: Callable[[Any], Any], config: type[Any], handler_fields: set[str]
) -> None:
    engine_fields = set(shared_fields(defaults(params), config))
    assert engine_fields | (handler_fields & set(params.model_fields)) == set(params.model_fields)
    built = build(defaults(params))
    assert all(
        getattr(built, name) == value
        for name, value in shared_fields(defaults(params), config).items()
        if name not in ("milestones", "joint_modes", "model")
    )


@pytest.mark.parametrize(("params", "build", "config"), [c[:3] for c in CASES if c[0] is not TrainEmov2Params])
def test_a_job_with_default_params_runs_the_engine_defaults(
    params: type[JobParams], build: Callable[[Any], Any], config: type[Any]
) -> None:
    built, engine = dataclasses.asdict(build(defaults(params))), dataclasses.asdict(config())
    set_by_the_job = {"device", "flip", "log_every"}  # the job's hardware, dataset and progress reporting
    assert {k: v for k, v in built.items() if k not in set_by_the_job} == {
        k: v for k, v in engine.items() if k not in set_by_the_job
    }
