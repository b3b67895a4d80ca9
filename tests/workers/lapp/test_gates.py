import torch

from workers.lapp import ChannelGate


def test_mask_is_hard_in_forward_and_trains_the_threshold() -> None:
    gate = ChannelGate(temperature=0.5, initial_threshold=0.0)
    scores = torch.tensor([0.1, 0.5, 0.9, 1.3])
    mask, _ = gate(scores)
    assert mask.tolist() == [0.0, 0.0, 1.0, 1.0]
    mask.sum().backward()  # asking for more kept channels must lower the threshold
    assert gate.threshold.grad is not None and gate.threshold.grad < 0


def test_initial_threshold_prunes_nothing() -> None:
    gate = ChannelGate(temperature=0.5)
    mask, _ = gate(torch.rand(64) + 0.5)
    assert bool((mask == 1).all())
