from __future__ import annotations

import math

import numpy as np
import torch

from tests.workers.uva.conftest import TINY_MODEL
from workers.models.uva import UVA, TaskMode
from workers.uva.clips import ClipIndex, ClipTensors, build_clip_index
from workers.uva.dataset import UVADataset
from workers.uva.evaluate import UVAEvalConfig, evaluate_uva, forward_dynamics_metrics
from workers.uva.sim import render_frames
from workers.uva.train import UVATrainConfig, train_uva


def _held_out_loss(model: UVA, dataset: UVADataset, mode: TaskMode) -> float:
    index = build_clip_index(dataset, TINY_MODEL.num_frames, TINY_MODEL.actions_per_frame)
    history, future, actions = ClipTensors(dataset).batch(index, np.arange(0, len(index), 3))
    torch.manual_seed(123)  # same noise, timesteps and masks for every model compared
    model.eval()
    with torch.no_grad():
        return float(np.mean([model.loss(history, future, actions, mode)["loss"].item() for _ in range(4)]))


def test_a_tiny_training_run_lowers_the_loss_of_every_mode(small_dataset: UVADataset) -> None:
    config = UVATrainConfig(
        model=TINY_MODEL, video_steps=20, joint_steps=100, batch_size=16, learning_rate=3e-3, warmup_steps=10
    )
    torch.manual_seed(config.seed)
    untrained = UVA(TINY_MODEL)  # the exact initialisation train_uva starts from
    reports: list[tuple[int, int]] = []
    model, metrics = train_uva(small_dataset, config, progress=lambda step, total, _: reports.append((step, total)))
    assert metrics["steps"] == 120 and not metrics["stopped_early"]
    assert reports[-1] == (120, 120)
    for mode in (TaskMode.VIDEO, TaskMode.POLICY, TaskMode.INVERSE_DYNAMICS):
        before, after = _held_out_loss(untrained, small_dataset, mode), _held_out_loss(model, small_dataset, mode)
        assert after < 0.8 * before, (mode, before, after)


def test_should_stop_ends_training_early(small_dataset: UVADataset) -> None:
    config = UVATrainConfig(model=TINY_MODEL, video_steps=5, joint_steps=50, batch_size=4)
    calls = iter(range(1000))
    _, metrics = train_uva(small_dataset, config, should_stop=lambda: next(calls) >= 7)
    assert metrics["stopped_early"] and metrics["steps"] == 7


def test_train_config_round_trips_through_json() -> None:
    config = UVATrainConfig(model=TINY_MODEL, joint_modes=("policy", "joint"), video_steps=0, joint_steps=5)
    assert UVATrainConfig.from_json(config.to_json()) == config


def test_evaluate_reports_every_mode_with_its_baseline(small_dataset: UVADataset) -> None:
    torch.manual_seed(0)
    metrics = evaluate_uva(
        UVA(TINY_MODEL),
        small_dataset,
        UVAEvalConfig(num_policy_seeds=4, horizon=8, num_clips=8, num_iter=2, num_action_samples=2),
    )
    for name in (
        "video_mse",
        "video_copy_last_mse",
        "video_point_error_px_expert",
        "video_copy_last_point_error_px_random",
        "forward_dynamics_point_error_px",
        "forward_dynamics_no_motion_error_px_expert",
        "forward_dynamics_masked_actions_error_px_random",
        "forward_dynamics_counterfactual_error_px",
        "forward_dynamics_counterfactual_no_motion_error_px",
        "inverse_dynamics_mse",
        "inverse_dynamics_mean_action_mse",
        "policy_success_rate",
        "random_policy_success_rate",
    ):
        assert math.isfinite(metrics[name]), name
    assert 0.0 <= metrics["policy_success_rate"] <= 1.0


class _OracleDynamics:
    """Predicts the future by running the sim's own dynamics from the clips' true states (in clip order)."""

    def __init__(self, dataset: UVADataset, clips: ClipIndex) -> None:
        assert dataset.positions is not None and dataset.sim_config is not None
        self.model = UVA(TINY_MODEL)
        self.sim = dataset.sim_config
        last = clips.history_rows[:, -1]
        self.start = dataset.positions[last].astype(np.float64)
        self.goals = (dataset.targets[last], dataset.distractors[last])  # type: ignore[index]

    def forward_dynamics(self, history: np.ndarray, actions: np.ndarray) -> np.ndarray:
        position, frames = self.start.copy(), []
        for step in range(actions.shape[1]):
            position = np.clip(position + self.sim.max_speed * actions[:, step], 0.0, 1.0)
            if (step + 1) % TINY_MODEL.actions_per_frame == 0:
                frames.append(render_frames(self.sim, position, *self.goals))
        return np.stack(frames, axis=1)


def test_forward_dynamics_metrics_score_the_true_dynamics_perfectly_and_no_motion_worse(
    small_dataset: UVADataset,
) -> None:
    clips = build_clip_index(small_dataset, TINY_MODEL.num_frames, TINY_MODEL.actions_per_frame)
    clips = clips.subset(np.arange(0, len(clips), 7))
    assert clips.expert.any() and not clips.expert.all()
    oracle = _OracleDynamics(small_dataset, clips)
    history = small_dataset.frames[clips.history_rows]
    still = np.repeat(history[:, -1:], TINY_MODEL.num_frames, axis=1)
    assert small_dataset.sim_config is not None
    metrics = forward_dynamics_metrics(
        oracle,  # type: ignore[arg-type]
        small_dataset,
        clips,
        still,
        small_dataset.sim_config,
        np.random.default_rng(0),
    )
    assert metrics["forward_dynamics_point_error_px"] < 0.05
    assert metrics["forward_dynamics_counterfactual_error_px"] < 0.05
    for kind in ("expert", "random"):
        assert metrics[f"forward_dynamics_no_motion_error_px_{kind}"] > 1.0
    assert metrics["forward_dynamics_masked_actions_error_px"] == metrics["forward_dynamics_no_motion_error_px"]
    assert metrics["forward_dynamics_counterfactual_no_motion_error_px"] > 1.0
    assert metrics["forward_dynamics_counterfactual_displacement_correlation"] > 0.99
