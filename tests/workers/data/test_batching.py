import torch

from workers.data.batching import iterate_batches, to_model_input


def test_seeded_shuffle_is_reproducible_and_visits_every_example_once() -> None:
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    labels = torch.arange(10)
    runs = [
        [
            lab.tolist()
            for _, lab in iterate_batches(images, labels, 4, shuffle=True, generator=torch.Generator().manual_seed(7))
        ]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    visited = [label for batch in runs[0] for label in batch]
    assert sorted(visited) == list(range(10)) and visited != list(range(10))
    assert [len(b) for b in runs[0]] == [4, 4, 2]
    kept = list(iterate_batches(images, labels, 4, drop_last=True))
    assert [len(lab) for _, lab in kept] == [4, 4]
    assert all(torch.equal(img.flatten().long(), lab) for img, lab in kept)


def test_model_input_is_normalised_float_for_any_channel_count() -> None:
    grey = torch.full((2, 1, 3, 3), 255, dtype=torch.uint8)
    out = to_model_input(grey)
    assert out.dtype == torch.float32 and torch.allclose(out, torch.full_like(out, (1 - 0.485) / 0.229))
    five = to_model_input(torch.zeros(1, 5, 2, 2, dtype=torch.uint8))
    assert five.shape == (1, 5, 2, 2) and torch.isfinite(five).all() and (five < 0).all()
