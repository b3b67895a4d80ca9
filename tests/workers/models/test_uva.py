from __future__ import annotations

import dataclasses

import pytest
import scipy.stats
import torch

from workers.models import config_to_json, create_model, model_config
from workers.models.uva import UVA, TaskMode, UVAConfig

TINY = dict(
    width=32,
    encoder_depth=1,
    decoder_depth=1,
    num_heads=2,
    video_head_width=32,
    video_head_depth=1,
    action_head_width=32,
    action_head_depth=1,
    diffusion_sample_steps=4,
    diffusion_batch_mul=2,
    dropout=0.0,
)


def _clip(config: UVAConfig, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    frames = (batch, config.num_frames, config.in_channels, config.image_size, config.image_size)
    actions = torch.rand(batch, config.num_actions, config.action_dim) * 2 - 1
    return torch.rand(frames) * 2 - 1, torch.rand(frames) * 2 - 1, actions


@pytest.mark.parametrize(
    "shape",
    [
        dict(image_size=16, patch_size=4, num_frames=2, actions_per_frame=4, action_dim=2),
        dict(image_size=12, patch_size=4, num_frames=3, actions_per_frame=3, action_dim=3, in_channels=1),
        dict(image_size=8, patch_size=2, num_frames=1, actions_per_frame=5, action_dim=2),  # 16 tokens, 5 actions
    ],
)
def test_frame_action_and_grid_counts_are_configuration(shape: dict[str, int]) -> None:
    config = UVAConfig(**TINY, **shape)
    model = UVA(config).eval()
    history, future, actions = _clip(config, batch=2)
    for mode in TaskMode:
        out = model.loss(history, future, actions, mode)
        assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
    assert model.sample_actions(history=history).shape == (2, config.num_actions, config.action_dim)
    assert model.sample_actions(future=future).shape == (2, config.num_actions, config.action_dim)
    assert model.sample_video(history, num_iter=3).shape == history.shape
    assert model.sample_video(history, actions, num_iter=3).shape == history.shape


def test_each_action_tiles_a_contiguous_block_of_its_own_frame() -> None:
    config = UVAConfig(**TINY, image_size=8, patch_size=2, num_frames=2, actions_per_frame=3)
    tiling = UVA(config).action_of_position.view(config.num_frames, config.tokens_per_frame)
    for frame in range(config.num_frames):
        owners = tiling[frame]
        assert owners.min() == frame * 3 and owners.max() == frame * 3 + 2
        assert bool((owners.diff() >= 0).all())  # contiguous, in order
    assert set(tiling.flatten().tolist()) == set(range(config.num_actions))


def test_patchify_round_trips() -> None:
    model = UVA(UVAConfig(**TINY))
    frames = torch.rand(2, 2, 3, 16, 16)
    tokens = model.patchify(frames)
    assert tokens.shape == (2, 2, 16, 48)
    assert torch.equal(model.unpatchify(tokens), frames)
    # token 1 is the patch at grid row 0, column 1
    assert torch.equal(tokens[0, 0, 1], frames[0, 0, :, 0:4, 4:8].reshape(-1))


def test_mask_ratio_follows_the_truncated_normal() -> None:
    torch.manual_seed(0)
    model = UVA(UVAConfig(**TINY))
    ratios = torch.tensor([model.sample_mask_ratio() for _ in range(4000)])
    expected = scipy.stats.truncnorm((0.7 - 1.0) / 0.25, 0.0, loc=1.0, scale=0.25)
    assert ratios.min() >= 0.7 and ratios.max() <= 1.0
    assert abs(ratios.mean().item() - expected.mean()) < 0.01
    assert abs(ratios.std().item() - expected.std()) < 0.01
    mask = model.random_spatial_mask(64, 0.75)
    assert mask.shape == (64, 16) and bool((mask.sum(dim=1) == 12).all())
    assert (mask.float().mean(dim=0) > 0.4).all()  # positions are chosen at random, not always the same


def test_one_spatial_mask_is_shared_by_all_frames() -> None:
    torch.manual_seed(0)
    config = UVAConfig(**TINY, num_frames=3)
    model = UVA(config).eval()
    history, future, _ = _clip(config, batch=1)
    mask = torch.zeros(1, config.tokens_per_frame, dtype=torch.bool)
    mask[0, :8] = True
    tokens = model.patchify(future)
    z = model.backbone(model.patchify(history), tokens, mask, None)
    hidden = tokens.clone()
    hidden[:, :, :8] = torch.randn_like(hidden[:, :, :8])  # masked grid positions, in every frame
    assert torch.allclose(model.backbone(model.patchify(history), hidden, mask, None), z, atol=1e-5)
    shown = tokens.clone()
    shown[:, 2, 8] += 1.0  # an unmasked position of the last frame is seen
    assert not torch.allclose(model.backbone(model.patchify(history), shown, mask, None), z, atol=1e-5)


def test_policy_inference_never_runs_the_video_head() -> None:
    config = UVAConfig(**TINY)
    model = UVA(config).eval()
    calls = {"video": 0, "action": 0}
    model.video_head.denoiser.register_forward_hook(lambda *_: calls.__setitem__("video", calls["video"] + 1))
    model.action_head.denoiser.register_forward_hook(lambda *_: calls.__setitem__("action", calls["action"] + 1))
    history, _, _ = _clip(config, batch=2)
    model.sample_actions(history=history)
    assert calls == {"video": 0, "action": config.diffusion_sample_steps}
    model.sample_video(history, num_iter=2)
    assert calls["video"] == 2 * config.diffusion_sample_steps


def test_policy_and_inverse_modes_train_only_the_action_loss() -> None:
    config = UVAConfig(**TINY)
    model = UVA(config)
    history, future, actions = _clip(config, batch=2)
    for mode in (TaskMode.POLICY, TaskMode.INVERSE_DYNAMICS):
        out = model.loss(history, future, actions, mode)
        assert out["video_loss"].item() == 0.0 and out["action_loss"].item() > 0.0
    for mode in (TaskMode.VIDEO, TaskMode.FORWARD_DYNAMICS):
        out = model.loss(history, future, actions, mode)
        assert out["action_loss"].item() == 0.0 and out["video_loss"].item() > 0.0
    joint = model.loss(history, future, actions, TaskMode.JOINT)
    assert joint["video_loss"].item() > 0.0 and joint["action_loss"].item() > 0.0


def test_zoo_rebuilds_a_checkpoint_from_arch_and_config_json() -> None:
    config = model_config("uva", **TINY, num_frames=3)
    model = create_model("uva", **config_to_json(config))
    rebuilt = create_model("uva", **config_to_json(config))
    rebuilt.load_state_dict(model.state_dict())
    assert isinstance(rebuilt, UVA) and rebuilt.config == config
    default = model_config("uva")
    assert dataclasses.asdict(default)["width"] == 128 and default.encoder_depth == default.decoder_depth == 2
