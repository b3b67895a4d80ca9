"""``lapp_prune``: LAPP on a zoo ResNet; the pruned network is registered with its own (smaller) arch config."""

from __future__ import annotations

from registry.jobs.kinds.base import is_builtin_dataset
from registry.models.artifact import ArtifactKind
from workers.jobs.context import JobCancelled, JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import checkpoint_bytes, load_dataset_param, torch_device
from workers.lapp import LappSettings, PruningStopped, prune
from workers.models import model_config
from workers.training.evaluate import resolve_device


@handles("lapp_prune")
def run_lapp_prune(context: JobContext) -> JobOutcome:
    p = context.params
    train_data = load_dataset_param(context, p["dataset"], "train")
    val_data = load_dataset_param(context, p["dataset"], "test") if is_builtin_dataset(p["dataset"]) else train_data
    settings = LappSettings(
        bypass=p["bypass"],
        lr=p["lr"],
        batch_size=p["batch_size"],
        device=str(resolve_device(torch_device(p["device"]))),
    )
    context.log(f"LAPP {p['arch']} to {p['target_flops_ratio']:.3f} of dense FLOPs, {p['epochs']} epochs")

    def progress(fraction: float, metrics: dict[str, object]) -> None:
        context.progress(
            fraction, ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
        )

    try:
        result = prune(
            p["arch"],
            train_data,
            val_data,
            p["target_flops_ratio"],
            p["epochs"],
            p["pruning_epochs"],
            p["seed"],
            settings=settings,
            progress=progress,
            should_stop=context.should_stop,
        )
    except PruningStopped:
        context.raise_if_stopping()
        raise JobCancelled(context.job_id) from None
    kept = {layer: {"kept": k, "of": n} for layer, (k, n) in result.per_layer_kept.items()}
    summary = {
        "arch": result.arch,
        "arch_config": result.arch_config,
        "flops": result.flops,
        "macs": result.macs,
        "params": result.params,
        "dense_macs": result.dense_macs,
        "dense_params": result.dense_params,
        "flops_ratio": result.flops_ratio,
        "learned_flops_ratio": result.learned_flops_ratio,
        "calibration_dropped": result.calibration_dropped,
        "bypass": p["bypass"],
        "target_flops_ratio": p["target_flops_ratio"],
        "accuracy": result.accuracy,
        "per_layer_kept": kept,
        "image_size": list(train_data.image_size),
    }
    config = model_config(result.arch, **result.arch_config)
    context.add_output(
        "pruned",
        p["output_model"],
        ArtifactKind.pruned,
        checkpoint_bytes(result.model, result.arch, config),
        metadata=summary,
        parents=[] if is_builtin_dataset(p["dataset"]) else [p["dataset"]],
    )
    return JobOutcome(
        result=summary, message=f"pruned to {result.flops_ratio:.3f} of FLOPs, top1 {result.accuracy:.4f}"
    )
