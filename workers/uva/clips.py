"""Cut a step dataset into UVA clips: history frames, future frames and the actions between them.

A clip anchored at row t of an episode (frames o, actions a, one row per step) with F frames and A
actions per frame holds
  history  o[t - (F-1)A], ..., o[t - A], o[t]   (indices before the episode start repeat o[start])
  future   o[t + A], o[t + 2A], ..., o[t + FA]
  actions  a[t], ..., a[t + FA - 1]
so future frame i is what the history's last frame becomes after action chunk i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from workers.uva.dataset import UVADataset


@dataclass(frozen=True)
class ClipIndex:
    history_rows: np.ndarray  # int64 [K, F]
    future_rows: np.ndarray  # int64 [K, F]
    action_rows: np.ndarray  # int64 [K, F * A]
    expert: np.ndarray  # bool [K], clip comes from an expert episode

    def __len__(self) -> int:
        return int(self.history_rows.shape[0])

    def subset(self, keep: np.ndarray) -> ClipIndex:
        return ClipIndex(self.history_rows[keep], self.future_rows[keep], self.action_rows[keep], self.expert[keep])


def build_clip_index(dataset: UVADataset, num_frames: int, actions_per_frame: int) -> ClipIndex:
    span = num_frames * actions_per_frame
    ids = dataset.episode_ids
    boundaries = np.flatnonzero(np.diff(ids) != 0) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [ids.size]])  # exclusive
    history, future, actions, expert = [], [], [], []
    history_offsets = (np.arange(num_frames) - (num_frames - 1)) * actions_per_frame  # [-(F-1)A .. 0]
    future_offsets = (np.arange(num_frames) + 1) * actions_per_frame
    for start, end in zip(starts, ends, strict=True):
        anchors = np.arange(start, end - span)  # the last future frame must exist inside the episode
        if anchors.size == 0:
            continue
        history.append(np.maximum(anchors[:, None] + history_offsets, start))
        future.append(anchors[:, None] + future_offsets)
        actions.append(anchors[:, None] + np.arange(span))
        expert.append(dataset.expert[anchors])
    if not history:
        raise ValueError(f"no episode is longer than {span} steps, so no clip fits")
    return ClipIndex(
        np.concatenate(history).astype(np.int64),
        np.concatenate(future).astype(np.int64),
        np.concatenate(actions).astype(np.int64),
        np.concatenate(expert).astype(bool),
    )


def frames_to_model(frames: Tensor) -> Tensor:
    """uint8 frames -> float in [-1, 1]."""
    return frames.float() / 127.5 - 1.0


def frames_from_model(frames: Tensor) -> Tensor:
    """float frames in [-1, 1] -> uint8."""
    return ((frames.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)


class ClipTensors:
    """The dataset as tensors, gathering clip batches as model inputs."""

    def __init__(self, dataset: UVADataset) -> None:
        self.frames = torch.from_numpy(dataset.frames)  # uint8 [N, C, H, W]
        self.actions = torch.from_numpy(dataset.actions)  # float32 [N, action_dim]

    def batch(self, index: ClipIndex, clips: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        """history [B, F, C, H, W], future [B, F, C, H, W] in [-1, 1], actions [B, F * A, action_dim]."""
        history = frames_to_model(self.frames[torch.from_numpy(index.history_rows[clips])])
        future = frames_to_model(self.frames[torch.from_numpy(index.future_rows[clips])])
        actions = self.actions[torch.from_numpy(index.action_rows[clips])]
        return history, future, actions
