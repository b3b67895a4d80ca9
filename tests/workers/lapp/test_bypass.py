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


def _fully_pruned_block(kind: str):
    """The first downsampling block of a LAPP ResNet-20 with every inner channel masked."""
    from workers.lapp import install_lapp_blocks
    from workers.models import create_model

    torch.manual_seed(0)
    model = create_model("resnet20", bypass=kind if kind != "folded" else "none")
    blocks = install_lapp_blocks(model, folded_bypass=kind == "folded", temperature=0.5)
    block = blocks["stages.1.0"]
    block.frozen_mask = torch.zeros(block.width)
    return block.eval()


def test_the_ungated_bypass_carries_information_past_a_fully_pruned_block_and_the_folded_one_does_not() -> None:
    x = torch.randn(2, 16, 8, 8)
    ungated = _fully_pruned_block("depthwise")
    assert ungated.bypass is not None
    before = ungated(x)
    with torch.no_grad():
        ungated.bypass.conv.weight.mul_(2.0)
    assert (ungated(x) - before).abs().max() > 1e-3  # its output still depends on the bypass's filters
    folded = _fully_pruned_block("folded")
    assert folded.bypass1 is not None and folded.bypass2 is not None
    before = folded(x)
    with torch.no_grad():
        folded.bypass1.conv.weight.mul_(2.0)
        folded.bypass2.conv.weight.mul_(2.0)
    torch.testing.assert_close(folded(x), before)  # gated with the channels it sits among: nothing gets past


def test_a_bypass_costs_its_depthwise_or_pointwise_macs() -> None:
    from workers.models import create_model
    from workers.models.flops import count_costs

    example = torch.zeros(1, 3, 32, 32)
    plain = count_costs(create_model("resnet20"), example).macs
    # per stage (side, in -> out per block): 3 blocks; a 3x3 depthwise costs 9 * out * side^2 per block
    stages = [(32, [(16, 16)] * 3), (16, [(16, 32)] + [(32, 32)] * 2), (8, [(32, 64)] + [(64, 64)] * 2)]
    depthwise = sum(9 * out * side * side for side, blocks in stages for _, out in blocks)
    pointwise = sum(inp * out * side * side for side, blocks in stages for inp, out in blocks)
    assert count_costs(create_model("resnet20", bypass="depthwise"), example).macs - plain == depthwise
    assert count_costs(create_model("resnet20", bypass="pointwise"), example).macs - plain == pointwise
    assert depthwise / plain < 0.04  # lightweight: about 2.4% of ResNet-20
