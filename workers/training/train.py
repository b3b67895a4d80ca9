"""The classifier training engine behind the ``train``, ``evaluate`` and ``train_emov2`` jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from workers.data.batching import iterate_batches, to_model_input
from workers.data.dataset import ImageDataset
from workers.training.augment import augment_batch
from workers.training.config import TrainConfig, TrainingCancelled, TrainResult
from workers.training.ema import WeightEma
from workers.training.evaluate import evaluate_classifier, resolve_device
from workers.training.schedule import learning_rate

Progress = Callable[[float, str], None]  # (fraction done in [0, 1], human message)
ShouldStop = Callable[[], bool]


def train_classifier(
    model: nn.Module,
    train: ImageDataset,
    config: TrainConfig,
    val: ImageDataset | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``train``; evaluate on ``val`` after every epoch when given.

    ``progress`` is called every ``config.log_every`` steps and at each epoch end; ``should_stop`` is
    polled before every step and at each epoch end, and a True answer raises ``TrainingCancelled``. The returned model
    (EMA weights when ``ema_decay`` is set) is on the CPU in eval mode.
    """
    if len(train) == 0:
        raise ValueError("the training set is empty")
    device = resolve_device(config.device)
    previous_threads = torch.get_num_threads()
    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    try:
        # fork_rng keeps the caller's global RNG untouched while dropout/drop path use our seed
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(config.seed)
            return _train(model, train, config, val, device, progress, should_stop)
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    model: nn.Module,
    train: ImageDataset,
    config: TrainConfig,
    val: ImageDataset | None,
    device: torch.device,
    progress: Progress | None,
    should_stop: ShouldStop | None,
) -> TrainResult:
    started = time.perf_counter()
    model.to(device).train()
    optimizer = _build_optimizer(model, config)
    ema = WeightEma(model, config.ema_decay) if config.ema_decay is not None else None
    generator = torch.Generator().manual_seed(config.seed)
    # drop the ragged last batch (BatchNorm needs > 1 example) unless the set is smaller than a batch
    drop_last = len(train) > config.batch_size
    steps_per_epoch = len(train) // config.batch_size if drop_last else 1
    total_steps = config.epochs * steps_per_epoch
    use_amp = config.amp and device.type == "cuda"

    def stop_if_asked(step: int) -> None:
        if should_stop is not None and should_stop():
            raise TrainingCancelled(f"cancelled after {step} of {total_steps} steps")

    def report(step: int, message: str) -> None:
        stop_if_asked(step)
        if progress is not None:
            progress(step / total_steps, message)

    history: list[dict[str, Any]] = []
    step = 0
    for epoch in range(config.epochs):
        loss_sum = correct = seen = 0.0
        batches = iterate_batches(
            train.images,
            train.labels,
            config.batch_size,
            shuffle=True,
            generator=generator,
            drop_last=drop_last,
        )
        for images, labels in batches:
            stop_if_asked(step)
            lr = learning_rate(config, step, steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            inputs = to_model_input(augment_batch(images, config, generator).to(device))  # [B, C, H, W]
            labels = labels.to(device)  # [B]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(inputs)  # [B, num_classes]
            loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {float(loss)} at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if ema is not None:
                ema.update(model)
            step += 1
            loss_value = float(loss.detach())
            loss_sum += loss_value * labels.shape[0]
            correct += int((logits.detach().argmax(1) == labels).sum())
            seen += labels.shape[0]
            if step % config.log_every == 0 and step % steps_per_epoch != 0:
                report(
                    step,
                    f"epoch {epoch + 1}/{config.epochs} step {step}/{total_steps} loss {loss_value:.4f}",
                )
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": loss_sum / seen,
            "train_top1": correct / seen,
        }
        evaluated = ema.shadow if ema is not None else model
        if val is not None:
            val_metrics = evaluate_classifier(evaluated, val, device=device.type, should_stop=should_stop)
            record.update({f"val_{k}": v for k, v in val_metrics.items() if k != "n"})
        history.append(record)
        summary = ", ".join(f"{k} {v:.4f}" for k, v in record.items() if isinstance(v, float))
        report(step, f"epoch {epoch + 1}/{config.epochs}: {summary}")
    final = (ema.shadow if ema is not None else model).cpu().eval()
    metrics: dict[str, Any] = {
        "epochs": config.epochs,
        "steps": step,
        "seconds": round(time.perf_counter() - started, 3),
        "parameters": sum(p.numel() for p in final.parameters()),
        "train_loss": history[-1]["train_loss"],
        "train_top1": history[-1]["train_top1"],
        "ema": ema is not None,
    }
    metrics.update({k: v for k, v in history[-1].items() if k.startswith("val_")})
    return TrainResult(model=final, metrics=metrics, history=history)


def _build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # weight decay only on weight matrices and conv kernels, not on biases, norms or LayerScale
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)
