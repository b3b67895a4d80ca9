"""Signature extraction: projection, fallback, layer rules, metadata and the patch it makes."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from patchhub.compose import FileRangeReader, iter_composed
from patchhub.safetensors_format import read_header
from patchhub.signature import Signature
from workers.rws.extract import extract_signature, group_layers, project_out


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3),  # 0
        nn.BatchNorm2d(8),  # 1
        nn.ReLU(),
        nn.Conv2d(8, 8, 3),  # 3
        nn.BatchNorm2d(8),  # 4
        nn.ReLU(),
        nn.Conv2d(8, 16, 3),  # 6
        nn.Flatten(),
        nn.Linear(16, 10),  # 8
    )


def _states(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(reference, clean, robust): the robust model moves the first conv much more than the rest."""
    torch.manual_seed(seed)
    reference = {k: v.clone() for k, v in _net().state_dict().items()}
    generator = torch.Generator().manual_seed(seed + 1)

    def moved(scale_first: float) -> dict[str, torch.Tensor]:
        out = {}
        for name, tensor in reference.items():
            if not tensor.is_floating_point():
                out[name] = tensor.clone()
                continue
            scale = scale_first if name.startswith("0.") else 0.01
            out[name] = tensor + scale * torch.randn(tensor.shape, generator=generator)
        return out

    return reference, moved(0.02), moved(0.5)


def test_projection_removes_the_clean_direction() -> None:
    generator = torch.Generator().manual_seed(0)
    tau_c = torch.randn(50, generator=generator)
    tau_r = 0.7 * tau_c + torch.randn(50, generator=generator)
    rws = project_out(tau_r, tau_c)
    assert abs(float((rws.double() * tau_c.double()).sum())) < 1e-4
    torch.testing.assert_close(rws + (tau_r - rws), tau_r)
    assert torch.equal(project_out(tau_r, torch.zeros(50)), tau_r)


def test_layers_are_parameters_grouped_in_model_order() -> None:
    _, clean, _ = _states()
    groups = group_layers(clean)
    assert [name for name, _ in groups] == ["0", "1", "3", "4", "6", "8"]
    assert groups[1][1] == ["1.weight", "1.bias"]  # BatchNorm running stats are buffers, not layers


def test_first_k_covers_the_first_k_conv_layers_and_the_norms_between() -> None:
    reference, clean, robust = _states()
    signature, report = extract_signature(reference, clean, robust, layers="first:2", bits=32)
    assert report.selected_layers == ["0", "1", "3", "4"]
    assert signature.tensor_names == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias", "4.weight",
                                      "4.bias"]  # fmt: skip
    for name in signature.tensor_names:
        tau_r, tau_c = robust[name] - reference[name], clean[name] - reference[name]
        np.testing.assert_allclose(signature.delta(name), project_out(tau_r, tau_c).numpy(), rtol=1e-6, atol=1e-7)


def test_metadata_records_every_layer_and_the_provenance() -> None:
    reference, clean, robust = _states()
    signature, report = extract_signature(
        reference, clean, robust, layers="first:1", bits=4, metadata={"arch": "toy", "corruption": "fog"}
    )
    loaded = Signature.from_bytes(signature.to_bytes())
    meta = loaded.metadata
    norms = json.loads(meta["layer_delta_norms"])
    assert list(norms) == ["0", "1", "3", "4", "6", "8"]
    assert norms["0"]["robust_vs_clean"] > 5 * norms["3"]["robust_vs_clean"]  # the first conv moved most
    assert meta["arch"] == "toy" and meta["corruption"] == "fog" and meta["bits"] == "4"
    assert meta["reference_used"] == "true" and meta["method"] == "projection"
    assert json.loads(meta["layers"]) == ["0", "1"]
    assert float(meta["compression_ratio"]) == pytest.approx(report.compression_ratio, rel=1e-3)
    assert report.compression_ratio > 8  # only a small, 4-bit share of the model is stored


def test_without_reference_the_signature_is_robust_minus_clean_and_says_so() -> None:
    _, clean, robust = _states()
    signature, report = extract_signature(None, clean, robust, layers=["0", "8"], bits=32)
    assert signature.metadata["reference_used"] == "false" and not report.reference_used
    assert signature.tensor_names == ["0.weight", "0.bias", "8.weight", "8.bias"]
    np.testing.assert_array_equal(signature.delta("8.weight"), (robust["8.weight"] - clean["8.weight"]).numpy())


def test_patching_the_clean_model_with_a_difference_signature_restores_the_robust_layers() -> None:
    _, clean, robust = _states()
    signature, _ = extract_signature(None, clean, robust, layers="first:1", bits=32)
    base = save_safetensors({k: v.contiguous() for k, v in clean.items()})
    stream = io.BytesIO(base)
    composed = load_safetensors(
        b"".join(iter_composed(read_header(stream), FileRangeReader(stream), [(signature, 1.0)]))
    )
    torch.testing.assert_close(composed["0.weight"], robust["0.weight"], rtol=0, atol=1e-6)
    assert torch.equal(composed["3.weight"], clean["3.weight"])
    assert torch.equal(composed["1.running_mean"], clean["1.running_mean"])


def test_auto_rule_picks_the_layers_that_hold_the_energy() -> None:
    reference, clean, robust = _states()
    _, report = extract_signature(reference, clean, robust, layers="auto:0.9", bits=8)
    assert report.selected_layers[0] == "0"
    assert report.energy_covered >= 0.9
    assert len(report.selected_layers) < len(report.layers)


def test_bad_rules_and_mismatched_models_are_rejected() -> None:
    reference, clean, robust = _states()
    for rule in ("first:0", "auto:1.5", "last:3", "first:x"):
        with pytest.raises(ValueError):
            extract_signature(reference, clean, robust, layers=rule)
    with pytest.raises(ValueError, match="unknown layers"):
        extract_signature(reference, clean, robust, layers=["classifier"])
    broken = dict(robust)
    broken["3.weight"] = torch.zeros(8, 8, 5, 5)
    with pytest.raises(ValueError, match=r"3\.weight"):
        extract_signature(reference, clean, broken)
