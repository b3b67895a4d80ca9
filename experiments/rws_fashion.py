"""Robust Weight Signatures on Fashion-MNIST: where the projection matters, with controls, several seeds.

Per seed, the official protocol scaled to the machine: a shared reference (AdamW on half the training
subset: the stand-in for pretraining), a clean fine-tune, a second clean fine-tune (other seed, half the
learning rate, pad-crop augmentation: the transfer target and the shallowness control), one robust
fine-tune per corruption (severity 5, corrupted training images) and a replica of each with another
seed (the identification queries). Fine-tunes use the official recipe (SGD momentum 0.9, wd 5e-4,
lr 0.01, x0.1 at 40%/80%). Signatures: ``first:K`` layers, 8-bit per tensor, applied through patchhub's
streaming composition. Two signatures per robust model are compared:

* projected RWS: tau_r minus its component along tau_c (the paper's);
* plain difference: robust - clean (what one gets without a reference).

On its own clean base the plain difference reproduces the robust layers exactly, so it must win there;
the projection is meant for transfer to other bases, composition and identification.

    # the reduced CPU run of docs/rws.md (30 min wall on a shared 2-core machine)
    python experiments/rws_fashion.py --seeds 0 1 2 --train-images 3000 --test-images 2000 \
        --reference-epochs 15 --finetune-epochs 4 --json rws_fashion.json
    python experiments/rws_fashion.py --full --json rws_fashion_full.json          # full VGG-16, GPU
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from patchhub.compose import FileRangeReader, iter_composed
from patchhub.safetensors_format import read_header
from patchhub.signature import Signature
from workers.data.dataset import ImageDataset
from workers.data.fashion_mnist import load_fashion_mnist_dataset
from workers.models import create_model
from workers.models.vgg import VGGConfig
from workers.rws.corruptions import corrupt_dataset
from workers.rws.extract import extract_signature
from workers.training import TrainConfig, train_classifier
from workers.training.config import Augmentation
from workers.training.evaluate import evaluate_classifier

FULL_WIDTHS = VGGConfig().conv_widths


@dataclass
class ExperimentConfig:
    width_divisor: int = 8  # VGG-16 conv widths divided by this (8: 64..512 -> 8..64)
    image_size: int = 32  # Fashion-MNIST padded to 32x32
    train_images: int = 2000  # training subset per seed (drawn by the seed from the 60,000)
    test_images: int = 1000  # test subset per seed (from the official 10,000)
    corruptions: tuple[str, ...] = ("fog", "contrast", "gaussian_noise")
    severity: int = 5
    reference_epochs: int = 8
    finetune_epochs: int = 5
    lr: float = 0.01  # official fine-tuning learning rate
    reference_lr: float = 2e-3
    layers: str = "first:7"
    batch_size: int = 32
    device: str = "cpu"
    threads: int = 1
    data_dir: str | None = None  # folder of the Fashion-MNIST IDX files (default: the Debian package's)


def _finetune_config(config: ExperimentConfig, lr: float, seed: int, augment: Augmentation = "none") -> TrainConfig:
    epochs = config.finetune_epochs
    milestones = tuple(sorted({max(1, round(epochs * 0.4)), max(1, round(epochs * 0.8))}))
    return TrainConfig(
        epochs=epochs, batch_size=config.batch_size, optimizer="sgd", lr=lr, momentum=0.9, nesterov=False,
        weight_decay=5e-4, schedule="step", milestones=milestones, gamma=0.1, augmentation=augment, flip=True,
        seed=seed, device=config.device, log_every=10**9,  # type: ignore[arg-type]
    )  # fmt: skip


def _reference_config(config: ExperimentConfig, seed: int) -> TrainConfig:
    return TrainConfig(
        epochs=config.reference_epochs, batch_size=config.batch_size, optimizer="adamw", lr=config.reference_lr,
        weight_decay=0.05, schedule="cosine", warmup_epochs=1.0, flip=True, seed=seed, device=config.device,  # type: ignore[arg-type]
        log_every=10**9,
    )  # fmt: skip


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}


def _compose(base: dict[str, torch.Tensor], patches: Sequence[tuple[Signature, float]]) -> dict[str, torch.Tensor]:
    """base + sum(scale * signature) through patchhub's streaming composition on safetensors bytes."""
    stream = io.BytesIO(save_safetensors(base))
    header = read_header(stream)
    return load_safetensors(b"".join(iter_composed(header, FileRangeReader(stream), patches)))


def _flat(signature: Signature) -> np.ndarray:
    return np.concatenate([signature.delta(n).ravel() for n in signature.tensor_names]).astype(np.float64)


def _cosine(a: Signature, b: Signature) -> float:
    u, v = _flat(a), _flat(b)
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _subset(data: ImageDataset, count: int, seed: int) -> ImageDataset:
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return data.subset(order[: min(count, len(data))].sort().values)


def size_ratios(widths: Sequence[int], ks: Sequence[int] = (6, 7)) -> dict[str, float]:
    """fp32 bytes of the whole VGG-16 over the bytes of its first K conv layers (weights + biases)."""
    model = create_model("vgg16", conv_widths=tuple(widths))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    total = sum(p.numel() for p in model.parameters())
    return {f"first:{k}": round(total / sum(p.numel() for m in convs[:k] for p in m.parameters()), 2) for k in ks}


def run_seed(config: ExperimentConfig, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    widths = tuple(w // config.width_divisor for w in FULL_WIDTHS)
    train = _subset(
        load_fashion_mnist_dataset(config.image_size, 3, "train", config.data_dir), config.train_images, seed
    )
    test = _subset(load_fashion_mnist_dataset(config.image_size, 3, "test", config.data_dir), config.test_images, seed)
    corrupted_train = {c: corrupt_dataset(train, c, config.severity, seed=1 + seed) for c in config.corruptions}
    test_sets = {"clean": test} | {
        c: corrupt_dataset(test, c, config.severity, seed=100 + seed) for c in config.corruptions
    }

    def accuracy(state: dict[str, torch.Tensor]) -> dict[str, float]:
        model = create_model("vgg16", conv_widths=widths)
        model.load_state_dict(state)
        return {
            n: round(100 * evaluate_classifier(model, d, device=config.device)["top1"], 2) for n, d in test_sets.items()
        }

    torch.manual_seed(seed)
    half = train.subset(torch.arange(0, len(train), 2))
    reference = _state(
        train_classifier(create_model("vgg16", conv_widths=widths), half, _reference_config(config, seed)).model
    )

    def finetune(
        data: ImageDataset, run_seed: int, lr: float, augment: Augmentation = "none"
    ) -> dict[str, torch.Tensor]:
        model = create_model("vgg16", conv_widths=widths)
        model.load_state_dict(reference)
        return _state(train_classifier(model, data, _finetune_config(config, lr, run_seed, augment)).model)

    clean = finetune(train, seed, config.lr)
    clean2 = finetune(train, seed + 17, config.lr * 0.5, augment="flip_crop")
    robust = {c: finetune(corrupted_train[c], seed, config.lr) for c in config.corruptions}
    replica = {c: finetune(corrupted_train[c], seed + 1, config.lr) for c in config.corruptions}
    trained = time.perf_counter() - started

    def signature(model: dict[str, torch.Tensor], projected: bool) -> Signature:
        return extract_signature(reference if projected else None, clean, model, layers=config.layers, bits=8)[0]

    sig = {
        m: {c: signature(robust[c], m == "projected") for c in config.corruptions} for m in ("projected", "difference")
    }
    out: dict[str, Any] = {"seed": seed, "accuracy": {}}
    acc = out["accuracy"]
    acc["clean"], acc["clean2"] = accuracy(clean), accuracy(clean2)
    for c in config.corruptions:
        acc[f"robust[{c}]"] = accuracy(robust[c])
        for method in ("projected", "difference"):
            acc[f"clean+{method}[{c}]"] = accuracy(_compose(clean, [(sig[method][c], 1.0)]))
            acc[f"clean2+{method}[{c}]"] = accuracy(_compose(clean2, [(sig[method][c], 1.0)]))
    first, second = config.corruptions[0], config.corruptions[1]
    for method in ("projected", "difference"):
        composed = [(sig[method][first], 1.0), (sig[method][second], 1.0)]
        acc[f"clean+{method}[{first}+{second}]"] = accuracy(_compose(clean, composed))
    # Identification: each replica's signature against the library, nearest by cosine.
    out["identification"] = {}
    for method in ("projected", "difference"):
        queries = {c: signature(replica[c], method == "projected") for c in config.corruptions}
        matrix = {q: {c: round(_cosine(queries[q], sig[method][c]), 4) for c in config.corruptions} for q in queries}
        correct = sum(max(row, key=row.__getitem__) == q for q, row in matrix.items())
        library = [
            _cosine(sig[method][a], sig[method][b])
            for i, a in enumerate(config.corruptions)
            for b in config.corruptions[i + 1 :]
        ]
        out["identification"][method] = {
            "accuracy": correct / len(queries),
            "replica_vs_library_cosine": matrix,
            "mean_cosine_between_corruptions": round(statistics.mean(library), 4),
        }
    # Shallowness: per-layer ||robust - clean|| / ||clean|| against the control ||clean2 - clean|| / ||clean||.
    _, control = extract_signature(None, clean, clean2, layers="first:1", bits=32)
    per_layer: dict[str, dict[str, float]] = {row.name: {"control": row.robust_vs_clean} for row in control.layers}
    for c in config.corruptions:
        _, report = extract_signature(None, clean, robust[c], layers="first:1", bits=32)
        for row in report.layers:
            per_layer[row.name][c] = row.robust_vs_clean
    out["per_layer_change"] = {k: {n: round(v, 6) for n, v in row.items()} for k, row in per_layer.items()}
    out["signature_ratio_fp32"] = {
        rule: extract_signature(reference, clean, robust[first], layers=rule, bits=32)[1].compression_ratio
        for rule in ("first:6", "first:7")
    }
    out["seconds"] = {"training": round(trained, 1), "total": round(time.perf_counter() - started, 1)}
    return out


def summarise(runs: list[dict[str, Any]], config: ExperimentConfig) -> dict[str, Any]:
    """Mean and standard deviation over seeds of every number that matters for the comparisons."""

    def stat(values: list[float], digits: int = 2) -> list[float]:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return [round(statistics.mean(values), digits), round(spread, digits)]

    rows: dict[str, list[float]] = {}
    for name in runs[0]["accuracy"]:
        for test_set in runs[0]["accuracy"][name]:
            rows[f"{name} @ {test_set}"] = stat([r["accuracy"][name][test_set] for r in runs])
    identification = {
        method: {
            "accuracy": stat([r["identification"][method]["accuracy"] for r in runs]),
            "mean_cosine_between_corruptions": stat(
                [r["identification"][method]["mean_cosine_between_corruptions"] for r in runs]
            ),
        }
        for method in ("projected", "difference")
    }
    layers = list(runs[0]["per_layer_change"])
    per_layer = {
        layer: {
            "control": stat([r["per_layer_change"][layer]["control"] for r in runs], 4),
            "robust (mean of corruptions)": stat(
                [statistics.mean(r["per_layer_change"][layer][c] for c in config.corruptions) for r in runs], 4
            ),
        }
        for layer in layers
    }
    return {
        "accuracy": rows,
        "identification": identification,
        "per_layer_change": per_layer,
        "signature_ratio_fp32_at_this_width": runs[0]["signature_ratio_fp32"],
        "size_ratio_fp32_full_vgg16": size_ratios(FULL_WIDTHS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--full", action="store_true", help="full-width VGG-16, all 60,000/10,000 images, 50 epochs")
    parser.add_argument("--width-divisor", type=int)
    parser.add_argument("--image-size", type=int, help="side the 32x32 padded images are resized to")
    parser.add_argument("--corruptions", nargs="+", help="robust models, one per corruption (first two composed)")
    parser.add_argument("--train-images", type=int)
    parser.add_argument("--test-images", type=int)
    parser.add_argument("--reference-epochs", type=int)
    parser.add_argument("--finetune-epochs", type=int)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", help="folder holding the Fashion-MNIST IDX files (e.g. a copy shipped along)")
    parser.add_argument("--json", help="write every number here")
    args = parser.parse_args()
    config = ExperimentConfig(device=args.device, threads=args.threads, data_dir=args.data_dir)
    if args.full:  # the official recipe's length and the paper's network
        config = dataclasses.replace(
            config, width_divisor=1, train_images=60_000, test_images=10_000, reference_epochs=30,
            finetune_epochs=50, batch_size=128,
        )  # fmt: skip
    overrides = {
        "width_divisor": args.width_divisor, "image_size": args.image_size, "train_images": args.train_images,
        "test_images": args.test_images,
        "reference_epochs": args.reference_epochs, "finetune_epochs": args.finetune_epochs,
    }  # fmt: skip
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if args.corruptions:
        config = dataclasses.replace(config, corruptions=tuple(args.corruptions))
    torch.set_num_threads(config.threads)
    runs = []
    for seed in args.seeds:
        runs.append(run_seed(config, seed))
        print(json.dumps(runs[-1]), flush=True)
    result = {
        "config": dataclasses.asdict(config),
        "seeds": args.seeds,
        "summary": summarise(runs, config),
        "runs": runs,
    }
    print(json.dumps(result["summary"], indent=1))
    if args.json:
        with open(args.json, "w") as sink:
            json.dump(result, sink, indent=1)


if __name__ == "__main__":
    main()
