"""``corrupt_dataset`` and ``extract_rws``: the data and the signatures of Robust Weight Signatures."""

from __future__ import annotations

import dataclasses

import torch
from safetensors.torch import load as load_tensors

from registry.jobs.kinds.base import is_builtin_dataset
from registry.models.artifact import ArtifactKind
from workers.data import dataset_to_bytes
from workers.jobs.context import InputArtifact, JobContext
from workers.jobs.handlers import JobOutcome, handles
from workers.jobs.io import load_dataset_param, model_from_artifact
from workers.rws.corruptions import corrupt_dataset
from workers.rws.extract import extract_signature


@handles("corrupt_dataset")
def run_corrupt_dataset(context: JobContext) -> JobOutcome:
    p = context.params
    source = load_dataset_param(context, p["dataset"], p["split"])
    context.progress(0.1, f"applying {p['corruption']} at severity {p['severity']} to {len(source)} images")
    corrupted = corrupt_dataset(source, p["corruption"], p["severity"], p["seed"])
    meta = {
        "corruption": p["corruption"],
        "severity": p["severity"],
        "seed": p["seed"],
        "source": p["dataset"],
        "images": len(corrupted),
    }
    context.add_output(
        "dataset",
        p["output_model"],
        ArtifactKind.dataset,
        dataset_to_bytes(corrupted),
        metadata=meta,
        parents=[] if is_builtin_dataset(p["dataset"]) else [p["dataset"]],
    )
    return JobOutcome(result=meta, message=f"{p['corruption']}@{p['severity']}: {len(corrupted)} images")


def in_architecture_order(artifact: InputArtifact) -> tuple[dict[str, torch.Tensor], str]:
    """(the artifact's tensors in its architecture's state_dict order, arch name).

    A safetensors file does not fix an order (``safetensors.torch.load`` returns one that changes from
    process to process), so layer order, and with it ``first:K``, comes from the model the artifact's
    arch + arch_config build; rebuilding it also checks that the weights fit that architecture.
    """
    model, arch, _ = model_from_artifact(artifact)
    tensors = load_tensors(artifact.data)
    return {name: tensors[name] for name in model.state_dict()}, arch


@handles("extract_rws")
def run_extract_rws(context: JobContext) -> JobOutcome:
    p = context.params
    clean, arch = in_architecture_order(context.read_artifact(p["clean"]))
    robust = load_tensors(context.read_artifact(p["robust"]).data)
    reference = load_tensors(context.read_artifact(p["reference"]).data) if p.get("reference") else None
    provenance = {"arch": arch, "corruption": p["corruption"]}
    if p.get("severity") is not None:
        provenance["severity"] = str(p["severity"])
    context.progress(0.2, f"extracting {p['layers']} at {p['bits']} bits ({p['scheme']})")
    signature, report = extract_signature(
        reference, clean, robust, layers=p["layers"], bits=p["bits"], scheme=p["scheme"], metadata=provenance
    )
    summary = {
        "arch": arch,
        "corruption": p["corruption"],
        "severity": p.get("severity"),
        "bits": p["bits"],
        "scheme": p["scheme"],
        "layers": report.selected_layers,
        "reference_used": report.reference_used,
        "compression_ratio": report.compression_ratio,
        "signature_bytes": report.signature_bytes,
        "base_bytes": report.base_bytes,
        "energy_covered": report.energy_covered,
        "quantization_error": report.quantization_error,
        "layer_deltas": [dataclasses.asdict(row) for row in report.layers],
        "notes": report.notes,
    }
    parents = [a for a in (p.get("reference"), p["clean"], p["robust"]) if a]
    context.add_output("signature", p["output_model"], ArtifactKind.rws, signature.to_bytes(), summary, parents)
    return JobOutcome(
        result=summary,
        message=f"{len(report.selected_layers)} layers, {report.compression_ratio:.1f}x smaller than the base",
    )
