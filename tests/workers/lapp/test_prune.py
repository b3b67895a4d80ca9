import pytest
import torch

from workers.data.digits import load_digits_dataset
from workers.lapp import LappSettings, PruningStopped, prune
from workers.models import create_model


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset(image_size=8, split="train"), load_digits_dataset(image_size=8, split="test")


def test_tiny_lapp_run_learns_digits_and_lands_on_the_flops_target(digits) -> None:
    train, test = digits
    reports = []
    result = prune(
        "resnet20", train, test, 0.5, epochs=3, pruning_epochs=2, seed=0, progress=lambda f, m: reports.append((f, m))
    )
    assert result.accuracy > 0.5  # chance is 0.1
    # the schedule reaches the target from above; calibration only drops the last channel or two
    assert 0.49 <= result.flops_ratio <= 0.5 <= result.learned_flops_ratio <= 0.51
    assert 0 <= result.calibration_dropped <= 3
    assert result.history[0]["flops_ratio"] > result.history[1]["flops_ratio"]
    assert result.arch_config["bypass"] == "depthwise"  # the ungated bypass stays in the pruned network
    assert any(".bypass.conv." in name for name in result.model.state_dict())
    assert [f for f, _ in reports] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert [m["phase"] for _, m in reports] == ["pruning", "pruning", "small"]
    assert sum(kept for kept, _ in result.per_layer_kept.values()) < sum(
        full for _, full in result.per_layer_kept.values()
    )
    rebuilt = create_model(result.arch, **result.arch_config)
    rebuilt.load_state_dict(result.model.state_dict())
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(rebuilt.eval()(x), result.model(x))


def test_should_stop_aborts_the_run(digits) -> None:
    train, test = digits
    calls = iter(range(1000))
    with pytest.raises(PruningStopped):
        prune("resnet20", train, test, 0.5, 2, 1, settings=LappSettings(), should_stop=lambda: next(calls) >= 3)


def test_unreachable_targets_are_refused(digits) -> None:
    train, test = digits
    with pytest.raises(ValueError, match="target_flops_ratio"):
        prune("resnet20", train, test, 0.001, 2, 1)
