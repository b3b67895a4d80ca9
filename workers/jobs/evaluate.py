"""``evaluate``: accuracy of an artifact on a dataset, in the job result and linked from the artifact; with
``corruptions``, also a robustness report (accuracy per corruption and severity)."""

from __future__ import annotations

from typing import Any

from torch import nn

from registry.contract.context import JobCancelled, JobContext
from registry.contract.handlers import JobOutcome, handles
from registry.contract.kinds.training import EvaluateParams
from workers.data import ImageDataset
from workers.jobs.io import load_dataset_param, model_from_artifact, torch_device
from workers.rws.corruptions import corrupt_dataset
from workers.training import TrainingCancelled, evaluate_classifier


@handles(EvaluateParams)
def run_evaluate(context: JobContext, params: EvaluateParams) -> JobOutcome:
    try:
        return _evaluate(context, params)
    except TrainingCancelled:
        context.raise_if_stopping()
        raise JobCancelled(context.job_id) from None


def _evaluate(context: JobContext, params: EvaluateParams) -> JobOutcome:
    artifact = context.read_artifact(params.artifact)
    model, arch, _config = model_from_artifact(artifact)
    data = load_dataset_param(context, params, params.dataset, params.split)
    context.progress(0.05, f"evaluating {arch} on {len(data)} images")
    device = torch_device(params.device)
    metrics = evaluate_classifier(
        model, data, batch_size=params.batch_size, device=device, should_stop=context.should_stop
    )
    context.log(f"metrics: {metrics}")
    evaluation: dict[str, Any] = {"job": context.job_id, "dataset": params.dataset, "split": params.split, **metrics}
    result: dict[str, Any] = {"metrics": metrics, "artifact": artifact.id}
    patch: dict[str, Any] = {}
    if params.corruptions:
        report = robustness_report(context, model, data, params, device)
        result["robustness"] = report
        evaluation["corrupted_top1_mean"] = report["mean_top1"]
        patch["robustness"] = {
            "job": context.job_id,
            "dataset": params.dataset,
            "clean_top1": metrics["top1"],
            **report,
        }
    return JobOutcome(
        result=result,
        message=f"top1 {metrics['top1']:.4f}",
        artifact_metadata={artifact.id: patch} if patch else {},
        evaluations=[(artifact.id, "evaluations", evaluation)],
    )


def robustness_report(
    context: JobContext, model: nn.Module, data: ImageDataset, params: EvaluateParams, device: str
) -> dict[str, Any]:
    """{"top1": {corruption: {severity: accuracy}}, "mean_top1": mean over every cell}."""
    table: dict[str, dict[str, float]] = {}
    cells = len(params.corruptions) * len(params.severities)
    done = 0
    for corruption in params.corruptions:
        table[corruption] = {}
        for severity in params.severities:
            corrupted = corrupt_dataset(data, corruption, severity, params.corruption_seed)
            top1 = evaluate_classifier(model, corrupted, device=device, should_stop=context.should_stop)["top1"]
            table[corruption][str(severity)] = top1
            done += 1
            context.progress(0.05 + 0.95 * done / cells, f"{corruption}@{severity}: top1 {top1:.4f}")
    values = [v for row in table.values() for v in row.values()]
    return {"top1": table, "mean_top1": sum(values) / len(values), "severities": params.severities}
