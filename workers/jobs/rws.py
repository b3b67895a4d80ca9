"""``corrupt_dataset`` and ``extract_rws``: the data and the signatures of Robust Weight Signatures."""

from __future__ import annotations

import dataclasses

import torch
from safetensors.torch import load as load_tensors

from registry.contract.context import ArtifactKind, InputArtifact, JobContext
from registry.contract.handlers import JobOutcome, handles
from registry.contract.kinds.base import is_builtin_dataset
from registry.contract.kinds.rws import CorruptDatasetParams, ExtractRwsParams
from workers.data import dataset_to_bytes
from workers.jobs.io import load_dataset_param, model_from_artifact
from workers.rws.corruptions import corrupt_dataset
from workers.rws.extract import extract_signature


@handles(CorruptDatasetParams)
def run_corrupt_dataset(context: JobContext, params: CorruptDatasetParams) -> JobOutcome:
    source = load_dataset_param(context, params, params.dataset, params.split)
    context.progress(0.1, f"applying {params.corruption} at severity {params.severity} to {len(source)} images")
    corrupted = corrupt_dataset(source, params.corruption, params.severity, params.seed)
    meta = {
        "corruption": params.corruption,
        "severity": params.severity,
        "seed": params.seed,
        "source": params.dataset,
        "images": len(corrupted),
    }
    context.add_output(
        "dataset",
        params.output_model,
        ArtifactKind.dataset,
        dataset_to_bytes(corrupted),
        metadata=meta,
        parents=[] if is_builtin_dataset(params.dataset) else [params.dataset],
    )
    return JobOutcome(result=meta, message=f"{params.corruption}@{params.severity}: {len(corrupted)} images")


def in_architecture_order(artifact: InputArtifact) -> tuple[dict[str, torch.Tensor], str]:
    """(the artifact's tensors in its architecture's state_dict order, arch name).

    A safetensors file does not fix an order (``safetensors.torch.load`` returns one that changes from
    process to process), so layer order, and with it ``first:K``, comes from the model the artifact's
    arch + arch_config build; rebuilding it also checks that the weights fit that architecture.
    """
    model, arch, _ = model_from_artifact(artifact)
    tensors = load_tensors(artifact.data)
    return {name: tensors[name] for name in model.state_dict()}, arch


@handles(ExtractRwsParams)
def run_extract_rws(context: JobContext, params: ExtractRwsParams) -> JobOutcome:
    clean, arch = in_architecture_order(context.read_artifact(params.clean))
    robust = load_tensors(context.read_artifact(params.robust).data)
    reference = load_tensors(context.read_artifact(params.reference).data) if params.reference else None
    provenance = {"arch": arch, "corruption": params.corruption}
    if params.severity is not None:
        provenance["severity"] = str(params.severity)
    context.progress(0.2, f"extracting {params.layers} at {params.bits} bits ({params.scheme})")
    signature, report = extract_signature(
        reference, clean, robust, layers=params.layers, bits=params.bits, scheme=params.scheme, metadata=provenance
    )
    summary = {
        "arch": arch,
        "corruption": params.corruption,
        "severity": params.severity,
        "bits": params.bits,
        "scheme": params.scheme,
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
    parents = [a for a in (params.reference, params.clean, params.robust) if a]
    context.add_output("signature", params.output_model, ArtifactKind.rws, signature.to_bytes(), summary, parents)
    return JobOutcome(
        result=summary,
        message=f"{len(report.selected_layers)} layers, {report.compression_ratio:.1f}x smaller than the base",
    )
