import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from workers.training.augment import RAND_AUGMENT_OPS, augment_batch, equalize, random_pad_crop
from workers.training.config import TrainConfig


def _images(n: int = 4, c: int = 3, size: int = 16) -> torch.Tensor:
    return torch.randint(0, 256, (n, c, size, size), generator=torch.Generator().manual_seed(0)).float()


@pytest.mark.parametrize("op", RAND_AUGMENT_OPS, ids=lambda op: op.__name__)
def test_every_op_changes_images_and_keeps_shape(op) -> None:
    x = _images() * 0.6 + 20  # leave headroom so brightness/contrast/solarize all act
    out = op(x, 0.9, torch.tensor([1.0, -1.0, 1.0, -1.0])).clamp(0, 255)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, x)


def test_equalize_matches_pil() -> None:
    x = (torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(1)) ** 3 * 200).round()
    ours = equalize(x, 0.0, torch.ones(2))
    for i in range(2):
        pil = Image.fromarray(x[i].permute(1, 2, 0).numpy().astype(np.uint8))
        expected = torch.from_numpy(np.array(ImageOps.equalize(pil))).permute(2, 0, 1).float()
        assert torch.equal(ours[i], expected)


def test_pad_crop_only_shifts_content() -> None:
    x = torch.zeros(8, 1, 16, 16)
    x[:, :, 6:10, 6:10] = 255.0
    out = random_pad_crop(x, 0.125, torch.Generator().manual_seed(0))
    assert (out.sum(dim=(1, 2, 3)) == x.sum(dim=(1, 2, 3))).all()  # a 2 px shift keeps the square inside
    assert not torch.equal(out, x)


def test_augmentation_is_seeded_and_none_is_identity() -> None:
    x = _images().to(torch.uint8)
    config = TrainConfig(augmentation="randaugment", randaugment_magnitude=9)
    a = augment_batch(x, config, torch.Generator().manual_seed(3))
    b = augment_batch(x, config, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 255
    assert torch.equal(augment_batch(x, TrainConfig(), torch.Generator()), x.float())
