"""``train_emov2``: EMOv2 with the paper's recipe, scaled to the run's batch size and length."""

from __future__ import annotations

from registry.jobs.kinds.base import is_builtin_dataset
from registry.models.artifact import ArtifactKind
from workers.jobs.context import JobCancelled, JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import build_model, checkpoint_bytes, load_dataset_param, load_weights, torch_device
from workers.training import TrainConfig, TrainingCancelled, train_classifier

PAPER_BATCH = 512  # lr 1.5e-3 at batch 512, scaled linearly


@handles("train_emov2")
def run_train_emov2(context: JobContext) -> JobOutcome:
    p = context.params
    train_data = load_dataset_param(context, p["dataset"], "train")
    val_data = load_dataset_param(context, p["dataset"], "test") if is_builtin_dataset(p["dataset"]) else None
    arch_config = {"in_channels": train_data.channels, **p["arch_config"]}
    model, config = build_model(p["arch"], arch_config, num_classes=train_data.num_classes)
    if p.get("init"):
        load_weights(model, context.read_artifact(p["init"]).data)
    lr = p["base_lr"] * p["batch_size"] / PAPER_BATCH
    train_config = TrainConfig(
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        optimizer="adamw",
        lr=lr,
        weight_decay=p["weight_decay"],
        schedule="cosine",
        min_lr=5e-7,
        warmup_epochs=p["warmup_epochs"],
        label_smoothing=p["label_smoothing"],
        grad_clip=p["grad_clip"],
        ema_decay=p["ema_decay"],
        augmentation="randaugment",
        randaugment_magnitude=p["randaugment_magnitude"],
        flip=not is_builtin_dataset(p["dataset"]),  # digits are not mirror-symmetric
        seed=p["seed"],
        device=torch_device(p["device"]),  # type: ignore[arg-type]
    )
    context.log(
        f"training {p['arch']} at {p['image_size']}px, lr {lr:.2e} (batch {p['batch_size']}), {p['epochs']} epochs"
    )
    try:
        trained = train_classifier(
            model, train_data, train_config, val=val_data, progress=context.progress, should_stop=context.should_stop
        )
    except TrainingCancelled:
        context.raise_if_stopping()
        raise JobCancelled(context.job_id) from None
    metrics = {k: v for k, v in trained.metrics.items() if isinstance(v, (int, float, str))}
    parents = [a for a in (p.get("init"), p["dataset"]) if a and not is_builtin_dataset(a)]
    context.add_output(
        "checkpoint",
        p["output_model"],
        ArtifactKind.checkpoint,
        checkpoint_bytes(trained.model, p["arch"], config),
        metadata={"arch": p["arch"], "metrics": metrics, "lr": lr, "epochs": p["epochs"], "recipe": "emov2"},
        parents=parents,
    )
    return JobOutcome(result={"metrics": metrics, "lr": lr}, message=f"trained: {metrics.get('val_top1')}")
