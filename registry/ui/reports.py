"""What the artifact page shows beyond the API's JSON: tensors grouped by layer, and the reports jobs record in
metadata (training history, evaluations, robustness, RWS layer deltas, LAPP widths) as charts. The metadata keys
are the ones the jobs write and ``patchhub report`` reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from registry.resources.artifacts.schemas import TensorOut
from registry.ui import charts


@dataclass
class TensorGroup:
    layer: str
    parameters: int = 0
    tensors: list[TensorOut] = field(default_factory=list)


def layer_of(tensor_name: str) -> str:
    """``layer1.0.conv1.weight`` -> ``layer1.0.conv1``; a name without a dot is its own layer."""
    return tensor_name.rsplit(".", 1)[0] if "." in tensor_name else tensor_name


def tensor_groups(tensors: Sequence[TensorOut]) -> list[TensorGroup]:
    groups: dict[str, TensorGroup] = {}
    for tensor in tensors:
        group = groups.setdefault(layer_of(tensor.name), TensorGroup(layer_of(tensor.name)))
        group.tensors.append(tensor)
        group.parameters += tensor.numel
    return list(groups.values())


@dataclass
class Section:
    title: str
    chart: Markup = field(default_factory=Markup)
    summary: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _number(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def training_curves(metadata: Mapping[str, Any]) -> list[Section]:
    history = metadata.get("history")
    if not isinstance(history, list) or not history:
        return []
    keys = sorted({k for record in history for k, v in record.items() if isinstance(v, (int, float)) and k != "epoch"})

    def series(names: list[str]) -> list[charts.Series]:
        return [
            charts.Series(name, [(float(r["epoch"]), float(r[name])) for r in history if name in r and "epoch" in r])
            for name in names
        ]

    losses = [k for k in keys if "loss" in k]
    accuracies = [k for k in keys if "top" in k]
    sections = []
    if losses:
        sections.append(Section("Training loss", charts.line_chart("loss per epoch", series(losses), "epoch")))
    if accuracies:
        title = "accuracy per epoch"
        sections.append(Section("Training accuracy", charts.line_chart(title, series(accuracies), "epoch")))
    return sections


def evaluations(metadata: Mapping[str, Any]) -> list[Section]:
    rows = metadata.get("evaluations")
    if not isinstance(rows, list) or not rows:
        return []
    return [
        Section(
            "Evaluations",
            header=["job", "dataset", "split", "top-1", "top-5", "images"],
            rows=[_evaluation_row(e) for e in rows],
        )
    ]


def _evaluation_row(e: Mapping[str, Any]) -> list[str]:
    return [
        str(e.get("job", ""))[:12],
        str(e.get("dataset", "")),
        str(e.get("split", "")),
        _number(e.get("top1")),
        _number(e.get("top5")),
        str(e.get("n", "")),
    ]


def robustness(metadata: Mapping[str, Any]) -> list[Section]:
    report = metadata.get("robustness")
    if not isinstance(report, Mapping) or not isinstance(report.get("top1"), Mapping):
        return []
    severities = [str(s) for s in report.get("severities", [])]
    corruptions = list(report["top1"])
    values = [[report["top1"][name].get(s) for s in severities] for name in corruptions]
    chart = charts.heatmap(
        "top-1 accuracy per corruption and severity", corruptions, [f"severity {s}" for s in severities], values
    )
    clean, mean = _number(report.get("clean_top1"), 3), _number(report.get("mean_top1"), 3)
    summary = f"clean top-1 {clean}, corrupted mean {mean}"
    return [Section("Robustness (top-1 per corruption and severity)", chart, summary)]


def signature_deltas(metadata: Mapping[str, Any]) -> list[Section]:
    deltas = metadata.get("layer_deltas")
    if not isinstance(deltas, list) or not deltas:
        return []
    covered = set(metadata.get("layers", []))
    bars = [(str(row["name"]), float(row.get("signature", 0.0)), row["name"] in covered) for row in deltas]
    chart = charts.bar_chart("per-layer signature norm |RWS|/|C|", bars, "|RWS| / |C| (dark: layers in the signature)")
    summary = (
        f"{len(covered)} layers kept at {metadata.get('bits', '?')} bits ({metadata.get('scheme', '?')}), "
        f"{_number(metadata.get('compression_ratio'), 1)}x smaller than the base weights"
    )
    rows = [
        [str(row["name"]), "yes" if row["name"] in covered else "", _number(row.get("robust_vs_clean")),
         _number(row.get("signature"))]
        for row in deltas
    ]  # fmt: skip
    return [
        Section(
            "Per-layer deltas (RWS)",
            chart,
            summary,
            header=["layer", "covered", "|R-C|/|C|", "|RWS|/|C|"],
            rows=rows,
        )
    ]


def pruned_widths(metadata: Mapping[str, Any]) -> list[Section]:
    kept = metadata.get("per_layer_kept")
    if not isinstance(kept, Mapping) or not kept:
        return []
    layers = [(str(layer), int(entry["kept"]), int(entry["of"])) for layer, entry in kept.items()]
    flops, target = _number(metadata.get("flops_ratio"), 3), _number(metadata.get("target_flops_ratio"), 3)
    summary = (
        f"FLOPs {flops} of dense (target {target}), params {metadata.get('params', '?')} of "
        f"{metadata.get('dense_params', '?')}, top-1 {_number(metadata.get('accuracy'))}"
    )
    chart = charts.widths_chart("kept channels per layer vs original", layers)
    return [Section("Per-layer widths (LAPP)", chart, summary)]


def report_sections(metadata: Mapping[str, Any]) -> list[Section]:
    return [
        *training_curves(metadata),
        *evaluations(metadata),
        *robustness(metadata),
        *signature_deltas(metadata),
        *pruned_widths(metadata),
    ]
