import torch

from workers.data.digits import load_digits_dataset


def test_split_is_stratified_disjoint_and_covers_everything() -> None:
    train = load_digits_dataset(image_size=8, channels=1, split="train", seed=3)
    test = load_digits_dataset(image_size=8, channels=1, split="test", seed=3)
    full = load_digits_dataset(image_size=8, channels=1, split="all")
    assert len(train) + len(test) == len(full) == 1797
    # every class keeps ~20% of its examples in test
    for cls in range(10):
        n_cls = int((full.labels == cls).sum())
        assert abs(int((test.labels == cls).sum()) - 0.2 * n_cls) <= 0.5
    # no image appears in both splits: compare the multiset of (image bytes, label) rows
    rows = lambda d: sorted(d.images.flatten(1).tolist())  # noqa: E731
    assert sorted(rows(train) + rows(test)) == rows(full)


def test_split_depends_on_seed_and_is_reproducible() -> None:
    a = load_digits_dataset(image_size=8, split="test", seed=0)
    b = load_digits_dataset(image_size=8, split="test", seed=0)
    c = load_digits_dataset(image_size=8, split="test", seed=1)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, c.images)


def test_resized_images_are_uint8_full_range_and_replicated() -> None:
    data = load_digits_dataset(image_size=32, channels=3, split="all")
    assert data.images.shape == (1797, 3, 32, 32) and data.images.dtype == torch.uint8
    assert int(data.images.max()) == 255 and int(data.images.min()) == 0
    assert torch.equal(data.images[:, 0], data.images[:, 2])
    assert data.class_names == [str(d) for d in range(10)]
