"""Model zoo. Importing this package registers every architecture family."""

from workers.models import emov2 as emov2  # registers emov2_1m/2m/5m/20m
from workers.models import inverted_residual as inverted_residual  # registers inverted_residual
from workers.models import resnet_cifar as resnet_cifar  # registers resnet20/32/56
from workers.models import resnet_imagenet as resnet_imagenet  # registers resnet18
from workers.models import uva as uva  # registers uva
from workers.models import vgg as vgg  # registers vgg16
from workers.models.zoo import available_models, config_to_json, create_model, model_config, register_model

__all__ = ["available_models", "config_to_json", "create_model", "model_config", "register_model"]
