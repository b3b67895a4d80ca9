import torch
import torch.nn.functional as F
from torch import nn

from workers.lapp import Bypass, fold_bypass


def _randomise_bn(bn: nn.BatchNorm2d, generator: torch.Generator) -> None:
    channels = bn.num_features
    with torch.no_grad():
        bn.weight.copy_(torch.randn(channels, generator=generator))
        bn.bias.copy_(torch.randn(channels, generator=generator))
        bn.running_mean.copy_(torch.randn(channels, generator=generator))
        bn.running_var.copy_(torch.rand(channels, generator=generator) + 0.1)


def _folded_forward(kernel: torch.Tensor, state: dict, x: torch.Tensor, stride: int) -> torch.Tensor:
    bn = nn.BatchNorm2d(kernel.shape[0]).eval()
    bn.load_state_dict(state)
    return bn(F.conv2d(x, kernel, stride=stride, padding=1))


def test_folding_the_bypass_into_the_3x3_kernel_is_exact() -> None:
    generator = torch.Generator().manual_seed(0)
    for stride in (1, 2):
        conv, bn = nn.Conv2d(6, 5, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(5)
        bypass = Bypass(6, 5, stride)
        _randomise_bn(bn, generator)
        _randomise_bn(bypass.bn, generator)
        for module in (conv, bn, bypass):
            module.eval()
        x = torch.randn(3, 6, 9, 9, generator=generator)
        kernel, state = fold_bypass(conv, bn, bypass)
        expected = bn(conv(x)) + bypass(x)
        torch.testing.assert_close(_folded_forward(kernel, state, x, stride), expected, atol=1e-5, rtol=1e-5)


def test_without_a_bypass_conv_and_bn_are_kept_as_they_are() -> None:
    conv, bn = nn.Conv2d(4, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3)
    kernel, state = fold_bypass(conv, bn, None)
    assert torch.equal(kernel, conv.weight)
    assert torch.equal(state["weight"], bn.weight) and torch.equal(state["running_var"], bn.running_var)
