import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from workers.models import available_models, create_model
from workers.models.flops import count_costs, example_call, example_input_shape, model_costs


@pytest.mark.parametrize(
    ("name", "published_macs"), [("resnet20", 40.8e6), ("resnet56", 125.0e6), ("resnet18", 1.82e9)]
)
def test_macs_match_the_published_figures(name: str, published_macs: float) -> None:
    assert model_costs(name).macs == pytest.approx(published_macs, rel=0.01)


@pytest.mark.parametrize("name", available_models())
def test_every_zoo_model_agrees_with_torch_flop_counter(name: str) -> None:
    """Our function-level count equals PyTorch's aten-level count (FLOPs = 2 * MACs)."""
    model = create_model(name).eval()
    torch.manual_seed(0)
    call = example_call(name)
    ours = count_costs(model, call)
    torch.manual_seed(0)
    # The math attention backend decomposes into matmuls the reference counter knows on CPU.
    with FlopCounterMode(display=False) as reference, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        call(model)
    assert ours.flops > 0
    assert ours.flops == reference.get_total_flops()


def test_per_layer_costs_add_up_and_name_the_layers() -> None:
    report = model_costs("resnet20")
    by_layer = report.macs_by_layer()
    assert sum(by_layer.values()) == report.macs
    assert by_layer["conv1"] == 3 * 16 * 9 * 32 * 32
    assert by_layer["fc"] == 64 * 10
    assert by_layer["stages.0.0.conv1"] == 16 * 16 * 9 * 32 * 32


class _FunctionalAttention(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, L, D]
        scores = torch.einsum("bld,bmd->blm", x, x)  # [B, L, L]
        mixed = scores.softmax(-1) @ x  # [B, L, D]
        return F.scaled_dot_product_attention(mixed[:, None], mixed[:, None], mixed[:, None])


def test_functional_matrix_products_are_counted() -> None:
    x = torch.randn(2, 5, 8)
    ours = count_costs(_FunctionalAttention(), x)
    with FlopCounterMode(display=False) as reference, sdpa_kernel(SDPBackend.MATH):
        _FunctionalAttention()(x)
    assert ours.macs == 2 * 5 * 5 * 8 * 2 + 2 * 5 * 5 * (8 + 8)
    assert ours.flops == reference.get_total_flops()


def test_models_without_a_known_input_are_refused_loudly() -> None:
    class _Config:
        num_classes = 10

    with pytest.raises(LookupError, match="no example input"):
        example_input_shape("not-a-family", _Config())


def test_example_inputs_follow_the_config() -> None:
    assert example_input_shape("resnet20") == (3, 32, 32)
    assert example_input_shape("resnet18") == (3, 224, 224)
