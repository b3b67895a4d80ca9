"""``evaluate``: accuracy of an artifact on a dataset, in the job result and linked from the artifact."""

from __future__ import annotations

from workers.jobs.context import JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import load_dataset_param, model_from_artifact, torch_device
from workers.training import evaluate_classifier


@handles("evaluate")
def run_evaluate(context: JobContext) -> JobOutcome:
    p = context.params
    artifact = context.read_artifact(p["artifact"])
    model, arch, _config = model_from_artifact(artifact)
    data = load_dataset_param(context, p["dataset"], p["split"])
    context.progress(0.1, f"evaluating {arch} on {len(data)} images")
    metrics = evaluate_classifier(model, data, batch_size=p["batch_size"], device=torch_device(p["device"]))
    context.log(f"metrics: {metrics}")
    evaluation = {"job": context.job_id, "dataset": p["dataset"], "split": p["split"], **metrics}
    history = list(artifact.meta.get("evaluations", []))
    return JobOutcome(
        result={"metrics": metrics, "artifact": artifact.id},
        message=f"top1 {metrics['top1']:.4f}",
        artifact_metadata={artifact.id: {"evaluations": [*history, evaluation]}},
    )
