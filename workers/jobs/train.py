"""``train``: a zoo classifier on a dataset; the checkpoint is registered with its arch and metrics."""

from __future__ import annotations

from registry.jobs.kinds.base import is_builtin_dataset
from registry.models.artifact import ArtifactKind
from workers.jobs.context import JobCancelled, JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import build_model, checkpoint_bytes, load_dataset_param, load_weights, torch_device
from workers.training import TrainConfig, TrainingCancelled, train_classifier


@handles("train")
def run_train(context: JobContext) -> JobOutcome:
    p = context.params
    train_data = load_dataset_param(context, p["dataset"], "train")
    val_data = None
    if p.get("val_dataset"):
        val_data = load_dataset_param(context, p["val_dataset"], "test")
    elif is_builtin_dataset(p["dataset"]):
        val_data = load_dataset_param(context, p["dataset"], "test")
    model, config = build_model(p["arch"], p["arch_config"], num_classes=train_data.num_classes)
    if p.get("init"):
        load_weights(model, context.read_artifact(p["init"]).data)
        context.log(f"initial weights from artifact {p['init']}")
    train_config = TrainConfig(
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        optimizer=p["optimizer"],
        lr=p["lr"],
        weight_decay=p["weight_decay"],
        momentum=p["momentum"],
        schedule=p["schedule"],
        milestones=tuple(p["milestones"]),
        gamma=p["gamma"],
        warmup_epochs=p["warmup_epochs"],
        label_smoothing=p["label_smoothing"],
        grad_clip=p["grad_clip"],
        ema_decay=p["ema_decay"],
        augmentation=p["augmentation"],
        flip=not is_builtin_dataset(p["dataset"]),  # digits are not mirror-symmetric
        seed=p["seed"],
        device=torch_device(p["device"]),  # type: ignore[arg-type]
    )
    context.log(f"training {p['arch']} on {len(train_data)} images for {p['epochs']} epochs")
    try:
        trained = train_classifier(
            model, train_data, train_config, val=val_data, progress=context.progress, should_stop=context.should_stop
        )
    except TrainingCancelled:
        context.raise_if_stopping()
        raise JobCancelled(context.job_id) from None
    metrics = {k: v for k, v in trained.metrics.items() if isinstance(v, (int, float, str))}
    context.log(f"finished: {metrics}")
    parents = [a for a in (p.get("init"), p["dataset"], p.get("val_dataset")) if a and not is_builtin_dataset(a)]
    context.add_output(
        "checkpoint",
        p["output_model"],
        ArtifactKind.checkpoint,
        checkpoint_bytes(trained.model, p["arch"], config),
        metadata={"arch": p["arch"], "metrics": metrics, "dataset": p["dataset"], "epochs": p["epochs"]},
        parents=parents,
    )
    return JobOutcome(result={"metrics": metrics}, message=f"trained: {metrics.get('val_top1', metrics)}")
