from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.workers.uva.conftest import TINY_MODEL
from workers.models.uva import UVA, TaskMode
from workers.uva.clips import build_clip_index
from workers.uva.dataset import UVADataset
from workers.uva.inference import UVAPredictor


@pytest.fixture(scope="module")
def predictor() -> UVAPredictor:
    torch.manual_seed(0)
    return UVAPredictor(UVA(TINY_MODEL), num_iter=2)


def _frames(dataset: UVADataset, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = build_clip_index(dataset, TINY_MODEL.num_frames, TINY_MODEL.actions_per_frame)
    rows = np.arange(count)
    return (
        dataset.frames[index.history_rows[rows]],
        dataset.frames[index.future_rows[rows]],
        dataset.actions[index.action_rows[rows]],
    )


def test_every_mode_returns_the_right_shapes(predictor: UVAPredictor, small_dataset: UVADataset) -> None:
    history, future, actions = _frames(small_dataset, 3)
    action_shape = (3, TINY_MODEL.num_actions, TINY_MODEL.action_dim)
    for mode, inputs, shape, dtype in [
        (TaskMode.POLICY, dict(history=history), action_shape, np.float32),
        (TaskMode.INVERSE_DYNAMICS, dict(future=future), action_shape, np.float32),
        (TaskMode.VIDEO, dict(history=history), history.shape, np.uint8),
        (TaskMode.FORWARD_DYNAMICS, dict(history=history, actions=actions), history.shape, np.uint8),
    ]:
        out = predictor.predict(mode, **inputs)
        assert out.shape == shape and out.dtype == dtype, mode
    assert np.abs(predictor.policy(history)).max() <= 1.0


def test_bad_inputs_are_refused(predictor: UVAPredictor, small_dataset: UVADataset) -> None:
    history, _, actions = _frames(small_dataset, 2)
    with pytest.raises(ValueError):
        predictor.policy(history.astype(np.float32))
    with pytest.raises(ValueError):
        predictor.policy(history[:, :1])
    with pytest.raises(ValueError):
        predictor.forward_dynamics(history, actions[:, :3])
    with pytest.raises(ValueError):
        predictor.predict("forward_dynamics", history=history)
    with pytest.raises(ValueError):
        predictor.predict(TaskMode.JOINT, history=history)
