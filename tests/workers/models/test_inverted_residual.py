import pytest
import torch

from workers.models.inverted_residual import (
    InvertedResidualConfig,
    InvertedResidualNet,
    count_parameters_for,
    width_for_parameters,
)
from workers.models.zoo import create_model


def test_width_one_is_mobilenet_v2() -> None:
    assert count_parameters_for(InvertedResidualConfig()) == 3_504_872  # torchvision mobilenet_v2


@pytest.mark.parametrize("target", [1_460_844, 5_126_440])
def test_width_can_be_matched_to_a_parameter_count(target: int) -> None:
    config = width_for_parameters(target)
    assert count_parameters_for(config) == pytest.approx(target, rel=0.01)


def test_forward_any_size_and_residuals_where_shapes_match() -> None:
    model = create_model("inverted_residual", width=0.5, num_classes=10).eval()
    assert isinstance(model, InvertedResidualNet)
    with torch.no_grad():
        for size in (32, 57):
            assert model(torch.randn(2, 3, size, size)).shape == (2, 10)
    skips = [getattr(m, "has_skip", None) for m in model.features]
    assert True in skips and False in skips
