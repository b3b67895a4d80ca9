"""UVA jobs: demonstrations as a dataset artifact, training, and evaluation of every inference mode."""

from __future__ import annotations

import dataclasses
import json

from safetensors.torch import save as save_tensors

from registry.models.artifact import ArtifactKind
from workers.jobs.context import JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import ARCH_CONFIG_KEY, ARCH_KEY, model_from_artifact
from workers.models import config_to_json
from workers.uva.dataset import dataset_to_bytes, generate_demonstrations, load_dataset
from workers.uva.evaluate import UVAEvalConfig, evaluate_uva
from workers.uva.sim import PointGoalConfig
from workers.uva.train import UVATrainConfig, train_uva


@handles("generate_uva_demos")
def run_generate_uva_demos(context: JobContext) -> JobOutcome:
    p = context.params
    context.progress(0.1, f"rolling out {p['num_expert']} expert and {p['num_random']} random episodes")
    dataset = generate_demonstrations(
        PointGoalConfig(image_size=p["image_size"]), p["num_expert"], p["num_random"], p["episode_length"], p["seed"]
    )
    meta = {key: p[key] for key in ("num_expert", "num_random", "episode_length", "seed", "image_size")}
    meta["steps"] = dataset.num_steps
    context.add_output("dataset", p["output_model"], ArtifactKind.dataset, dataset_to_bytes(dataset), meta, [])
    return JobOutcome(result=meta, message=f"{dataset.num_steps} steps")


@handles("train_uva")
def run_train_uva(context: JobContext) -> JobOutcome:
    p = context.params
    dataset = load_dataset(context.read_artifact(p["dataset"]).data)
    config = UVATrainConfig.from_json(
        {
            "model": p["model"],
            "video_steps": p["video_steps"],
            "joint_steps": p["joint_steps"],
            "joint_modes": p["joint_modes"],
            "batch_size": p["batch_size"],
            "learning_rate": p["learning_rate"],
            "ema_decay": p["ema_decay"],
            "seed": p["seed"],
        }
    )
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
        p["output_model"],
        ArtifactKind.checkpoint,
        save_tensors(state, metadata=header),
        metadata={"arch": "uva", "metrics": metrics, "train_config": dataclasses.asdict(config)},
        parents=[p["dataset"]],
    )
    return JobOutcome(result={"metrics": metrics}, message="trained")


@handles("evaluate_uva")
def run_evaluate_uva(context: JobContext) -> JobOutcome:
    p = context.params
    artifact = context.read_artifact(p["artifact"])
    model, arch, _config = model_from_artifact(artifact)
    if arch != "uva":
        raise ValueError(f"evaluate_uva needs a UVA checkpoint, not {arch!r}")
    dataset = load_dataset(context.read_artifact(p["dataset"]).data)
    context.progress(0.1, f"evaluating on {p['num_policy_seeds']} closed-loop seeds and {p['num_clips']} clips")
    config = UVAEvalConfig(
        num_policy_seeds=p["num_policy_seeds"], num_clips=p["num_clips"], num_iter=p["num_iter"], seed=p["seed"]
    )
    metrics = evaluate_uva(model.eval(), dataset, config)  # type: ignore[arg-type]
    history = [*artifact.meta.get("uva_evaluations", []), {"job": context.job_id, "dataset": p["dataset"], **metrics}]
    return JobOutcome(
        result={"metrics": metrics},
        message=f"policy success {metrics.get('policy_success_rate', float('nan')):.2f}",
        artifact_metadata={artifact.id: {"uva_evaluations": history}},
    )
