"""What the classifier training jobs (``train``, ``train_emov2``) share: data, initial weights, the training run
with cancellation, and the checkpoint output with its lineage."""

from __future__ import annotations

from typing import Any

from registry.jobs.kinds.base import is_builtin_dataset
from registry.models.artifact import ArtifactKind
from workers.data import ImageDataset
from workers.jobs.context import JobCancelled, JobContext
from workers.jobs.handlers import JobOutcome
from workers.jobs.io import build_model, checkpoint_bytes, load_dataset_param, load_weights
from workers.training import TrainConfig, TrainingCancelled, train_classifier


def train_and_validation_data(context: JobContext) -> tuple[ImageDataset, ImageDataset | None]:
    """The training set, and the validation set: ``val_dataset`` when given, else a built-in's test split."""
    p = context.params
    train_data = load_dataset_param(context, p["dataset"], "train")
    if p.get("val_dataset"):
        return train_data, load_dataset_param(context, p["val_dataset"], "test")
    if is_builtin_dataset(p["dataset"]):
        return train_data, load_dataset_param(context, p["dataset"], "test")
    return train_data, None


def train_checkpoint(
    context: JobContext,
    arch_config: dict[str, Any],
    train_config: TrainConfig,
    metadata: dict[str, Any],
) -> JobOutcome:
    """Build ``params.arch`` (from ``params.init`` if given), train it, and register the checkpoint."""
    p = context.params
    train_data, val_data = train_and_validation_data(context)
    model, config = build_model(p["arch"], arch_config, train_data.num_classes, train_data.channels)
    if p.get("init"):
        load_weights(model, context.read_artifact(p["init"]).data)
        context.log(f"initial weights from artifact {p['init']}")
    context.log(f"training {p['arch']} on {len(train_data)} images for {train_config.epochs} epochs")
    try:
        trained = train_classifier(
            model, train_data, train_config, val=val_data, progress=context.progress, should_stop=context.should_stop
        )
    except TrainingCancelled:
        context.raise_if_stopping()
        raise JobCancelled(context.job_id) from None
    metrics = {k: v for k, v in trained.metrics.items() if isinstance(v, (int, float, str))}
    context.log(f"finished: {metrics}")
    inputs = (p.get("init"), p["dataset"], p.get("val_dataset"))
    context.add_output(
        "checkpoint",
        p["output_model"],
        ArtifactKind.checkpoint,
        checkpoint_bytes(trained.model, p["arch"], config),
        # history: one record per epoch (loss, accuracy, lr), the training curves the web UI draws.
        metadata={
            "arch": p["arch"],
            "metrics": metrics,
            "history": trained.history,
            "dataset": p["dataset"],
            **metadata,
        },
        parents=[a for a in inputs if a and not is_builtin_dataset(a)],
    )
    return JobOutcome(result={"metrics": metrics, **metadata}, message=f"trained: {metrics.get('val_top1', metrics)}")
