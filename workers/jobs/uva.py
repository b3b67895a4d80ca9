"""UVA jobs: demonstrations as a dataset artifact, training, and evaluation of every inference mode."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from safetensors.torch import save as save_tensors

from registry.contract.context import ArtifactKind, JobContext
from registry.contract.handlers import JobOutcome, handles
from registry.contract.kinds.uva import EvaluateUvaParams, GenerateUvaDemosParams, TrainUvaParams
from workers.jobs.configs import uva_eval_config, uva_train_config
from workers.jobs.io import ARCH_CONFIG_KEY, ARCH_KEY, model_from_artifact
from workers.models import config_to_json
from workers.uva.dataset import dataset_to_bytes, generate_demonstrations, load_dataset
from workers.uva.evaluate import evaluate_uva
from workers.uva.sim import PointGoalConfig
from workers.uva.train import train_uva


@handles(GenerateUvaDemosParams)
def run_generate_uva_demos(context: JobContext, params: GenerateUvaDemosParams) -> JobOutcome:
    context.progress(0.1, f"rolling out {params.num_expert} expert and {params.num_random} random episodes")
    dataset = generate_demonstrations(
        PointGoalConfig(image_size=params.image_size),
        params.num_expert,
        params.num_random,
        params.episode_length,
        params.seed,
    )
    meta: dict[str, Any] = params.model_dump(
        include={"num_expert", "num_random", "episode_length", "seed", "image_size"}
    )
    meta["steps"] = dataset.num_steps
    context.add_output("dataset", params.output_model, ArtifactKind.dataset, dataset_to_bytes(dataset), meta, [])
    return JobOutcome(result=meta, message=f"{dataset.num_steps} steps")


@handles(TrainUvaParams)
def run_train_uva(context: JobContext, params: TrainUvaParams) -> JobOutcome:
    dataset = load_dataset(context.read_artifact(params.dataset).data)
    config = uva_train_config(params)
    context.log(f"training UVA for {config.total_steps} steps on {dataset.num_steps} dataset steps")

    def progress(step: int, total: int, losses: dict[str, float]) -> None:
        context.progress(step / total, ", ".join(f"{k} {v:.4f}" for k, v in losses.items()))

    model, metrics = train_uva(dataset, config, progress=progress, should_stop=context.should_stop)
    context.raise_if_stopping()  # train_uva returns early when asked to stop: store nothing then
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    header = {ARCH_KEY: "uva", ARCH_CONFIG_KEY: json.dumps(config_to_json(config.model), sort_keys=True)}
    metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))}
    context.add_output(
        "checkpoint",
        params.output_model,
        ArtifactKind.checkpoint,
        save_tensors(state, metadata=header),
        metadata={"arch": "uva", "metrics": metrics, "train_config": dataclasses.asdict(config)},
        parents=[params.dataset],
    )
    return JobOutcome(result={"metrics": metrics}, message="trained")


@handles(EvaluateUvaParams)
def run_evaluate_uva(context: JobContext, params: EvaluateUvaParams) -> JobOutcome:
    artifact = context.read_artifact(params.artifact)
    model, arch, _config = model_from_artifact(artifact)
    if arch != "uva":
        raise ValueError(f"evaluate_uva needs a UVA checkpoint, not {arch!r}")
    dataset = load_dataset(context.read_artifact(params.dataset).data)
    context.progress(0.1, f"evaluating on {params.num_policy_seeds} closed-loop seeds and {params.num_clips} clips")
    config = uva_eval_config(params)
    metrics = evaluate_uva(model.eval(), dataset, config)  # type: ignore[arg-type]
    return JobOutcome(
        result={"metrics": metrics},
        message=f"policy success {metrics.get('policy_success_rate', float('nan')):.2f}",
        evaluations=[(artifact.id, "uva_evaluations", {"job": context.job_id, "dataset": params.dataset, **metrics})],
    )
