"""A simulated robot task for UVA: a 2-D point pushed by velocity actions toward one of two goals.

The arena is the unit square. Each episode places two goals; the one to reach (the target) is drawn in
green, the other (the distractor) in red, so which goal matters is visible only in the frame. The point
is a blue Gaussian blob. Actions are velocities in [-1, 1]^2 scaled by ``max_speed`` per step.

Everything is vectorised over a batch of episodes, and every episode is a pure function of its seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RUNNING, SUCCESS, WRONG_GOAL = 0, 1, -1


@dataclass(frozen=True)
class PointGoalConfig:
    image_size: int = 16  # frames are image_size x image_size RGB
    max_speed: float = 0.08  # displacement per step of a unit action (arena side = 1)
    goal_radius: float = 0.08  # a goal is reached when the point comes this close to its centre
    min_goal_separation: float = 0.45  # goals are at least this far apart
    min_start_distance: float = 0.3  # the point starts at least this far from both goals
    # std of the point's Gaussian blob, in pixels: 2 px spreads it over about 6 of the 16 tokens of a 16x16
    # frame in 4x4 patches (each holding >5% of it), so where it goes shows in a good part of the tokens
    # (at 0.8 px it sat in 1-2 tokens and a model could ignore the actions at almost no cost)
    point_sigma_px: float = 2.0
    goal_radius_px: float = 1.5  # radius of the drawn goal discs, in pixels


def _sample_initial_state(config: PointGoalConfig, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    while True:
        target, distractor = rng.uniform(0.15, 0.85, size=(2, 2))
        if np.linalg.norm(target - distractor) >= config.min_goal_separation:
            break
    while True:
        start = rng.uniform(0.05, 0.95, size=2)
        if min(np.linalg.norm(start - target), np.linalg.norm(start - distractor)) >= config.min_start_distance:
            return start, target, distractor


class PointGoalSim:
    """A batch of independent episodes, one per seed."""

    def __init__(self, config: PointGoalConfig, seeds: Sequence[int]) -> None:
        self.config = config
        states = [_sample_initial_state(config, int(seed)) for seed in seeds]
        self.positions = np.array([s[0] for s in states], dtype=np.float64)  # [N, 2]
        self.targets = np.array([s[1] for s in states], dtype=np.float64)  # [N, 2]
        self.distractors = np.array([s[2] for s in states], dtype=np.float64)  # [N, 2]
        self.outcomes = np.full(len(states), RUNNING, dtype=np.int64)  # first goal reached decides
        self.steps_to_outcome = np.full(len(states), -1, dtype=np.int64)
        self.steps = 0

    def step(self, actions: np.ndarray) -> None:
        """Apply velocity actions [N, 2] (clipped to [-1, 1]) for one step."""
        actions = np.clip(np.asarray(actions, dtype=np.float64), -1.0, 1.0)
        self.positions = np.clip(self.positions + self.config.max_speed * actions, 0.0, 1.0)
        self.steps += 1
        running = self.outcomes == RUNNING
        at_target = np.linalg.norm(self.positions - self.targets, axis=1) < self.config.goal_radius
        at_distractor = np.linalg.norm(self.positions - self.distractors, axis=1) < self.config.goal_radius
        self.outcomes[running & at_target] = SUCCESS
        self.outcomes[running & ~at_target & at_distractor] = WRONG_GOAL
        self.steps_to_outcome[running & (at_target | at_distractor)] = self.steps

    def render(self) -> np.ndarray:
        """uint8 frames [N, 3, H, W]."""
        return render_frames(self.config, self.positions, self.targets, self.distractors)


def render_frames(
    config: PointGoalConfig, positions: np.ndarray, targets: np.ndarray, distractors: np.ndarray
) -> np.ndarray:
    size = config.image_size
    centres = (np.arange(size) + 0.5) / size  # pixel centres in arena units
    grid_y, grid_x = np.meshgrid(centres, centres, indexing="ij")  # [H, W]

    def squared_pixel_distance(points: np.ndarray) -> np.ndarray:  # [N, 2] -> [N, H, W]
        dx = (grid_x[None] - points[:, 0, None, None]) * size
        dy = (grid_y[None] - points[:, 1, None, None]) * size
        return dx**2 + dy**2

    def disc(points: np.ndarray) -> np.ndarray:  # anti-aliased disc, values in [0, 1]
        return np.clip(config.goal_radius_px + 0.5 - np.sqrt(squared_pixel_distance(points)), 0.0, 1.0)

    blob = np.exp(-squared_pixel_distance(positions) / (2 * config.point_sigma_px**2))
    image = np.stack([disc(distractors), disc(targets), blob], axis=1)  # [N, 3, H, W]: R, G, B
    return np.round(image * 255).astype(np.uint8)


def point_positions_from_frames(frames: np.ndarray, threshold: float = 0.2) -> np.ndarray:
    """Estimate the point's position [..., 2] (arena units) as the blue channel's weighted centroid."""
    blue = frames[..., 2, :, :].astype(np.float64) / 255.0  # [..., H, W]
    weights = np.clip(blue - threshold, 0.0, None)
    size = blue.shape[-1]
    centres = (np.arange(size) + 0.5) / size
    total = weights.sum(axis=(-2, -1))
    safe_total = np.where(total > 0, total, 1.0)
    x = (weights * centres[None, :]).sum(axis=(-2, -1)) / safe_total
    y = (weights * centres[:, None]).sum(axis=(-2, -1)) / safe_total
    positions = np.stack([x, y], axis=-1)
    return np.where((total > 0)[..., None], positions, 0.5)  # no visible point: guess the centre


def expert_actions(
    config: PointGoalConfig, positions: np.ndarray, targets: np.ndarray, rng: np.random.Generator, noise: float
) -> np.ndarray:
    """Head straight for the target at full speed, slowing to land on it; Gaussian noise added."""
    actions = (targets - positions) / config.max_speed
    norms = np.linalg.norm(actions, axis=1, keepdims=True)
    actions = actions / np.maximum(norms, 1.0)
    return np.clip(actions + noise * rng.standard_normal(actions.shape), -1.0, 1.0)


def random_actions(previous: np.ndarray, rng: np.random.Generator, smoothing: float = 0.7) -> np.ndarray:
    """Temporally correlated random actions (an AR(1) process clipped to [-1, 1])."""
    fresh = rng.standard_normal(previous.shape)
    return np.clip(smoothing * previous + np.sqrt(1 - smoothing**2) * fresh, -1.0, 1.0)
