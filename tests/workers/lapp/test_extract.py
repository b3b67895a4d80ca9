import dataclasses

import pytest
import torch

from workers.lapp import (
    ChannelCostModel,
    block_paths,
    calibrate_keep,
    extract_pruned,
    freeze_masks,
    install_lapp_blocks,
)
from workers.lapp.schedule import retire_channels
from workers.models import config_to_json, create_model, model_config
from workers.models.flops import count_costs


def _trained_looking(model: torch.nn.Module, seed: int) -> None:
    """Give every BN (bypasses included) distinct statistics, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) + 0.05)
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)


def _lapp_model(arch: str, side: int, bypass: str, target: float, seed: int = 0, thresholds=(-1.5, 1.0)):
    """A LAPP-wrapped network with trained-looking BNs and thresholds drawn from ``thresholds``."""
    torch.manual_seed(seed)
    plain = model_config(arch, num_classes=10)
    config = dataclasses.replace(plain, bypass=bypass if bypass in ("depthwise", "pointwise") else "none")
    dense = create_model(arch, **config_to_json(config))
    example = torch.randn(1, 3, side, side)
    plain_macs = count_costs(create_model(arch, **config_to_json(plain)), example).macs
    costs = ChannelCostModel.measure(dense, block_paths(dense), example, plain_macs)
    blocks = install_lapp_blocks(dense, folded_bypass=bypass == "folded", temperature=0.5)
    _trained_looking(dense, seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # thresholds as if learned: some layers pruned hard, others barely
        for block in blocks.values():
            block.gate.threshold.fill_(float(torch.empty(()).uniform_(*thresholds, generator=generator)))
    keep = calibrate_keep(list(blocks.values()), costs, target)
    return dense, config, blocks, keep, costs, example


@pytest.mark.parametrize(
    ("arch", "side", "bypass"),
    [
        ("resnet20", 32, "depthwise"),
        ("resnet20", 32, "pointwise"),
        ("resnet20", 32, "folded"),
        ("resnet20", 32, "none"),
        ("resnet18", 64, "depthwise"),
    ],
)
def test_masked_and_physically_pruned_networks_give_the_same_logits(arch: str, side: int, bypass: str) -> None:
    model, config, blocks, keep, _, _ = _lapp_model(arch, side, bypass, target=0.5)
    freeze_masks(list(blocks.values()), keep)
    small_config, small = extract_pruned(model, arch, config, blocks, keep)
    x = torch.randn(4, 3, side, side)
    with torch.no_grad():
        masked_logits, small_logits = model.eval()(x), small.eval()(x)
    torch.testing.assert_close(small_logits, masked_logits, atol=1e-5, rtol=1e-5)
    assert sum(small_config.block_widths) < sum(config.block_widths)
    rebuilt = create_model(arch, **config_to_json(small_config))  # what an artifact would store
    rebuilt.load_state_dict(small.state_dict())


@pytest.mark.parametrize(("target", "bypass"), [(0.3, "depthwise"), (0.403, "depthwise"), (0.7, "folded")])
def test_extracted_network_meets_the_flops_target_with_its_bypass_counted(target: float, bypass: str) -> None:
    model, config, blocks, keep, _costs, example = _lapp_model("resnet20", 32, bypass, target, thresholds=(-3, -2))
    small_config, small = extract_pruned(model, "resnet20", config, blocks, keep)
    plain = count_costs(create_model("resnet20"), example).macs
    achieved = count_costs(small, example).macs / plain
    assert achieved <= target
    assert achieved == pytest.approx(target, rel=0.02)
    has_bypass = any(".bypass." in name for name in small.state_dict())
    assert has_bypass is (bypass == "depthwise") and small_config.bypass == config.bypass
    if has_bypass:  # the bypass is part of the pruned network's MACs
        without = create_model("resnet20", **config_to_json(dataclasses.replace(small_config, bypass="none")))
        assert count_costs(without, example).macs < count_costs(small, example).macs


def test_calibration_never_readmits_a_retired_channel() -> None:
    _model, _, blocks, _, costs, _ = _lapp_model("resnet20", 32, "depthwise", 1.0, thresholds=(-9, -8))
    generator = torch.Generator().manual_seed(1)
    for block in blocks.values():  # retire a random half of each block's channels
        block.alive.copy_(torch.rand(block.width, generator=generator) < 0.5)
        block.alive[0] = True
    keep = calibrate_keep(list(blocks.values()), costs, 1.0)  # the budget would fit every channel
    for block, kept in zip(blocks.values(), keep, strict=True):
        assert kept.tolist() == torch.nonzero(block.alive).flatten().tolist()
    for block, kept in zip(blocks.values(), calibrate_keep(list(blocks.values()), costs, 0.3), strict=True):
        assert bool(block.alive[kept].all())


def test_retired_channels_stay_masked_when_the_threshold_falls() -> None:
    _, _, blocks, _, costs, _ = _lapp_model("resnet20", 32, "depthwise", 1.0, thresholds=(0.5, 0.5))
    block = next(iter(blocks.values()))
    below = block.margins() <= 0
    assert retire_channels(list(blocks.values()), costs, floor_ratio=0.0) > 0
    before = block.mask()[0].detach().clone()
    assert torch.equal(before.bool(), ~below)
    with torch.no_grad():
        block.gate.threshold.fill_(-9.0)  # would keep every channel
    assert torch.equal(block.mask()[0].detach(), before)
    assert retire_channels(list(blocks.values()), costs, floor_ratio=0.0) == 0


@pytest.mark.parametrize("floor", [0.9, 0.6])
def test_retirement_stops_at_the_schedules_target(floor: float) -> None:
    _, _, blocks, _, costs, _ = _lapp_model("resnet20", 32, "depthwise", 1.0, thresholds=(0.0, 1.5))
    retire_channels(list(blocks.values()), costs, floor_ratio=floor)
    ratio = float(costs.ratio([int(block.alive.sum()) for block in blocks.values()]))
    assert floor <= ratio <= floor + max(costs.per_channel_macs) / costs.dense_macs


def test_calibration_keeps_the_channels_above_the_learned_thresholds_first() -> None:
    _, _, blocks, keep, _, _ = _lapp_model("resnet20", 32, "folded", target=0.5)
    for block, kept in zip(blocks.values(), keep, strict=True):
        margins = block.gate.margins(block.scores())
        dropped = torch.ones(block.width, dtype=torch.bool)
        dropped[kept] = False
        assert kept.numel() >= 1
        if dropped.any() and kept.numel() > 0:
            # within a layer, every kept channel scores at least as high as every dropped one
            assert margins[kept].min() >= margins[dropped].max()


def test_uniform_control_thins_every_block_by_one_factor() -> None:
    from workers.lapp import uniform_config

    config = model_config("resnet20")
    thin = uniform_config("resnet20", config, 0.4, image_size=32)
    model = create_model("resnet20", **config_to_json(thin))
    ratio = (
        count_costs(model, torch.zeros(1, 3, 32, 32)).macs
        / count_costs(create_model("resnet20"), torch.zeros(1, 3, 32, 32)).macs
    )
    assert 0.38 <= ratio <= 0.4
    factors = {round(w / full, 1) for w, full in zip(thin.block_widths, config.block_widths, strict=True)}
    assert len(factors) <= 2  # only rounding to whole channels separates the blocks
    assert dataclasses.replace(thin, block_widths=config.block_widths) == config
