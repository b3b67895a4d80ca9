"""Image classification datasets: the in-memory format, loaders, and batching helpers."""

from workers.data.batching import IMAGENET_MEAN, IMAGENET_STD, iterate_batches, to_model_input
from workers.data.dataset import ImageDataset
from workers.data.digits import load_digits_dataset
from workers.data.fashion_mnist import load_fashion_mnist_dataset
from workers.data.safetensors_dataset import dataset_from_bytes, dataset_to_bytes, load_dataset, save_dataset

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageDataset",
    "dataset_from_bytes",
    "dataset_to_bytes",
    "iterate_batches",
    "load_dataset",
    "load_digits_dataset",
    "load_fashion_mnist_dataset",
    "save_dataset",
    "to_model_input",
]
