import pytest
import torch

from tests.workers.training.conftest import small_convnet
from workers.training import TrainConfig, TrainingCancelled, evaluate_classifier, train_classifier


def test_training_on_digits_beats_chance_by_far(digits_8px, fresh_convnet) -> None:
    train, test = digits_8px
    config = TrainConfig(
        epochs=6,
        batch_size=32,
        optimizer="adamw",
        lr=1e-2,
        weight_decay=0.05,
        warmup_epochs=1,
        label_smoothing=0.1,
        device="cpu",
    )
    before = evaluate_classifier(fresh_convnet, test, device="cpu")["top1"]
    result = train_classifier(fresh_convnet, train, config, val=test)
    assert before < 0.3
    assert result.metrics["val_top1"] > 0.85
    assert result.metrics["val_top1"] == evaluate_classifier(result.model, test, device="cpu")["top1"]
    assert [h["epoch"] for h in result.history] == list(range(1, 7))
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_same_seed_gives_identical_weights_and_another_seed_does_not(digits_8px) -> None:
    train, _ = digits_8px
    subset = train.subset(torch.arange(256))
    config = TrainConfig(
        epochs=2,
        batch_size=32,
        augmentation="randaugment",
        flip=True,
        ema_decay=0.99,
        grad_clip=1.0,
        device="cpu",
    )

    def run(seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)  # same init each time; the training seed decides the rest
        config.seed = seed
        return train_classifier(small_convnet(), subset, config).model.state_dict()

    first, second, other = run(1), run(1), run(2)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_progress_is_monotonic_and_should_stop_cancels(digits_8px, fresh_convnet) -> None:
    train, _ = digits_8px
    subset = train.subset(torch.arange(128))
    seen: list[float] = []
    config = TrainConfig(epochs=2, batch_size=16, log_every=3, device="cpu")
    train_classifier(fresh_convnet, subset, config, progress=lambda f, _msg: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 2

    calls = []
    with pytest.raises(TrainingCancelled):
        train_classifier(fresh_convnet, subset, config, should_stop=lambda: calls.append(1) or len(calls) >= 2)
    assert len(calls) == 2


def test_sgd_step_schedule_and_ema_train_too(digits_8px, fresh_convnet) -> None:
    train, test = digits_8px
    config = TrainConfig(
        epochs=4,
        batch_size=32,
        optimizer="sgd",
        lr=0.2,
        weight_decay=5e-4,
        schedule="step",
        milestones=(3,),
        ema_decay=0.9,
        augmentation="flip_crop",
        flip=False,
        device="cpu",
    )
    result = train_classifier(fresh_convnet, train, config, val=test)
    assert result.metrics["ema"] is True and result.metrics["val_top1"] > 0.7
    assert result.history[0]["lr"] == pytest.approx(0.2) and result.history[-1]["lr"] == pytest.approx(0.02)
    assert not result.model.training


def test_evaluate_reports_top5_only_with_more_than_five_classes(digits_8px, fresh_convnet) -> None:
    _, test = digits_8px
    metrics = evaluate_classifier(fresh_convnet, test, batch_size=100, device="cpu")
    assert set(metrics) == {"top1", "top5", "loss", "n"} and metrics["n"] == len(test)
    assert metrics["top1"] <= metrics["top5"]
    small = test.subset(torch.nonzero(test.labels < 4).flatten())
    small.num_classes = 4
    four_way = evaluate_classifier(small_convnet(num_classes=4), small, device="cpu")
    assert "top5" not in four_way and 0.0 <= four_way["top1"] <= 1.0


def test_evaluation_polls_should_stop_before_every_batch(digits_8px, fresh_convnet) -> None:
    _, test = digits_8px
    asked: list[int] = []

    def stop_at_the_third_batch() -> bool:
        asked.append(1)
        return len(asked) == 3

    with pytest.raises(TrainingCancelled):
        evaluate_classifier(fresh_convnet, test, batch_size=10, device="cpu", should_stop=stop_at_the_third_batch)
    assert len(asked) == 3 and len(test) > 30  # asked before each batch, stopped long before the end
