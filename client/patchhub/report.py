"""Human-readable reports of what jobs record on artifacts: a training run's final metrics, evaluations,
robustness per corruption and severity, LAPP per-layer widths, and a signature's per-layer delta norms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BAR_WIDTH = 24


def table(rows: list[list[str]], header: list[str]) -> str:
    if not rows:
        return "(none)"
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [header, *rows]
    )


def _bar(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * BAR_WIDTH)
    return "#" * filled + "." * (BAR_WIDTH - filled)


def robustness_table(metadata: Mapping[str, Any]) -> str | None:
    """Top-1 accuracy per corruption (rows) and severity (columns), with the clean accuracy and the mean."""
    report = metadata.get("robustness")
    if not report:
        return None
    severities = [str(s) for s in report.get("severities", [])]
    rows = [
        [name, *(f"{by_severity[s]:.3f}" if s in by_severity else "-" for s in severities)]
        for name, by_severity in report["top1"].items()
    ]
    header = ["CORRUPTION", *(f"SEV {s}" for s in severities)]
    summary = f"clean top1 {report.get('clean_top1', float('nan')):.3f}, corrupted mean {report['mean_top1']:.3f}"
    return f"{table(rows, header)}\n{summary}"


def layer_widths_table(metadata: Mapping[str, Any]) -> str | None:
    """LAPP's kept channels per layer against the original width, as a bar per layer."""
    kept = metadata.get("per_layer_kept")
    if not kept:
        return None
    rows = [
        [
            layer,
            f"{entry['kept']}/{entry['of']}",
            f"{entry['kept'] / entry['of']:.0%}",
            _bar(entry["kept"] / entry["of"]),
        ]
        for layer, entry in kept.items()
    ]
    summary = (
        f"FLOPs {metadata.get('flops_ratio', float('nan')):.3f} of dense "
        f"(target {metadata.get('target_flops_ratio', float('nan')):.3f}), "
        f"params {metadata.get('params', '?')} of {metadata.get('dense_params', '?')}, "
        f"top1 {metadata.get('accuracy', float('nan')):.4f}"
    )
    return f"{table(rows, ['LAYER', 'KEPT', 'RATE', 'WIDTH'])}\n{summary}"


def layer_deltas_table(metadata: Mapping[str, Any]) -> str | None:
    """A signature's per-layer relative delta norms (is robustness in the shallow layers?)."""
    deltas = metadata.get("layer_deltas")
    if not deltas:
        return None
    covered = set(metadata.get("layers", []))
    peak = max((row["signature"] for row in deltas), default=0.0) or 1.0
    rows = [
        [
            row["name"],
            "yes" if row["name"] in covered else "",
            f"{row['robust_vs_clean']:.4f}",
            f"{row['signature']:.4f}",
            _bar(row["signature"] / peak),
        ]
        for row in deltas
    ]
    summary = (
        f"{len(covered)} layers kept at {metadata.get('bits')} bits ({metadata.get('scheme')}), "
        f"{metadata.get('compression_ratio', float('nan')):.1f}x smaller than the base weights"
    )
    return f"{table(rows, ['LAYER', 'IN RWS', '|R-C|/|C|', '|RWS|/|C|', 'SIGNATURE NORM'])}\n{summary}"


def evaluations_table(metadata: Mapping[str, Any]) -> str | None:
    evaluations = metadata.get("evaluations")
    if not evaluations:
        return None
    rows = [
        [e.get("job", "")[:12], str(e.get("dataset", "")), str(e.get("split", "")), f"{e['top1']:.4f}",
         f"{e['top5']:.4f}" if "top5" in e else "-", str(e.get("n", ""))]
        for e in evaluations
    ]  # fmt: skip
    return table(rows, ["JOB", "DATASET", "SPLIT", "TOP1", "TOP5", "N"])


def training_table(metadata: Mapping[str, Any]) -> str | None:
    """What a ``train`` job measured at its end: validation metrics first, then the rest (losses, steps ...)."""
    metrics = metadata.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        return None
    ordered = sorted(metrics.items(), key=lambda item: (not str(item[0]).startswith("val_"), str(item[0])))
    rows = [[str(name), _number(value)] for name, value in ordered]
    dataset = f"\ntrained on {metadata['dataset']}" if metadata.get("dataset") else ""
    return f"{table(rows, ['METRIC', 'VALUE'])}{dataset}"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def render(metadata: Mapping[str, Any]) -> str:
    """Every report the metadata holds, titled; empty when there is none."""
    sections = [
        ("Training (final metrics)", training_table(metadata)),
        ("Evaluations", evaluations_table(metadata)),
        ("Robustness (top-1 per corruption and severity)", robustness_table(metadata)),
        ("Per-layer widths (LAPP)", layer_widths_table(metadata)),
        ("Per-layer deltas (RWS)", layer_deltas_table(metadata)),
    ]
    return "\n\n".join(f"{title}\n{body}" for title, body in sections if body)
