"""Server-drawn SVG: values land where they should, labels are escaped, empty input draws nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from registry.resources.artifacts.schemas import TensorOut
from registry.ui import charts
from registry.ui.lineage import Node, lineage_svg
from registry.ui.reports import report_sections, tensor_groups

SVG = "{http://www.w3.org/2000/svg}"


def _titles(svg: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(svg).iter(f"{SVG}title")]


def test_heatmap_cells_carry_their_value_and_escape_labels() -> None:
    svg = charts.heatmap("acc", ["<script>fog"], ["severity 1", "severity 2"], [[0.5, None]])
    titles = _titles(svg)
    assert titles == ["acc", "<script>fog, severity 1: 0.500", "<script>fog, severity 2: -"]
    assert "<script>" not in svg  # parsed back above, so it was escaped in the markup


def test_widths_and_bars_scale_to_the_largest_value() -> None:
    svg = charts.widths_chart("w", [("layer1", 8, 16), ("layer2", 32, 32)])
    kept = [el for el in ET.fromstring(svg).iter(f"{SVG}rect") if el.find(f"{SVG}title") is not None]
    assert [float(el.get("width", 0)) for el in kept] == [charts_width(8), charts_width(32)]
    assert charts.bar_chart("b", [], "x") == "" and charts.line_chart("l", [], "x") == ""


def charts_width(kept: int, peak: int = 32, width: int = 560) -> float:
    return round(kept / peak * (width - 180 - 80), 1)


def test_reports_come_from_the_metadata_jobs_write() -> None:
    metadata = {
        "history": [{"epoch": 1, "train_loss": 2.0, "val_top1": 0.5}, {"epoch": 2, "train_loss": 1.0, "val_top1": 0.8}],
        "per_layer_kept": {"layer1.0": {"kept": 4, "of": 16}},
        "layer_deltas": [{"name": "conv1", "robust_vs_clean": 0.2, "signature": 0.1}],
        "layers": ["conv1"],
    }
    titles = [s.title for s in report_sections(metadata)]
    assert titles == ["Training loss", "Training accuracy", "Per-layer deltas (RWS)", "Per-layer widths (LAPP)"]
    assert report_sections({}) == []


def test_tensors_group_by_layer_with_parameter_counts() -> None:
    tensors = [
        TensorOut(name="conv1.weight", dtype="F32", shape=[8, 3, 3, 3], numel=216),
        TensorOut(name="conv1.bias", dtype="F32", shape=[8], numel=8),
        TensorOut(name="scale", dtype="F32", shape=[1], numel=1),
    ]
    assert [(g.layer, g.parameters, len(g.tensors)) for g in tensor_groups(tensors)] == [
        ("conv1", 224, 2),
        ("scale", 1, 1),
    ]


def test_lineage_links_every_node() -> None:
    this = Node("ns/m@v2", "checkpoint", "/artifacts/b", "self")
    svg = lineage_svg(
        this, [Node("ns/m@v1", "base", "/artifacts/a", "artifact")], [Node("job train", "", "/jobs/j", "job")]
    )
    links = [el.get("href") for el in ET.fromstring(svg).iter(f"{SVG}a")]
    assert sorted(links) == ["/artifacts/a", "/artifacts/b", "/jobs/j"]
