"""``import_dataset``: a built-in dataset as a ``dataset`` artifact (images uint8 [N, C, H, W], labels int64 [N])."""

from __future__ import annotations

from registry.contract.context import ArtifactKind, JobContext
from registry.contract.handlers import JobOutcome, handles
from registry.contract.kinds.datasets import ImportDatasetParams
from workers.data import dataset_to_bytes
from workers.jobs.io import load_dataset_param


@handles(ImportDatasetParams)
def run_import_dataset(context: JobContext, params: ImportDatasetParams) -> JobOutcome:
    dataset = load_dataset_param(context, params, params.dataset, params.split)
    height, width = dataset.image_size
    meta = {
        "source": params.dataset,
        "split": params.split,
        "images": len(dataset),
        "shape": [dataset.channels, height, width],
        "num_classes": dataset.num_classes,
        "class_names": dataset.class_names,
    }
    context.progress(
        0.5, f"{len(dataset)} images of {params.dataset} ({params.split}), {dataset.channels}x{height}x{width}"
    )
    context.add_output("dataset", params.output_model, ArtifactKind.dataset, dataset_to_bytes(dataset), meta, [])
    return JobOutcome(result=meta, message=f"{len(dataset)} images of {params.dataset}")
