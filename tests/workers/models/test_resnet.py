import dataclasses

import pytest
import torch

from workers.models import config_to_json, create_model, model_config
from workers.models.flops import count_parameters


@pytest.mark.parametrize(
    ("name", "num_classes", "published_millions"),
    [("resnet20", 10, 0.27), ("resnet32", 10, 0.46), ("resnet56", 10, 0.85), ("resnet18", 1000, 11.69)],
)
def test_parameter_counts_match_the_published_figures(name: str, num_classes: int, published_millions: float) -> None:
    model = create_model(name, num_classes=num_classes)
    assert round(count_parameters(model) / 1e6, 2) == published_millions


@pytest.mark.parametrize(("name", "side"), [("resnet20", 32), ("resnet18", 64)])
def test_forward_gives_one_logit_per_class(name: str, side: int) -> None:
    model = create_model(name, num_classes=7, in_channels=1).eval()
    assert model(torch.randn(2, 1, side, side)).shape == (2, 7)


def test_a_thinner_config_is_a_genuinely_smaller_model_of_the_same_family() -> None:
    dense = model_config("resnet20")
    thin = dataclasses.replace(dense, block_widths=(3, 4, 5, 6, 7, 8, 9, 10, 11))
    model = create_model("resnet20", **config_to_json(thin))
    assert [block.conv1.out_channels for stage in model.stages for block in stage] == list(thin.block_widths)
    assert count_parameters(model) < count_parameters(create_model("resnet20")) / 3
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_config_json_round_trip_rebuilds_the_same_architecture() -> None:
    config = model_config("resnet18", num_classes=5, block_widths=(8, 9, 10, 11, 12, 13, 14, 15))
    original = create_model("resnet18", **config_to_json(config))
    # JSON turns tuples into lists; the zoo must accept exactly what an artifact stores.
    as_json = {k: list(v) if isinstance(v, tuple) else v for k, v in config_to_json(config).items()}
    rebuilt = create_model("resnet18", **as_json)
    assert rebuilt.load_state_dict(original.state_dict()) is not None
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in original.state_dict().items()
    }


def test_option_a_shortcuts_have_no_parameters() -> None:
    model = create_model("resnet20")
    assert not any("shortcut" in name for name, _ in model.named_parameters())


@pytest.mark.parametrize(
    "overrides",
    [{"block_widths": (16,) * 8}, {"stage_widths": (32, 16, 64)}, {"block_widths": (0,) + (16,) * 8}],
)
def test_inconsistent_widths_are_rejected(overrides: dict) -> None:
    with pytest.raises(ValueError):
        model_config("resnet20", **overrides)
