"""Evaluation of every UVA inference mode against an honest baseline (job kind ``evaluate_uva``).

- policy: closed-loop success in the point-goal sim over fresh seeds, beside a uniform-random policy
- video: future-frame error against copying the last history frame, overall and split by expert and
  random-action clips (their motion differs: experts head straight for a goal)
- forward dynamics, on the training action distribution: with each held-out clip's logged actions,
  the predicted point against a no-motion predictor and against the same model with the actions
  masked (video mode); and with another held-out clip's actions (a counterfactual drawn from the same
  distribution), against the path those actions integrate to
- inverse dynamics: action error against always predicting the mean action
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from registry.contract.kinds.uva import EvaluateUvaParams
from workers.models.uva import UVA
from workers.uva.clips import ClipIndex, build_clip_index
from workers.uva.dataset import UVADataset
from workers.uva.inference import UVAPredictor
from workers.uva.sim import (
    SUCCESS,
    WRONG_GOAL,
    PointGoalConfig,
    PointGoalSim,
    point_positions_from_frames,
    render_frames,
)

PolicyFn = Callable[[np.ndarray], np.ndarray]  # history uint8 [N, F, C, H, W] -> actions [N, F * A, 2]


# The defaults of an ``evaluate_uva`` job, which a user sees at submission (registry/contract/kinds/uva.py).
_EVALUATE_JOB = EvaluateUvaParams.model_construct()


@dataclass(frozen=True)
class UVAEvalConfig:
    num_policy_seeds: int = _EVALUATE_JOB.num_policy_seeds  # closed-loop episodes (one sim seed each)
    policy_seed_offset: int = 1_000_000  # sim seeds start here, far from generated training seeds
    horizon: int = 40  # steps per closed-loop episode
    execute_actions: int = 4  # actions executed from each predicted chunk before replanning
    num_clips: int = _EVALUATE_JOB.num_clips  # held-out clips for the video, forward- and inverse-dynamics metrics
    num_iter: int = _EVALUATE_JOB.num_iter  # MAR decoding steps for video modes (16: a grid cell a step at 4x4)
    num_action_samples: int = 8  # inverse dynamics: samples averaged into a conditional-mean estimate
    temperature: float = 1.0
    seed: int = _EVALUATE_JOB.seed


def evaluate_uva(model: UVA, dataset: UVADataset, config: UVAEvalConfig | None = None) -> dict[str, Any]:
    """All metrics as a flat JSON-ready dict. ``dataset`` should hold episodes unseen in training."""
    config = config or UVAEvalConfig()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    predictor = UVAPredictor(model, config.num_iter, config.temperature)
    c = model.config
    clips = build_clip_index(dataset, c.num_frames, c.actions_per_frame)
    chosen = clips.subset(rng.choice(len(clips), size=min(config.num_clips, len(clips)), replace=False))
    metrics: dict[str, Any] = {}
    predicted_video = predictor.video(dataset.frames[chosen.history_rows])  # actions masked
    metrics.update(video_prediction_metrics(dataset, chosen, predicted_video))
    metrics.update(inverse_dynamics_metrics(predictor, dataset, chosen, config.num_action_samples))
    if dataset.positions is not None and dataset.sim_config is not None:
        metrics.update(forward_dynamics_metrics(predictor, dataset, chosen, predicted_video, dataset.sim_config, rng))
    if dataset.sim_config is not None:
        seeds = range(config.policy_seed_offset, config.policy_seed_offset + config.num_policy_seeds)
        uva = closed_loop(predictor.policy, dataset.sim_config, seeds, c.num_frames, c.actions_per_frame, config)
        random_policy = uniform_random_policy(c.num_actions, c.action_dim, np.random.default_rng(config.seed))
        baseline = closed_loop(random_policy, dataset.sim_config, seeds, c.num_frames, c.actions_per_frame, config)
        metrics.update({f"policy_{k}": v for k, v in uva.items()})
        metrics.update({f"random_policy_{k}": v for k, v in baseline.items()})
    return metrics


def closed_loop(
    policy: PolicyFn,
    sim_config: PointGoalConfig,
    seeds: range | list[int],
    num_frames: int,
    actions_per_frame: int,
    config: UVAEvalConfig,
) -> dict[str, float]:
    """Run one episode per seed, replanning every ``execute_actions`` steps from the frame history."""
    sim = PointGoalSim(sim_config, list(seeds))
    frames = [sim.render()]  # frames[t]: [N, C, H, W]
    while sim.steps < config.horizon:
        t = sim.steps
        rows = [max(0, t - (num_frames - 1 - i) * actions_per_frame) for i in range(num_frames)]
        history = np.stack([frames[r] for r in rows], axis=1)  # [N, F, C, H, W]
        chunk = policy(history)
        for action in chunk[:, : config.execute_actions].transpose(1, 0, 2):
            if sim.steps >= config.horizon:
                break
            sim.step(action)
            frames.append(sim.render())
    reached = sim.outcomes == SUCCESS
    return {
        "success_rate": float(reached.mean()),
        "wrong_goal_rate": float((sim.outcomes == WRONG_GOAL).mean()),
        "mean_steps_to_success": float(sim.steps_to_outcome[reached].mean()) if reached.any() else float("nan"),
    }


def uniform_random_policy(num_actions: int, action_dim: int, rng: np.random.Generator) -> PolicyFn:
    def policy(history: np.ndarray) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=(history.shape[0], num_actions, action_dim)).astype(np.float32)

    return policy


def _by_clip_kind(name: str, per_clip: np.ndarray, expert: np.ndarray) -> dict[str, float]:
    """The mean over all clips, and over expert and random-action clips separately (NaN when none)."""
    out = {name: float(per_clip.mean())}
    for kind, members in (("expert", expert), ("random", ~expert)):
        out[f"{name}_{kind}"] = float(per_clip[members].mean()) if members.any() else float("nan")
    return out


def _point_error_px(frames: np.ndarray, truth: np.ndarray, size: int) -> np.ndarray:
    """Per-clip mean distance (pixels) between the point seen in ``frames`` and in ``truth`` [K, F, C, H, W]."""
    gap = point_positions_from_frames(frames) - point_positions_from_frames(truth)
    return np.asarray(np.linalg.norm(gap, axis=-1).mean(axis=-1) * size)


def video_prediction_metrics(dataset: UVADataset, clips: ClipIndex, predicted: np.ndarray) -> dict[str, float]:
    """Pixel MSE (intensities in [0, 1]) and point-position error (pixels) of predicted future frames."""
    history, future = dataset.frames[clips.history_rows], dataset.frames[clips.future_rows]
    copy_last = np.repeat(history[:, -1:], future.shape[1], axis=1)
    size = dataset.frames.shape[-1]

    def pixel_mse(frames: np.ndarray) -> np.ndarray:
        return np.asarray((((frames.astype(np.float64) - future) / 255.0) ** 2).mean(axis=(1, 2, 3, 4)))

    metrics: dict[str, float] = {}
    metrics.update(_by_clip_kind("video_mse", pixel_mse(predicted), clips.expert))
    metrics.update(_by_clip_kind("video_copy_last_mse", pixel_mse(copy_last), clips.expert))
    metrics.update(_by_clip_kind("video_point_error_px", _point_error_px(predicted, future, size), clips.expert))
    copy_error = _point_error_px(copy_last, future, size)
    metrics.update(_by_clip_kind("video_copy_last_point_error_px", copy_error, clips.expert))
    return metrics


def forward_dynamics_metrics(
    predictor: UVAPredictor,
    dataset: UVADataset,
    clips: ClipIndex,
    masked_actions_video: np.ndarray,
    sim_config: PointGoalConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Forward dynamics on actions from the training distribution (the held-out clips' own, and each
    other's as counterfactuals); truth for counterfactuals is rendered from the sim's dynamics."""
    assert dataset.positions is not None and dataset.targets is not None and dataset.distractors is not None
    c = predictor.model.config
    size = sim_config.image_size
    history, future = dataset.frames[clips.history_rows], dataset.frames[clips.future_rows]
    last = np.repeat(history[:, -1:], future.shape[1], axis=1)  # the no-motion prediction
    logged = dataset.actions[clips.action_rows]  # [K, F*A, 2]
    metrics: dict[str, float] = {}
    factual = predictor.forward_dynamics(history, logged)
    metrics.update(
        _by_clip_kind("forward_dynamics_point_error_px", _point_error_px(factual, future, size), clips.expert)
    )
    no_motion = _point_error_px(last, future, size)
    metrics.update(_by_clip_kind("forward_dynamics_no_motion_error_px", no_motion, clips.expert))
    masked = _point_error_px(masked_actions_video, future, size)
    metrics.update(_by_clip_kind("forward_dynamics_masked_actions_error_px", masked, clips.expert))

    # Counterfactual: another held-out clip's actions from this clip's state, integrated by the sim.
    donors = rng.permutation(len(clips))
    actions = logged[donors]
    position = dataset.positions[clips.history_rows[:, -1]].astype(np.float64)  # [K, 2]
    path = []
    for step in range(c.num_actions):
        position = np.clip(position + sim_config.max_speed * np.clip(actions[:, step], -1, 1), 0.0, 1.0)
        if (step + 1) % c.actions_per_frame == 0:
            path.append(position)
    targets = dataset.targets[clips.history_rows[:, -1]].astype(np.float64)
    distractors = dataset.distractors[clips.history_rows[:, -1]].astype(np.float64)
    truth = np.stack(
        [render_frames(sim_config, p, targets, distractors) for p in path], axis=1
    )  # [K, F, C, H, W]: what the sim shows under the donor's actions
    predicted = predictor.forward_dynamics(history, actions)
    start = point_positions_from_frames(history[:, -1])[:, None, :]
    moved_true = (point_positions_from_frames(truth) - start).ravel()
    moved_predicted = (point_positions_from_frames(predicted) - start).ravel()
    metrics.update(
        {
            "forward_dynamics_counterfactual_error_px": float(_point_error_px(predicted, truth, size).mean()),
            "forward_dynamics_counterfactual_no_motion_error_px": float(_point_error_px(last, truth, size).mean()),
            "forward_dynamics_counterfactual_own_actions_error_px": float(_point_error_px(future, truth, size).mean()),
            "forward_dynamics_counterfactual_displacement_correlation": float(
                np.corrcoef(moved_true, moved_predicted)[0, 1]
            ),
        }
    )
    return metrics


def inverse_dynamics_metrics(
    predictor: UVAPredictor, dataset: UVADataset, clips: ClipIndex, num_samples: int
) -> dict[str, float]:
    """Per-action MSE and per-chunk (summed actions = displacement) MSE against the mean action.

    A single diffusion sample has twice the conditional variance as squared error, so it is compared
    with the mean-action baseline only after averaging ``num_samples`` samples (a conditional-mean
    estimate); the single-sample error is reported too."""
    c = predictor.model.config
    truth = dataset.actions[clips.action_rows]  # [K, F*A, 2]
    future = dataset.frames[clips.future_rows]
    samples = np.stack([predictor.inverse_dynamics(future) for _ in range(num_samples)])  # [n, K, F*A, 2]
    predicted = samples.mean(axis=0)
    mean_action = np.broadcast_to(dataset.actions.mean(axis=0), truth.shape)

    def chunk_sums(actions: np.ndarray) -> np.ndarray:  # [K, F, 2]
        return actions.reshape(actions.shape[0], c.num_frames, c.actions_per_frame, -1).sum(axis=2)

    metrics = {
        "inverse_dynamics_single_sample_mse": float(((samples[0] - truth) ** 2).mean()),
        "inverse_dynamics_mse": float(((predicted - truth) ** 2).mean()),
        "inverse_dynamics_mean_action_mse": float(((mean_action - truth) ** 2).mean()),
    }
    chunk_error = ((chunk_sums(predicted) - chunk_sums(truth)) ** 2).mean(axis=(0, 2))
    baseline_chunk_error = ((chunk_sums(mean_action) - chunk_sums(truth)) ** 2).mean(axis=(0, 2))
    for frame in range(c.num_frames):
        metrics[f"inverse_dynamics_chunk{frame}_mse"] = float(chunk_error[frame])
        metrics[f"inverse_dynamics_chunk{frame}_mean_action_mse"] = float(baseline_chunk_error[frame])
    return metrics
