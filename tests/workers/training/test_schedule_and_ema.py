import itertools

import pytest
import torch
from torch import nn

from workers.training.config import TrainConfig
from workers.training.ema import WeightEma
from workers.training.schedule import learning_rate


def test_warmup_then_cosine_reaches_min_lr() -> None:
    config = TrainConfig(epochs=10, lr=1.0, warmup_epochs=2, warmup_lr=0.0, min_lr=0.01)
    lrs = [learning_rate(config, s, steps_per_epoch=5) for s in range(50)]
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.5) and lrs[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))
    assert lrs[-1] == pytest.approx(0.01, abs=2e-3)


def test_step_schedule_decays_at_each_milestone() -> None:
    config = TrainConfig(epochs=6, lr=1.0, schedule="step", milestones=(2, 4), gamma=0.5)
    assert [learning_rate(config, e * 3, steps_per_epoch=3) for e in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]


def test_ema_averages_weights_and_copies_buffers() -> None:
    model = nn.BatchNorm1d(2)
    ema = WeightEma(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(3.0)
        model.running_mean.fill_(7.0)
    ema.update(model)  # warm-up decay min(0.5, 2/11) = 2/11
    expected = 1.0 + (3.0 - 1.0) * (1 - 2 / 11)
    assert torch.allclose(ema.shadow.weight, torch.full((2,), expected))
    assert torch.equal(ema.shadow.running_mean, torch.full((2,), 7.0))
    assert not ema.shadow.weight.requires_grad


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ValueError):
        TrainConfig(optimizer="lion")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TrainConfig(ema_decay=1.5)
