"""Extracting a Robust Weight Signature from a reference, a clean and a robust model (Cai et al., 2023).

Per tensor, with tau_r = robust - reference and tau_c = clean - reference, the signature is the robust
delta without its component along the clean delta:  RWS = tau_r - (<tau_r, tau_c> / ||tau_c||^2) tau_c.
Without a reference the signature falls back to robust - clean (recorded in the metadata).

Only parameters take part: tensors named ``*.weight`` / ``*.bias``; buffers such as BatchNorm running
statistics are left to the base (a patch stays purely additive). A *layer* is a module prefix owning a
``weight`` (and its ``bias``), in the model's state_dict order. Layer rules:

* ``"first:K"``: every layer up to and including the K-th conv/linear layer (norm layers in between
  come along), the official code's rule (K = 7 by default there).
* ``"auto:F"``: the fewest layers holding a fraction F of the signature's energy (squared norm), taken
  greedily by energy per parameter so that energy is bought with as few stored bytes as possible.
* an explicit list of layer names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from patchhub.signature import Signature, quantize_signature

PARAMETER_SUFFIXES = ("weight", "bias")


@dataclass(frozen=True)
class LayerDelta:
    name: str  # module prefix, e.g. "features.0"
    tensors: tuple[str, ...]  # its parameter tensors, weight first
    numel: int  # parameters in the layer
    is_weighted: bool  # conv/linear (weight with 2+ dims), counted by "first:K"
    robust_vs_clean: float  # ||robust - clean|| / ||clean|| over the layer
    signature: float  # ||RWS|| / ||clean|| over the layer
    energy: float  # ||RWS||^2 over the layer


@dataclass
class ExtractionReport:
    layers: list[LayerDelta]  # every parameter layer, in model order
    selected_layers: list[str]  # the layers the signature covers, in model order
    reference_used: bool  # False: the signature is robust - clean
    signature_bytes: int  # stored tensor bytes of the signature (codes + scales)
    base_bytes: int  # bytes of all tensors of the clean model as given
    energy_covered: float  # fraction of the full signature energy inside the selected layers
    quantization_error: float  # ||dequant(RWS) - RWS|| / ||RWS|| over the selected layers
    notes: list[str] = field(default_factory=list)

    @property
    def compression_ratio(self) -> float:
        return self.base_bytes / max(self.signature_bytes, 1)


def group_layers(state: Mapping[str, torch.Tensor]) -> list[tuple[str, list[str]]]:
    """(layer name, parameter tensor names) in state_dict order; buffers and non-float tensors skipped."""
    layers: dict[str, list[str]] = {}
    for name, tensor in state.items():
        prefix, _, leaf = name.rpartition(".")
        if leaf in PARAMETER_SUFFIXES and tensor.is_floating_point():
            layers.setdefault(prefix, []).append(name)
    return [(prefix, sorted(names, key=lambda n: not n.endswith("weight"))) for prefix, names in layers.items()]


def project_out(robust_delta: torch.Tensor, clean_delta: torch.Tensor) -> torch.Tensor:
    """tau_r minus its projection on tau_c (float64 inner products); tau_r itself when tau_c is zero."""
    tau_r, tau_c = robust_delta.double(), clean_delta.double()
    clean_energy = float((tau_c * tau_c).sum())
    if clean_energy == 0.0:
        return tau_r.float()
    return (tau_r - (float((tau_r * tau_c).sum()) / clean_energy) * tau_c).float()


def extract_signature(
    reference: Mapping[str, torch.Tensor] | None,
    clean: Mapping[str, torch.Tensor],
    robust: Mapping[str, torch.Tensor],
    layers: str | Sequence[str] = "first:7",
    bits: int = 8,
    scheme: str = "per_tensor",
    metadata: Mapping[str, str] | None = None,
) -> tuple[Signature, ExtractionReport]:
    """Build the signature of ``robust`` relative to ``clean`` (and ``reference`` when given).

    ``metadata`` adds provenance strings (arch, corruption, severity, ...) to the signature file.
    """
    groups = group_layers(clean)
    _check_same_tensors(clean, robust, "robust", [n for _, names in groups for n in names])
    if reference is not None:
        _check_same_tensors(clean, reference, "reference", [n for _, names in groups for n in names])
    deltas: dict[str, torch.Tensor] = {}
    for _, names in groups:
        for name in names:
            robust_t, clean_t = robust[name].detach().float().cpu(), clean[name].detach().float().cpu()
            if reference is None:
                deltas[name] = robust_t - clean_t
            else:
                reference_t = reference[name].detach().float().cpu()
                deltas[name] = project_out(robust_t - reference_t, clean_t - reference_t)
    layer_rows = [_layer_row(prefix, names, clean, robust, deltas) for prefix, names in groups]
    selected = select_layers(layer_rows, layers)
    selected_tensors = [n for row in layer_rows if row.name in selected for n in row.tensors]
    exact = {name: deltas[name].numpy() for name in selected_tensors}
    base_bytes = sum(t.numel() * t.element_size() for t in clean.values())
    norms = {row.name: {"robust_vs_clean": _short(row.robust_vs_clean), "signature": _short(row.signature)}
             for row in layer_rows}  # fmt: skip
    total_energy = sum(row.energy for row in layer_rows)
    covered_energy = sum(row.energy for row in layer_rows if row.name in selected)
    signature_meta = {
        **dict(metadata or {}),
        "method": "projection" if reference is not None else "difference",
        "reference_used": "true" if reference is not None else "false",
        "layer_rule": layers if isinstance(layers, str) else "explicit",
        "layers": json.dumps([row.name for row in layer_rows if row.name in selected]),
        "layer_delta_norms": json.dumps(norms, separators=(",", ":")),
    }
    signature = quantize_signature(exact, bits, scheme, signature_meta)
    ratio = base_bytes / max(signature.stored_nbytes(), 1)
    signature = signature.with_metadata({"compression_ratio": f"{ratio:.4g}"})
    report = ExtractionReport(
        layers=layer_rows,
        selected_layers=[row.name for row in layer_rows if row.name in selected],
        reference_used=reference is not None,
        signature_bytes=signature.stored_nbytes(),
        base_bytes=base_bytes,
        energy_covered=covered_energy / total_energy if total_energy > 0 else 1.0,
        quantization_error=_relative_error(signature, exact),
        notes=[] if reference is not None else ["no reference model: the signature is robust - clean"],
    )
    return signature, report


def select_layers(rows: Sequence[LayerDelta], rule: str | Sequence[str]) -> set[str]:
    """Names of the layers a rule picks (see the module docstring)."""
    if not isinstance(rule, str):
        known = {row.name for row in rows}
        unknown = [name for name in rule if name not in known]
        if unknown:
            raise ValueError(f"unknown layers {unknown}; the model's layers are {[r.name for r in rows]}")
        if not rule:
            raise ValueError("the explicit layer list is empty")
        return set(rule)
    kind, _, value = rule.partition(":")
    if kind == "first":
        count = _parse(value, int, rule)
        if count < 1:
            raise ValueError(f"{rule!r}: K must be at least 1")
        chosen: set[str] = set()
        weighted = 0
        for row in rows:
            if row.is_weighted:
                if weighted == count:
                    break
                weighted += 1
            chosen.add(row.name)
        return chosen
    if kind == "auto":
        fraction = _parse(value, float, rule)
        if not 0 < fraction <= 1:
            raise ValueError(f"{rule!r}: the energy fraction must be in (0, 1]")
        total = sum(row.energy for row in rows)
        by_density = sorted(rows, key=lambda row: row.energy / max(row.numel, 1), reverse=True)
        chosen, gathered = set(), 0.0
        for row in by_density:
            if chosen and gathered >= fraction * total:
                break
            chosen.add(row.name)
            gathered += row.energy
        return chosen
    raise ValueError(f"layer rule {rule!r} must be 'first:K', 'auto:F' or a list of layer names")


def _parse(value: str, kind: type, rule: str):
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"cannot read the number in layer rule {rule!r}") from None


def _layer_row(
    prefix: str,
    names: list[str],
    clean: Mapping[str, torch.Tensor],
    robust: Mapping[str, torch.Tensor],
    deltas: Mapping[str, torch.Tensor],
) -> LayerDelta:
    clean_sq = sum(float(clean[n].double().pow(2).sum()) for n in names)
    diff_sq = sum(float((robust[n].double() - clean[n].double()).pow(2).sum()) for n in names)
    rws_sq = sum(float(deltas[n].double().pow(2).sum()) for n in names)
    scale = math.sqrt(clean_sq) if clean_sq > 0 else 1.0
    return LayerDelta(
        name=prefix,
        tensors=tuple(names),
        numel=sum(clean[n].numel() for n in names),
        is_weighted=clean[names[0]].ndim >= 2,
        robust_vs_clean=math.sqrt(diff_sq) / scale,
        signature=math.sqrt(rws_sq) / scale,
        energy=rws_sq,
    )


def _check_same_tensors(
    clean: Mapping[str, torch.Tensor], other: Mapping[str, torch.Tensor], label: str, names: list[str]
) -> None:
    problems = [
        name if name not in other else f"{name} {list(other[name].shape)} vs {list(clean[name].shape)}"
        for name in names
        if name not in other or other[name].shape != clean[name].shape
    ]
    if problems:
        raise ValueError(f"the {label} model does not match the clean model's parameters: {problems[:10]}")


def _relative_error(signature: Signature, exact: Mapping[str, np.ndarray]) -> float:
    error = sum(float(np.sum((signature.delta(n) - d).astype(np.float64) ** 2)) for n, d in exact.items())
    energy = sum(float(np.sum(d.astype(np.float64) ** 2)) for d in exact.values())
    return math.sqrt(error / energy) if energy > 0 else 0.0


def _short(value: float) -> float:
    return float(f"{value:.6g}")
