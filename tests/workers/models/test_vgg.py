import torch
from torch import nn

from workers.models import create_model
from workers.models.flops import count_parameters


def test_vgg16_has_13_convs_one_linear_and_no_batchnorm() -> None:
    model = create_model("vgg16")
    modules = list(model.modules())
    assert sum(isinstance(m, nn.Conv2d) for m in modules) == 13
    assert sum(isinstance(m, nn.MaxPool2d) for m in modules) == 4
    assert [type(m) for m in modules if isinstance(m, (nn.Linear, nn.AdaptiveAvgPool2d))] == [
        nn.AdaptiveAvgPool2d,
        nn.Linear,
    ]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in modules)


def test_vgg16_parameter_count_and_names_match_the_official_rws_code() -> None:
    model = create_model("vgg16", num_classes=10)
    conv_params = sum(p.numel() for name, p in model.named_parameters() if name.startswith("features"))
    assert conv_params == 14_714_688  # the 13 convolutions of VGG-16 (configuration D) with biases
    assert count_parameters(model) == 14_719_818  # + Linear(512, 10)
    head = {name: tuple(p.shape) for name, p in model.named_parameters() if not name.startswith("features")}
    assert head == {"classifier.weight": (10, 512), "classifier.bias": (10,)}
    # conv indices as in the official nn.Sequential (conv, relu[, pool]): the last conv is features.28
    assert [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)][-1] == "features.28"


def test_vgg16_maps_32x32_images_to_logits_and_takes_a_hidden_head() -> None:
    model = create_model("vgg16", num_classes=4).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 4)
    wide = create_model("vgg16", num_classes=4, classifier_widths=(512, 512)).eval()
    assert count_parameters(wide) == 14_714_688 + 512 * 512 + 512 + 512 * 512 + 512 + 512 * 4 + 4
    assert wide(torch.randn(2, 3, 32, 32)).shape == (2, 4)
