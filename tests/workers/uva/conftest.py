"""Small UVA configs and datasets shared by the UVA tests (sized for a 2-core CPU)."""

from __future__ import annotations

import pytest

from workers.models.uva import UVAConfig
from workers.uva.dataset import UVADataset, generate_demonstrations
from workers.uva.sim import PointGoalConfig

TINY_MODEL = UVAConfig(
    width=32,
    encoder_depth=1,
    decoder_depth=1,
    num_heads=2,
    video_head_width=32,
    video_head_depth=1,
    action_head_width=32,
    action_head_depth=1,
    diffusion_sample_steps=5,
    diffusion_batch_mul=1,
    dropout=0.0,
)


@pytest.fixture(scope="session")
def small_dataset() -> UVADataset:
    return generate_demonstrations(PointGoalConfig(), num_expert=12, num_random=6, episode_length=20, seed=3)
