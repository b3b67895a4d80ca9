import pytest
import torch
from torch import nn

from workers.data.dataset import ImageDataset
from workers.data.digits import load_digits_dataset


def small_convnet(channels: int = 1, num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, num_classes),
    )


@pytest.fixture(scope="session")
def digits_8px() -> tuple[ImageDataset, ImageDataset]:
    return (
        load_digits_dataset(image_size=8, channels=1, split="train"),
        load_digits_dataset(image_size=8, channels=1, split="test"),
    )


@pytest.fixture
def fresh_convnet() -> nn.Module:
    torch.manual_seed(0)
    return small_convnet()
