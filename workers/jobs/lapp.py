"""``lapp_prune``: LAPP on a zoo ResNet; the pruned network is registered with its own (smaller) arch config."""

from __future__ import annotations

from registry.contract.context import ArtifactKind, JobCancelled, JobContext
from registry.contract.handlers import JobOutcome, handles
from registry.contract.kinds.base import is_builtin_dataset
from registry.contract.kinds.pruning import LappPruneParams
from workers.jobs.configs import lapp_settings
from workers.jobs.io import checkpoint_bytes, load_dataset_param
from workers.lapp import PruningStopped, prune
from workers.models import model_config


@handles(LappPruneParams)
def run_lapp_prune(context: JobContext, params: LappPruneParams) -> JobOutcome:
    train_data = load_dataset_param(context, params, params.dataset, "train")
    val_data = (
        load_dataset_param(context, params, params.dataset, "test")
        if is_builtin_dataset(params.dataset)
        else train_data
    )
    settings = lapp_settings(params)
    context.log(f"LAPP {params.arch} to {params.target_flops_ratio:.3f} of dense FLOPs, {params.epochs} epochs")

    def progress(fraction: float, metrics: dict[str, object]) -> None:
        context.progress(
            fraction, ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
        )

    try:
        result = prune(
            params.arch,
            train_data,
            val_data,
            params.target_flops_ratio,
            params.epochs,
            params.pruning_epochs,
            params.seed,
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
        "bypass": params.bypass,
        "target_flops_ratio": params.target_flops_ratio,
        "accuracy": result.accuracy,
        "per_layer_kept": kept,
        "image_size": list(train_data.image_size),
    }
    config = model_config(result.arch, **result.arch_config)
    context.add_output(
        "pruned",
        params.output_model,
        ArtifactKind.pruned,
        checkpoint_bytes(result.model, result.arch, config),
        metadata=summary,
        parents=[] if is_builtin_dataset(params.dataset) else [params.dataset],
    )
    return JobOutcome(
        result=summary, message=f"pruned to {result.flops_ratio:.3f} of FLOPs, top1 {result.accuracy:.4f}"
    )
