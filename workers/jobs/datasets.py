"""``import_dataset``: a built-in dataset as a ``dataset`` artifact (images uint8 [N, C, H, W], labels int64 [N])."""

from __future__ import annotations

from registry.models.artifact import ArtifactKind
from workers.data import dataset_to_bytes
from workers.jobs.context import JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import load_dataset_param


@handles("import_dataset")
def run_import_dataset(context: JobContext) -> JobOutcome:
    p = context.params
    dataset = load_dataset_param(context, p["dataset"], p["split"])
    height, width = dataset.image_size
    meta = {
        "source": p["dataset"],
        "split": p["split"],
        "images": len(dataset),
        "shape": [dataset.channels, height, width],
        "num_classes": dataset.num_classes,
        "class_names": dataset.class_names,
    }
    context.progress(
        0.5, f"{len(dataset)} images of {p['dataset']} ({p['split']}), {dataset.channels}x{height}x{width}"
    )
    context.add_output("dataset", p["output_model"], ArtifactKind.dataset, dataset_to_bytes(dataset), meta, [])
    return JobOutcome(result=meta, message=f"{len(dataset)} images of {p['dataset']}")
