import dataclasses

import pytest
import torch
from torch import nn

from workers.models.emov2 import I2RMB, EMOv2, EMOv2Config, LayerNorm2d, SpanningWindowAttention
from workers.models.flops import count_parameters
from workers.models.zoo import config_to_json, create_model, model_config
from workers.training.profiling import count_flops

# Published figures (EMOv2 paper / official logs) at 1000 classes and 224x224.
PUBLISHED = {"emov2_1m": (1_461_000, 285e6), "emov2_2m": (2_384_000, 487e6), "emov2_5m": (5_126_000, 1035e6)}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameters_and_flops_match_the_paper(name: str) -> None:
    params, flops = PUBLISHED[name]
    with torch.device("meta"):  # shapes only: counting needs no memory or arithmetic
        model = create_model(name)
    assert round(count_parameters(model), -3) == params
    assert count_flops(model, (1, 3, 224, 224)) == pytest.approx(flops, rel=0.01)


def test_20m_variant_is_about_20m_parameters() -> None:
    with torch.device("meta"):
        model = create_model("emov2_20m")
    assert count_parameters(model) == pytest.approx(20.2e6, rel=0.01)


@pytest.mark.parametrize("size", [32, 40, 64, 100])
def test_any_input_size_gives_logits(size: int) -> None:
    torch.manual_seed(0)
    model = create_model("emov2_1m", num_classes=10, window_size=3).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, size, size + 6))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()


def _attention(kinds: tuple[str, ...], window: int = 2) -> SpanningWindowAttention:
    torch.manual_seed(0)
    return SpanningWindowAttention(dim=8, inner=16, dim_head=4, window_size=window, kinds=kinds).eval()


def _influence(attention: SpanningWindowAttention, size: int, pixel: tuple[int, int]) -> torch.Tensor:
    """Boolean [size, size] map of output positions that change when one input pixel changes."""
    x = torch.randn(1, 8, size, size)
    y = x.clone()
    y[:, :, pixel[0], pixel[1]] += 5.0
    with torch.no_grad():
        return (attention(x) - attention(y)).abs().amax(dim=(0, 1)) > 1e-6


def test_close_windows_are_contiguous_tiles_and_remote_windows_a_strided_grid() -> None:
    close = _influence(_attention(("close",)), size=4, pixel=(0, 1))
    remote = _influence(_attention(("remote",)), size=4, pixel=(0, 1))
    spanning = _influence(_attention(("close", "remote")), size=4, pixel=(0, 1))
    expected_close = torch.zeros(4, 4, dtype=torch.bool)
    expected_close[0:2, 0:2] = True  # the 2x2 tile holding (0, 1)
    expected_remote = torch.zeros(4, 4, dtype=torch.bool)
    expected_remote[0::2, 1::2] = True  # every 2nd pixel, in phase with (0, 1)
    assert torch.equal(close, expected_close)
    assert torch.equal(remote, expected_remote)
    assert torch.equal(spanning, expected_close | expected_remote)


def test_padding_to_window_multiples_is_invisible() -> None:
    attention = _attention(("close", "remote"), window=3)
    x = torch.randn(1, 8, 5, 5)  # padded to 6x6: 2x2 windows, the last row/column padding
    with torch.no_grad():
        full = attention(x)
        # the top-left close window holds only real pixels; on its own (no padding) it must agree
        # with the close part of the full result, so padded pixels are never attended to
        close_only = _attention(("close",), window=3)
        assert torch.allclose(close_only(x)[..., :3, :3], close_only(x[..., :3, :3]), atol=1e-6)
        # a map smaller than the window uses one window: the attention becomes global
        small = torch.randn(1, 8, 2, 2)
        assert torch.allclose(close_only(small), _attention(("remote",), window=3)(small), atol=1e-6)
    assert full.shape == (1, 16, 5, 5) and torch.isfinite(full).all()


def test_stage_layout_follows_the_paper() -> None:
    model = create_model("emov2_1m")
    assert isinstance(model, EMOv2)
    for index, stage in enumerate(model.stages):
        blocks = list(stage)
        assert all(isinstance(b, I2RMB) for b in blocks)
        assert not blocks[0].has_skip and all(b.has_skip for b in blocks[1:])  # first block downsamples
        norm = LayerNorm2d if index >= 2 else nn.BatchNorm2d
        assert all(type(b.norm) is norm for b in blocks)
        attends = [isinstance(b.mixer, SpanningWindowAttention) for b in blocks]
        assert attends == [False] + [index >= 2] * (len(blocks) - 1)
    rates = [b.drop_path.rate for stage in model.stages for b in stage]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.04036) and rates == sorted(rates)
    assert all(float(b.layer_scale.gamma.max()) == pytest.approx(1e-6) for stage in model.stages for b in stage)


def test_attention_ablation_variants_share_parameters_except_none() -> None:
    counts = {
        kind: count_parameters(create_model("emov2_1m", num_classes=10, attention=kind))
        for kind in ("spanning", "close", "remote", "none")
    }
    assert counts["spanning"] == counts["close"] == counts["remote"]  # spanning adds no parameters
    assert counts["none"] < counts["spanning"]  # no q/k projection
    with pytest.raises(ValueError):
        create_model("emov2_1m", attention="global")


def test_config_round_trips_through_json_and_rebuilds_identical_weights() -> None:
    torch.manual_seed(0)
    model = create_model("emov2_2m", num_classes=7, attention="close", drop_path=0.0)
    config_json = config_to_json(model.config)
    rebuilt = EMOv2(model_config("emov2_2m", **config_json))
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), rebuilt.eval()(x))
    assert dataclasses.asdict(model.config)["attention"] == "close"


def test_drop_path_only_acts_in_training() -> None:
    torch.manual_seed(0)
    model = create_model("emov2_1m", num_classes=3, drop_path=0.5, layer_scale_init=1.0)
    x = torch.randn(4, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
        model.train()
        assert not torch.equal(model(x), model(x))


def test_custom_config_validation() -> None:
    with pytest.raises(ValueError):
        EMOv2(EMOv2Config(depths=(1, 1, 1), dims=(16, 32, 64, 128)))
