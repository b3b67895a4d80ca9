from __future__ import annotations

import json

import numpy as np
import pytest
import safetensors.numpy

from workers.uva.clips import build_clip_index
from workers.uva.dataset import (
    InvalidDatasetError,
    UVADataset,
    dataset_to_bytes,
    generate_demonstrations,
    load_dataset,
    save_dataset,
    split_episodes,
)
from workers.uva.sim import PointGoalConfig


def test_generation_is_deterministic_and_mixes_expert_and_random(small_dataset: UVADataset) -> None:
    again = generate_demonstrations(PointGoalConfig(), num_expert=12, num_random=6, episode_length=20, seed=3)
    assert dataset_to_bytes(again) == dataset_to_bytes(small_dataset)
    assert small_dataset.frames.shape == (18 * 20, 3, 16, 16) and small_dataset.frames.dtype == np.uint8
    assert small_dataset.num_episodes == 18
    assert small_dataset.expert.sum() == 12 * 20


def test_round_trip_through_bytes_and_path(small_dataset: UVADataset, tmp_path) -> None:
    path = tmp_path / "uva.safetensors"
    save_dataset(small_dataset, path)
    for loaded in (load_dataset(path), load_dataset(path.read_bytes())):
        assert np.array_equal(loaded.frames, small_dataset.frames)
        assert np.array_equal(loaded.actions, small_dataset.actions)
        assert np.array_equal(loaded.expert, small_dataset.expert)
        assert loaded.sim_config == small_dataset.sim_config


def _tensors(dataset: UVADataset) -> dict[str, np.ndarray]:
    return dict(safetensors.numpy.load(dataset_to_bytes(dataset)))


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda t: t.update(extra=np.zeros(3, np.float32)),
        lambda t: t.update(actions=t["actions"].astype(np.float64)),
        lambda t: t.update(actions=t["actions"] * 3),
        lambda t: t.update(episode_ids=t["episode_ids"][::-1].copy() % 2),  # episodes interleaved
        lambda t: t.update(frames=t["frames"][:-1].copy()),
        lambda t: t.pop("episode_ids"),
        lambda t: t.update(expert=t["expert"] * 2),
    ],
)
def test_invalid_tensors_are_rejected(small_dataset: UVADataset, corrupt) -> None:
    tensors = _tensors(small_dataset)
    corrupt(tensors)
    data = safetensors.numpy.save(tensors, metadata={"uva_dataset": json.dumps({"format": "uva-dataset/1"})})
    with pytest.raises(InvalidDatasetError):
        load_dataset(data)


def test_files_without_the_format_or_with_a_bad_sim_config_are_rejected(small_dataset: UVADataset) -> None:
    tensors = _tensors(small_dataset)
    with pytest.raises(InvalidDatasetError):
        load_dataset(safetensors.numpy.save(tensors))
    bad_config = {"uva_dataset": json.dumps({"format": "uva-dataset/1", "sim_config": {"gravity": 9.8}})}
    with pytest.raises(InvalidDatasetError):
        load_dataset(safetensors.numpy.save(tensors, metadata=bad_config))
    with pytest.raises(InvalidDatasetError):
        load_dataset(b"\x00" * 5)


def test_clips_stay_inside_one_episode_and_align_frames_with_actions(small_dataset: UVADataset) -> None:
    index = build_clip_index(small_dataset, num_frames=2, actions_per_frame=4)
    assert len(index) == 18 * (20 - 8)
    ids = small_dataset.episode_ids
    rows = np.concatenate([index.history_rows, index.future_rows, index.action_rows], axis=1)
    assert (ids[rows] == ids[rows[:, :1]]).all()
    anchor = index.history_rows[:, -1]
    assert (index.future_rows == anchor[:, None] + np.array([4, 8])).all()
    assert (index.action_rows == anchor[:, None] + np.arange(8)).all()
    first = index.history_rows[0]  # anchored at an episode start: history repeats the first frame
    assert first[0] == first[1] == 0
    assert (index.expert == small_dataset.expert[anchor]).all()


def test_split_keeps_whole_episodes_apart(small_dataset: UVADataset) -> None:
    train, holdout = split_episodes(small_dataset, 0.25)
    assert not set(train.episode_ids) & set(holdout.episode_ids)
    assert train.num_steps + holdout.num_steps == small_dataset.num_steps
