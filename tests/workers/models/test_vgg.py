import torch
from torch import nn

from workers.models import create_model
from workers.models.flops import count_parameters


def test_vgg16_has_13_convs_3_linears_and_no_batchnorm() -> None:
    model = create_model("vgg16")
    modules = list(model.modules())
    assert sum(isinstance(m, nn.Conv2d) for m in modules) == 13
    assert sum(isinstance(m, nn.Linear) for m in modules) == 3
    assert not any(isinstance(m, nn.BatchNorm2d) for m in modules)


def test_vgg16_parameter_count_for_cifar10() -> None:
    model = create_model("vgg16", num_classes=10)
    conv_params = sum(p.numel() for name, p in model.named_parameters() if name.startswith("features"))
    assert conv_params == 14_714_688  # the 13 convolutions of VGG-16 (configuration D) with biases
    assert count_parameters(model) == 15_245_130


def test_vgg16_maps_32x32_images_to_logits() -> None:
    model = create_model("vgg16", num_classes=4).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 4)
