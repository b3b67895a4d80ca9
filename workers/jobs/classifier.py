"""What the classifier training jobs (``train``, ``train_emov2``) share: data, initial weights, the training run
with cancellation, and the checkpoint output with its lineage."""

from __future__ import annotations

from typing import Any

from registry.contract.context import ArtifactKind, JobCancelled, JobContext
from registry.contract.handlers import JobOutcome
from registry.contract.kinds.base import is_builtin_dataset
from registry.contract.kinds.emov2 import TrainEmov2Params
from registry.contract.kinds.training import TrainParams
from workers.data import ImageDataset
from workers.jobs.io import build_model, checkpoint_bytes, load_dataset_param, load_weights
from workers.training import TrainConfig, TrainingCancelled, train_classifier

ClassifierParams = TrainParams | TrainEmov2Params


def train_and_validation_data(
    context: JobContext, params: ClassifierParams
) -> tuple[ImageDataset, ImageDataset | None]:
    """The training set, and the validation set: ``val_dataset`` when given, else a built-in's test split."""
    train_data = load_dataset_param(context, params, params.dataset, "train")
    val_dataset = params.val_dataset if isinstance(params, TrainParams) else None
    if val_dataset:
        return train_data, load_dataset_param(context, params, val_dataset, "test")
    if is_builtin_dataset(params.dataset):
        return train_data, load_dataset_param(context, params, params.dataset, "test")
    return train_data, None


def train_checkpoint(
    context: JobContext,
    params: ClassifierParams,
    arch_config: dict[str, Any],
    train_config: TrainConfig,
    metadata: dict[str, Any],
) -> JobOutcome:
    """Build ``params.arch`` (from ``params.init`` if given), train it, and register the checkpoint."""
    train_data, val_data = train_and_validation_data(context, params)
    model, config = build_model(params.arch, arch_config, train_data.num_classes, train_data.channels)
    if params.init:
        load_weights(model, context.read_artifact(params.init).data)
        context.log(f"initial weights from artifact {params.init}")
    context.log(f"training {params.arch} on {len(train_data)} images for {train_config.epochs} epochs")
    try:
        trained = train_classifier(
            model, train_data, train_config, val=val_data, progress=context.progress, should_stop=context.should_stop
        )
    except TrainingCancelled:
        context.raise_if_stopping()
        raise JobCancelled(context.job_id) from None
    metrics = {k: v for k, v in trained.metrics.items() if isinstance(v, (int, float, str))}
    context.log(f"finished: {metrics}")
    val_dataset = params.val_dataset if isinstance(params, TrainParams) else None
    inputs = (params.init, params.dataset, val_dataset)
    context.add_output(
        "checkpoint",
        params.output_model,
        ArtifactKind.checkpoint,
        checkpoint_bytes(trained.model, params.arch, config),
        # history: one record per epoch (loss, accuracy, lr), the training curves the web UI draws.
        metadata={
            "arch": params.arch,
            "metrics": metrics,
            "history": trained.history,
            "dataset": params.dataset,
            **metadata,
        },
        parents=[a for a in inputs if a and not is_builtin_dataset(a)],
    )
    return JobOutcome(result={"metrics": metrics, **metadata}, message=f"trained: {metrics.get('val_top1', metrics)}")
