import json
import struct

import pytest
import torch
from safetensors.torch import save

from workers.data.dataset import ImageDataset
from workers.data.safetensors_dataset import dataset_from_bytes, dataset_to_bytes, load_dataset, save_dataset


def _small() -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 5, 4), dtype=torch.uint8, generator=g)
    return ImageDataset(images, torch.tensor([0, 1, 2, 0, 1, 3]), num_classes=5, class_names=list("abcde"))


def test_round_trip_through_file_and_bytes_keeps_everything(tmp_path) -> None:
    data = _small()
    save_dataset(data, tmp_path / "d.safetensors")
    for loaded in (load_dataset(tmp_path / "d.safetensors"), dataset_from_bytes(dataset_to_bytes(data))):
        assert torch.equal(loaded.images, data.images) and torch.equal(loaded.labels, data.labels)
        assert loaded.num_classes == 5 and loaded.class_names == list("abcde")


def test_num_classes_is_inferred_without_metadata() -> None:
    data = _small()
    loaded = dataset_from_bytes(save({"images": data.images, "labels": data.labels}))
    assert loaded.num_classes == 4 and loaded.class_names is None


@pytest.mark.parametrize(
    ("tensors", "metadata", "message"),
    [
        ({"images": torch.zeros(2, 1, 3, 3), "labels": torch.zeros(2, dtype=torch.int64)}, None, "uint8|U8"),
        (
            {"images": torch.zeros(2, 3, 3, dtype=torch.uint8), "labels": torch.zeros(2, dtype=torch.int64)},
            None,
            "4 dimensions",
        ),
        (
            {
                "images": torch.zeros(2, 1, 3, 3, dtype=torch.uint8),
                "labels": torch.zeros(2, dtype=torch.int32),
            },
            None,
            "I64",
        ),
        (
            {
                "images": torch.zeros(2, 1, 3, 3, dtype=torch.uint8),
                "labels": torch.zeros(3, dtype=torch.int64),
            },
            None,
            "2 images but 3 labels",
        ),
        (
            {"images": torch.zeros(2, 1, 3, 3, dtype=torch.uint8), "labels": torch.tensor([0, 7])},
            {"num_classes": "5"},
            r"labels must lie in \[0, 5\)",
        ),
        (
            {"images": torch.zeros(2, 1, 3, 3, dtype=torch.uint8), "labels": torch.tensor([0, -1])},
            None,
            "labels must lie",
        ),
        (
            {
                "images": torch.zeros(1, 1, 3, 3, dtype=torch.uint8),
                "labels": torch.tensor([0]),
                "extra": torch.zeros(1),
            },
            None,
            "exactly the tensors",
        ),
        (
            {"images": torch.zeros(1, 1, 3, 3, dtype=torch.uint8), "labels": torch.tensor([0])},
            {"class_names": "not json"},
            "not valid JSON",
        ),
    ],
)
def test_invalid_datasets_are_rejected_with_a_clear_error(tmp_path, tensors, metadata, message) -> None:
    data = save(tensors, metadata=metadata)
    with pytest.raises(ValueError, match=message):
        dataset_from_bytes(data)
    (tmp_path / "bad.safetensors").write_bytes(data)
    with pytest.raises(ValueError, match=message):
        load_dataset(tmp_path / "bad.safetensors")


def test_garbage_bytes_are_a_value_error(tmp_path) -> None:
    header = json.dumps({"images": {"dtype": "U8", "shape": [1, 1, 1, 1], "data_offsets": [0, 99]}}).encode()
    for junk in (b"", b"abc", struct.pack("<Q", 10**12) + b"{}", struct.pack("<Q", len(header)) + header):
        with pytest.raises(ValueError):
            dataset_from_bytes(junk)
        (tmp_path / "junk").write_bytes(junk)
        with pytest.raises(ValueError):
            load_dataset(tmp_path / "junk")
