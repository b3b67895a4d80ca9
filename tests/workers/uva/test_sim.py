from __future__ import annotations

import numpy as np

from workers.uva.sim import (
    SUCCESS,
    PointGoalConfig,
    PointGoalSim,
    expert_actions,
    point_positions_from_frames,
    random_actions,
)

CONFIG = PointGoalConfig()


def _rollout(seeds: list[int], expert: bool, steps: int = 30) -> tuple[PointGoalSim, list[np.ndarray]]:
    sim = PointGoalSim(CONFIG, seeds)
    rng = np.random.default_rng(0)
    actions = np.zeros((len(seeds), 2))
    frames = [sim.render()]
    for _ in range(steps):
        if expert:
            actions = expert_actions(CONFIG, sim.positions, sim.targets, rng, noise=0.1)
        else:
            actions = random_actions(actions, rng)
        sim.step(actions)
        frames.append(sim.render())
    return sim, frames


def test_episodes_are_a_pure_function_of_their_seeds() -> None:
    first, first_frames = _rollout([5, 6, 7], expert=False)
    second, second_frames = _rollout([5, 6, 7], expert=False)
    assert np.array_equal(np.stack(first_frames), np.stack(second_frames))
    assert np.array_equal(first.positions, second.positions)
    # an episode does not depend on which other seeds share the batch
    alone = PointGoalSim(CONFIG, [6])
    assert np.array_equal(alone.render()[0], first_frames[0][1])
    assert not np.array_equal(first_frames[0][0], first_frames[0][1])


def test_frames_show_target_in_green_distractor_in_red_point_in_blue() -> None:
    sim = PointGoalSim(CONFIG, [11])
    frame = sim.render()[0].astype(int)
    assert frame.shape == (3, 16, 16)

    def pixel(point: np.ndarray) -> tuple[int, int]:
        return int(point[1] * 16), int(point[0] * 16)  # (row, column)

    assert frame[1][pixel(sim.targets[0])] > 200 and frame[0][pixel(sim.targets[0])] == 0
    assert frame[0][pixel(sim.distractors[0])] > 200 and frame[1][pixel(sim.distractors[0])] == 0
    assert frame[2][pixel(sim.positions[0])] > 150


def test_point_position_is_recoverable_from_frames() -> None:
    sim, frames = _rollout(list(range(20)), expert=True, steps=3)
    estimate = point_positions_from_frames(frames[-1])
    assert np.abs(estimate - sim.positions).max() * 16 < 0.5  # pixels (walls bias the blob a little)


def test_expert_reaches_the_target_and_random_actions_rarely_do() -> None:
    expert, _ = _rollout(list(range(40)), expert=True)
    random, _ = _rollout(list(range(40)), expert=False)
    assert (expert.outcomes == SUCCESS).mean() >= 0.95
    assert (random.outcomes == SUCCESS).mean() <= 0.3


def test_actions_are_clipped_and_the_point_stays_in_the_arena() -> None:
    sim = PointGoalSim(CONFIG, [1])
    start = sim.positions.copy()
    sim.step(np.array([[5.0, 0.0]]))
    assert np.isclose(sim.positions[0, 0] - start[0, 0], min(CONFIG.max_speed, 1 - start[0, 0]))
    for _ in range(30):
        sim.step(np.array([[-1.0, -1.0]]))
    assert np.array_equal(sim.positions[0], [0.0, 0.0])
