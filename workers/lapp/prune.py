"""LAPP end to end: prune progressively while training from scratch, extract, keep training small.

Schedule of one run of ``epochs`` epochs:
1. epochs [0, pruning_epochs): the dense network (with its bypasses) trains with
   loss = cross-entropy + flops_weight * max(0, MACs(masks) / MACs(dense) - target_t)^2, where target_t
   descends linearly from 1 to ``target_flops_ratio`` over the first ``ramp_fraction`` of these
   epochs and then stays there. Before each step, channels under their layer's threshold are retired
   for good, weakest first, as long as the network stays at or above target_t (workers/lapp/schedule.py):
   the target is approached from above and nothing comes back. The hinge pushes thresholds up while the
   network is over target_t. Weights follow SGD; the per-layer thresholds follow Adam.
2. at the end of epoch ``pruning_epochs``: masks freeze (dropping the weakest kept channels if still
   over the target, never re-admitting one), ``folded`` bypasses fold into their convs and pruned
   channels are removed (a smaller config of the same zoo family; ungated bypasses stay).
3. the remaining epochs train that small network; the learning rate keeps following one cosine
   schedule over the whole run.
MACs ratios are against the plain dense network (no bypass): an ungated bypass spends budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from registry.contract.kinds.pruning import LappPruneParams
from workers.data.dataset import ImageDataset
from workers.lapp.cost_model import ChannelCostModel
from workers.lapp.extract import calibrate_keep, extract_pruned, freeze_masks
from workers.lapp.prunable import BYPASS_KINDS, NETWORK_BYPASSES, install_lapp_blocks
from workers.lapp.schedule import TargetSchedule, retire_channels
from workers.lapp.training import Augment, cosine_lr, evaluate, sgd, steps_per_epoch, train_epoch
from workers.models.flops import count_costs
from workers.models.zoo import config_to_json, create_model, model_config

Progress = Callable[[float, dict[str, Any]], None]  # (fraction of the run done, epoch metrics)
ShouldStop = Callable[[], bool]  # polled before every step; True aborts with PruningStopped


THRESHOLD_TRAVEL = 6.0  # standard deviations of a layer's scores a threshold can rise during the ramp


class PruningStopped(Exception):
    """Raised when ``should_stop`` asked the run to end early."""


# The defaults of an ``lapp_prune`` job, which a user sees at submission (registry/contract/kinds/pruning.py).
_PRUNE_JOB = LappPruneParams.model_construct()


@dataclass(frozen=True)
class LappSettings:
    bypass: str = _PRUNE_JOB.bypass  # one of BYPASS_KINDS (workers/lapp/prunable.py): ungated, folded ablation, none
    temperature: float = 0.5  # sigmoid-surrogate temperature, in standard deviations of a layer's scores
    flops_weight: float = 5.0  # lambda of the squared FLOPs-ratio term
    ramp_fraction: float = 0.6  # share of the pruning epochs over which the target descends from 1
    threshold_lr: float = 0.05  # Adam step size of the thresholds; at least THRESHOLD_TRAVEL / ramp steps
    lr: float = _PRUNE_JOB.lr  # peak SGD learning rate of the weights (cosine over the whole run)
    weight_decay: float = 5e-4  # SGD weight decay of the weights (not of the thresholds)
    batch_size: int = _PRUNE_JOB.batch_size  # examples per step
    device: str = "cpu"  # torch device of the run


@dataclass
class PruneResult:
    model: nn.Module  # the extracted, trained small network (a plain zoo model), in eval mode
    arch: str  # zoo variant name
    arch_config: dict[str, Any]  # config JSON: create_model(arch, **arch_config) rebuilds ``model``
    macs: int  # multiply-accumulates of ``model`` at the training image size (workers.models.flops)
    flops: int  # 2 * macs
    params: int  # parameters of ``model``
    dense_macs: int  # MACs of the unpruned network at the same input
    dense_params: int  # parameters of the unpruned network
    per_layer_kept: dict[str, tuple[int, int]]  # block path -> (kept inner channels, original width)
    accuracy: float  # top-1 on ``val_data`` at the end of training
    learned_flops_ratio: float  # MACs ratio of the live masks at the end of the pruning epochs
    calibration_dropped: int  # channels calibration dropped to meet the target (it never re-admits)
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry of metrics per epoch

    @property
    def flops_ratio(self) -> float:
        return self.macs / self.dense_macs


def prune(
    arch: str,
    train_data: ImageDataset,
    val_data: ImageDataset,
    target_flops_ratio: float,
    epochs: int,
    pruning_epochs: int,
    seed: int = 0,
    *,
    settings: LappSettings | None = None,
    augment: Augment | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> PruneResult:
    """Train zoo model ``arch`` from scratch on ``train_data`` while pruning it to ``target_flops_ratio``
    of its dense MACs; return the extracted small network after ``epochs`` epochs in all."""
    settings = settings or LappSettings()
    if not 1 <= pruning_epochs <= epochs:
        raise ValueError(f"need 1 <= pruning_epochs <= epochs, got {pruning_epochs} and {epochs}")
    if settings.bypass not in BYPASS_KINDS:
        raise ValueError(f"bypass must be one of {', '.join(BYPASS_KINDS)}, got {settings.bypass!r}")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    device = torch.device(settings.device)
    network_bypass = settings.bypass if settings.bypass in NETWORK_BYPASSES else "none"
    plain = model_config(arch, num_classes=train_data.num_classes, in_channels=train_data.channels)
    config = dataclasses.replace(plain, bypass=network_bypass)
    model = create_model(arch, **config_to_json(config))
    example = torch.zeros(1, train_data.channels, *train_data.image_size)
    blocks = install_lapp_blocks(model, settings.bypass == "folded", settings.temperature)
    # Costs of the network that will be extracted (its ungated bypasses included, folded ones gone),
    # relative to the plain dense network.
    dense_macs = count_costs(create_model(arch, **config_to_json(plain)), example).macs
    costs = ChannelCostModel.measure(create_model(arch, **config_to_json(config)), list(blocks), example, dense_macs)
    if not costs.min_ratio() <= target_flops_ratio <= 1.0:
        raise ValueError(f"target_flops_ratio must be in [{costs.min_ratio():.4f}, 1] for {arch}")
    model.to(device)

    per_epoch = steps_per_epoch(train_data, settings.batch_size)
    total_steps, pruning_steps = epochs * per_epoch, pruning_epochs * per_epoch
    ramp_steps = max(1, round(settings.ramp_fraction * pruning_steps))
    schedule = TargetSchedule(target_flops_ratio, ramp_steps)
    history: list[dict[str, Any]] = []

    def lr_at(step: int) -> float:
        return cosine_lr(settings.lr, step, total_steps)

    def before_step(step: int) -> None:
        if should_stop is not None and should_stop():
            raise PruningStopped(f"stopped at step {step}")
        schedule.step = step
        if step < pruning_steps:
            retire_channels(list(blocks.values()), costs, schedule.target())

    def flops_loss() -> torch.Tensor:
        widths = torch.stack([block.mask()[0].sum() for block in blocks.values()]).double()
        return settings.flops_weight * torch.relu(costs.ratio(widths) - schedule.target()) ** 2

    thresholds = [block.gate.threshold for block in blocks.values()]
    threshold_ids = {id(t) for t in thresholds}
    weights = [p for p in model.parameters() if id(p) not in threshold_ids]
    weight_optimizer = sgd(weights, settings.lr, settings.weight_decay)
    # Short runs get a larger step, so thresholds can rise from -3 std through a layer within the ramp.
    threshold_lr = max(settings.threshold_lr, THRESHOLD_TRAVEL / ramp_steps)
    threshold_optimizer = torch.optim.Adam([{"params": thresholds, "scheduled": False}], lr=threshold_lr)

    step = 0
    for epoch in range(pruning_epochs):
        loss, step = train_epoch(
            model,
            train_data,
            [weight_optimizer, threshold_optimizer],
            batch_size=settings.batch_size,
            generator=generator,
            lr_at=lr_at,
            first_step=step,
            extra_loss=flops_loss,
            augment=augment,
            before_step=before_step,
        )
        widths = [int(block.mask()[0].sum()) for block in blocks.values()]
        metrics = {"phase": "pruning", "loss": loss, "flops_ratio": float(costs.ratio(widths))}
        _report(history, epoch, epochs, metrics, model, val_data, progress)

    model.cpu()  # extraction copies weights into a new (CPU) network; the small one then trains on `device`
    retire_channels(list(blocks.values()), costs, target_flops_ratio)
    learned = [int(block.alive.sum()) for block in blocks.values()]
    keep = [kept.cpu() for kept in calibrate_keep(list(blocks.values()), costs, target_flops_ratio)]
    freeze_masks(list(blocks.values()), keep)
    small_config, small = extract_pruned(model, arch, config, blocks, keep)
    small.to(device)
    weight_optimizer = sgd(list(small.parameters()), settings.lr, settings.weight_decay)
    for epoch in range(pruning_epochs, epochs):
        loss, step = train_epoch(
            small,
            train_data,
            [weight_optimizer],
            batch_size=settings.batch_size,
            generator=generator,
            lr_at=lr_at,
            first_step=step,
            augment=augment,
            before_step=before_step,
        )
        _report(history, epoch, epochs, {"phase": "small", "loss": loss}, small, val_data, progress)

    small.eval()
    report = count_costs(small, example.to(device))
    small.cpu()
    return PruneResult(
        model=small,
        arch=arch,
        arch_config=config_to_json(small_config),
        macs=report.macs,
        flops=report.flops,
        params=report.params,
        dense_macs=costs.dense_macs,
        dense_params=sum(p.numel() for p in create_model(arch, **config_to_json(plain)).parameters()),
        per_layer_kept={
            path: (int(k.numel()), block.width) for (path, block), k in zip(blocks.items(), keep, strict=True)
        },
        accuracy=evaluate(small, val_data),
        learned_flops_ratio=float(costs.ratio(learned)),
        calibration_dropped=sum(learned) - sum(int(k.numel()) for k in keep),
        history=history,
    )


def _report(
    history: list[dict[str, Any]],
    epoch: int,
    epochs: int,
    metrics: dict[str, Any],
    model: nn.Module,
    val_data: ImageDataset,
    progress: Progress | None,
) -> None:
    entry = {"epoch": epoch + 1, **metrics, "val_accuracy": evaluate(model, val_data)}
    history.append(entry)
    if progress is not None:
        progress((epoch + 1) / epochs, entry)
