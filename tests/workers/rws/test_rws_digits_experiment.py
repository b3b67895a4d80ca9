"""The RWS digits experiment end to end at a tiny size (the documented run uses the same code)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "experiments" / "rws_digits.py"


@pytest.fixture(scope="module")
def experiment():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("rws_digits_experiment", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_tiny_run_produces_every_table(experiment) -> None:  # type: ignore[no-untyped-def]
    config = experiment.ExperimentConfig(
        width_divisor=16,
        corruptions=("gaussian_noise", "contrast"),
        reference_epochs=1,
        finetune_epochs=1,
        train_limit=96,
        scales=(0.0, 1.0),
        bit_widths=(8, 1),
        threads=1,
    )
    results = experiment.run(config)
    accuracy = results["accuracy"]
    assert {"clean", "robust[contrast]", "clean+1.0*rws[contrast]", "clean_other+rws[gaussian_noise]"} <= set(accuracy)
    assert all(0 <= value <= 100 for row in accuracy.values() for value in row.values())
    # Scale 0 is the clean model itself: composition without effect gives the same predictions.
    assert accuracy["clean+0.0*rws[contrast]"] == accuracy["clean"]
    assert results["cosine"]["contrast"]["contrast"] == pytest.approx(1.0)
    sizes = results["size_ratio_vs_full_base"]
    assert sizes["1bit/per_tensor"] > sizes["8bit/per_tensor"] > 1
    assert len(results["layer_norms"]["contrast"]) == 16  # 13 convs + 3 linear layers
    assert "| clean |" in experiment.to_markdown(results)
