"""One small inference API over a trained UVA model, in uint8 frames and float actions (numpy).

Modes:
  policy            history frames            -> actions (one backbone pass, no video decoding)
  video             history frames            -> future frames
  forward_dynamics  history frames + actions  -> future frames
  inverse_dynamics  future frames             -> actions
Frames are uint8 [B, F, C, H, W]; actions float32 [B, F * actions_per_frame, action_dim] in [-1, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from workers.models.uva import UVA, TaskMode
from workers.uva.clips import frames_from_model, frames_to_model


class UVAPredictor:
    def __init__(self, model: UVA, num_iter: int = 4, temperature: float = 1.0) -> None:
        self.model = model.eval()
        self.num_iter = num_iter  # MAR decoding steps for video modes
        self.temperature = temperature

    def policy(self, history: np.ndarray) -> np.ndarray:
        return self._actions(self.model.sample_actions(history=self._frames(history), temperature=self.temperature))

    def video(self, history: np.ndarray) -> np.ndarray:
        frames = self.model.sample_video(self._frames(history), None, self.num_iter, self.temperature)
        return frames_from_model(frames).numpy()

    def forward_dynamics(self, history: np.ndarray, actions: np.ndarray) -> np.ndarray:
        expected = (self.model.config.num_actions, self.model.config.action_dim)
        if actions.shape[1:] != expected:
            raise ValueError(f"actions must be [B, {expected[0]}, {expected[1]}], got {actions.shape}")
        given = torch.as_tensor(actions, dtype=torch.float32).clamp(-1.0, 1.0)
        frames = self.model.sample_video(self._frames(history), given, self.num_iter, self.temperature)
        return frames_from_model(frames).numpy()

    def inverse_dynamics(self, future: np.ndarray) -> np.ndarray:
        return self._actions(self.model.sample_actions(future=self._frames(future), temperature=self.temperature))

    def predict(
        self,
        mode: TaskMode | str,
        history: np.ndarray | None = None,
        future: np.ndarray | None = None,
        actions: np.ndarray | None = None,
    ) -> np.ndarray:
        """Dispatch by mode name; the joint mode is not an inference mode (use video + policy)."""
        mode = TaskMode(mode)
        if mode is TaskMode.INVERSE_DYNAMICS:
            return self.inverse_dynamics(_required(future, "future"))
        history = _required(history, "history")
        if mode is TaskMode.POLICY:
            return self.policy(history)
        if mode is TaskMode.VIDEO:
            return self.video(history)
        if mode is TaskMode.FORWARD_DYNAMICS:
            return self.forward_dynamics(history, _required(actions, "actions"))
        raise ValueError(f"{mode.value!r} is a training mode, not an inference mode")

    def _frames(self, frames: np.ndarray) -> Tensor:
        c = self.model.config
        expected = (c.num_frames, c.in_channels, c.image_size, c.image_size)
        if frames.dtype != np.uint8 or frames.ndim != 5 or frames.shape[1:] != expected:
            raise ValueError(
                f"frames must be uint8 [B, {', '.join(map(str, expected))}], got {frames.dtype} {frames.shape}"
            )
        return frames_to_model(torch.from_numpy(np.ascontiguousarray(frames)))

    @staticmethod
    def _actions(actions: Tensor) -> np.ndarray:
        return actions.clamp(-1.0, 1.0).numpy().astype(np.float32)


def _required(value: np.ndarray | None, name: str) -> np.ndarray:
    if value is None:
        raise ValueError(f"this mode needs {name}")
    return value
