"""Robust Weight Signatures on scikit-learn digits: extract, scale, compose, quantize and transfer.

Protocol (the official code's, scaled down to the CPU): one shared reference model (trained with AdamW
on half of the clean training split: a stand-in for pretraining), a clean fine-tune of it on the full
clean split, one robust fine-tune per corruption on the corrupted split (SGD momentum 0.9, weight
decay 5e-4, lr 0.01, lr x0.1 at 40% and 80% of the epochs), and a second clean fine-tune with another
seed, learning rate and augmentation (the transfer target). Signatures are extracted with the
projection rule from the first K layers and applied through patchhub's own streaming composition
(safetensors bytes in, bytes out). Test images are corrupted with a different seed than training ones.

    python experiments/rws_digits.py                      # VGG-16 at 1/8 width, < 20 CPU minutes
    python experiments/rws_digits.py --json results.json  # also write every number as JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from workers.data.digits import load_digits_dataset
from workers.models import create_model
from workers.rws.corruptions import corrupt_dataset
from workers.rws.extract import extract_signature
from workers.training import TrainConfig, train_classifier
from workers.training.config import Augmentation
from workers.training.evaluate import evaluate_classifier


@dataclass
class ExperimentConfig:
    width_divisor: int = 8  # VGG-16 conv/classifier widths divided by this (8: 64..512 -> 8..64)
    corruptions: tuple[str, ...] = ("impulse_noise", "snow", "fog", "contrast")  # one robust model each
    severity: int = 5  # corruption severity (CIFAR-10-C table)
    reference_epochs: int = 30  # training of the shared reference from scratch (half the clean split)
    finetune_epochs: int = 6  # each clean / robust fine-tune from the reference
    lr: float = 0.01  # fine-tuning learning rate (official: 0.01)
    reference_lr: float = 2e-3  # AdamW learning rate of the reference run
    layers: str = "first:7"  # layer rule of the main signatures
    scales: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)  # patch scales swept
    bit_widths: tuple[int, ...] = (32, 8, 4, 2, 1)  # signature quantizations compared
    train_limit: int | None = None  # use only this many training images (smoke tests)
    seed: int = 0  # split, initialisation and training seed
    threads: int = 2  # torch CPU threads
    notes: list[str] = field(default_factory=list)


def _finetune_config(epochs: int, lr: float, seed: int, augment: Augmentation = "none") -> TrainConfig:
    """The official fine-tuning recipe: SGD momentum 0.9, wd 5e-4, lr x0.1 at 40% and 80% of the epochs."""
    milestones = tuple(sorted({max(1, round(epochs * 0.4)), max(1, round(epochs * 0.8))}))
    return TrainConfig(
        epochs=epochs, batch_size=32, optimizer="sgd", lr=lr, momentum=0.9, nesterov=False, weight_decay=5e-4,
        schedule="step", milestones=milestones, gamma=0.1, augmentation=augment, flip=False, seed=seed,
        device="cpu", log_every=10_000,
    )  # fmt: skip


def _reference_config(epochs: int, lr: float, seed: int) -> TrainConfig:
    """The stand-in for pretraining: AdamW with warm-up and cosine (a plain VGG without BN starts slowly)."""
    return TrainConfig(
        epochs=epochs, batch_size=32, optimizer="adamw", lr=lr, weight_decay=0.05, schedule="cosine",
        warmup_epochs=1.0, flip=False, seed=seed, device="cpu", log_every=10_000,
    )  # fmt: skip


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def _compose(base: bytes, patches: Sequence[tuple[Signature, float]]) -> dict[str, torch.Tensor]:
    """The composed state dict, through patchhub's streaming composition on safetensors bytes."""
    stream = io.BytesIO(base)
    header = read_header(stream)
    return load_safetensors(b"".join(iter_composed(header, FileRangeReader(stream), patches)))


def run(config: ExperimentConfig) -> dict[str, Any]:
    torch.set_num_threads(config.threads)
    started = time.perf_counter()
    train = load_digits_dataset(split="train", seed=config.seed)
    test = load_digits_dataset(split="test", seed=config.seed)
    if config.train_limit is not None:
        train = train.subset(torch.arange(min(config.train_limit, len(train))))
        test = test.subset(torch.arange(min(config.train_limit, len(test))))
    widths = {
        "conv_widths": tuple(w // config.width_divisor for w in (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512,
                                                                  512, 512)),
        "classifier_widths": (512 // config.width_divisor,) * 2,
    }  # fmt: skip
    corrupted_train = {c: corrupt_dataset(train, c, config.severity, seed=1) for c in config.corruptions}
    test_sets = {"clean": test} | {c: corrupt_dataset(test, c, config.severity, seed=2) for c in config.corruptions}

    def accuracy(state: dict[str, torch.Tensor]) -> dict[str, float]:
        model = create_model("vgg16", **widths)
        model.load_state_dict(state)
        return {name: round(100 * evaluate_classifier(model, data, device="cpu")["top1"], 1) for name, data in
                test_sets.items()}  # fmt: skip

    torch.manual_seed(config.seed)
    half = train.subset(torch.arange(0, len(train), 2))
    reference_config = _reference_config(config.reference_epochs, config.reference_lr, config.seed)
    reference = _state(train_classifier(create_model("vgg16", **widths), half, reference_config).model)

    def finetune(data: ImageDataset, seed: int, lr: float, augment: Augmentation = "none") -> dict[str, torch.Tensor]:
        model = create_model("vgg16", **widths)
        model.load_state_dict(reference)
        return _state(train_classifier(model, data, _finetune_config(config.finetune_epochs, lr, seed, augment)).model)

    clean = finetune(train, config.seed, config.lr)
    clean_other = finetune(train, config.seed + 17, config.lr * 0.5, augment="flip_crop")
    robust = {c: finetune(corrupted_train[c], config.seed, config.lr) for c in config.corruptions}
    # A second robust model per corruption (other seed): does a signature identify its corruption type?
    robust_replica = {c: finetune(corrupted_train[c], config.seed + 1, config.lr) for c in config.corruptions}
    trained_at = time.perf_counter() - started

    clean_bytes = save_safetensors(clean)
    other_bytes = save_safetensors(clean_other)
    results: dict[str, Any] = {"config": dataclasses.asdict(config), "accuracy": {}}
    acc = results["accuracy"]
    acc["reference"] = accuracy(reference)
    acc["clean"] = accuracy(clean)
    acc["clean_other"] = accuracy(clean_other)
    signatures: dict[str, Signature] = {}
    for name in config.corruptions:
        acc[f"robust[{name}]"] = accuracy(robust[name])
        signature, report = extract_signature(reference, clean, robust[name], layers=config.layers, bits=8,
                                              metadata={"arch": "vgg16/4", "corruption": name})  # fmt: skip
        signatures[name] = signature
        results.setdefault("layer_norms", {})[name] = [
            (row.name, round(row.robust_vs_clean, 4), round(row.signature, 4)) for row in report.layers
        ]
        results.setdefault("selected_layers", report.selected_layers)
        for scale in config.scales:
            acc[f"clean+{scale}*rws[{name}]"] = accuracy(_compose(clean_bytes, [(signature, scale)]))
        acc[f"clean_other+rws[{name}]"] = accuracy(_compose(other_bytes, [(signature, 1.0)]))
        all_layers, _ = extract_signature(reference, clean, robust[name], layers=f"first:{10**6}", bits=8)
        acc[f"clean+rws_all_layers[{name}]"] = accuracy(_compose(clean_bytes, [(all_layers, 1.0)]))
        no_projection, _ = extract_signature(None, clean, robust[name], layers=config.layers, bits=8)
        acc[f"clean+(robust-clean)[{name}]"] = accuracy(_compose(clean_bytes, [(no_projection, 1.0)]))
    sizes: dict[str, Any] = {}
    for name in config.corruptions:
        for bits in config.bit_widths:
            for scheme in ("per_tensor", "per_channel"):
                if bits == 32 and scheme == "per_channel":
                    continue
                signature, report = extract_signature(reference, clean, robust[name], layers=config.layers, bits=bits,
                                                      scheme=scheme)  # fmt: skip
                acc[f"clean+rws[{name}]@{bits}bit/{scheme}"] = accuracy(_compose(clean_bytes, [(signature, 1.0)]))
                sizes[f"{bits}bit/{scheme}"] = round(report.compression_ratio, 2)
                sizes.setdefault(f"{bits}bit/{scheme} relative quantization error", {})[name] = round(
                    report.quantization_error, 4
                )
    results["size_ratio_vs_full_base"] = sizes
    names = list(config.corruptions)
    for a, b in zip(names[::2], names[1::2], strict=False):
        for scale in (1.0, 0.5):
            acc[f"clean+{scale}*(rws[{a}]+rws[{b}])"] = accuracy(
                _compose(clean_bytes, [(signatures[a], scale), (signatures[b], scale)])
            )
    results["cosine"] = _cosine_matrix(signatures, signatures)
    replicas = {
        name: extract_signature(reference, clean, robust_replica[name], layers=config.layers, bits=8)[0]
        for name in config.corruptions
    }
    results["cosine_replica"] = _cosine_matrix(replicas, signatures)
    results["seconds"] = {"training": round(trained_at, 1), "total": round(time.perf_counter() - started, 1)}
    return results


def _cosine_matrix(rows: dict[str, Signature], columns: dict[str, Signature]) -> dict[str, dict[str, float]]:
    """Cosine similarity of every row signature with every column signature (all covered tensors)."""

    def flat(signature: Signature) -> np.ndarray:
        return np.concatenate([signature.delta(n).ravel() for n in signature.tensor_names]).astype(np.float64)

    row_vectors = {name: flat(s) for name, s in rows.items()}
    column_vectors = {name: flat(s) for name, s in columns.items()}
    return {
        a: {b: round(float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v))), 3) for b, v in column_vectors.items()}
        for a, u in row_vectors.items()
    }


def to_markdown(results: dict[str, Any]) -> str:
    acc = results["accuracy"]
    sets = list(next(iter(acc.values())))
    lines = ["| model | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    lines += [f"| {name} | " + " | ".join(f"{row[s]:.1f}" for s in sets) + " |" for name, row in acc.items()]
    lines += ["", "Per-layer relative norms (||robust - clean|| / ||clean||, ||RWS|| / ||clean||):", ""]
    corruptions = list(results["layer_norms"])
    lines += ["| layer | " + " | ".join(corruptions) + " |", "|---|" + "---|" * len(corruptions)]
    layer_names = [row[0] for row in results["layer_norms"][corruptions[0]]]
    for i, layer in enumerate(layer_names):
        cells = [f"{results['layer_norms'][c][i][1]:.3f} / {results['layer_norms'][c][i][2]:.3f}" for c in corruptions]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    lines += ["", "Signature cosine similarity:", "", "| | " + " | ".join(corruptions) + " |",
              "|---|" + "---|" * len(corruptions)]  # fmt: skip
    lines += [
        f"| {a} | " + " | ".join(f"{results['cosine'][a][b]:.3f}" for b in corruptions) + " |" for a in corruptions
    ]
    lines += ["", "Cosine of each corruption's second-seed signature (rows) with the first-seed signatures:", "",
              "| | " + " | ".join(corruptions) + " |", "|---|" + "---|" * len(corruptions)]  # fmt: skip
    lines += [
        f"| {a} (seed 2) | " + " | ".join(f"{results['cosine_replica'][a][b]:.3f}" for b in corruptions) + " |"
        for a in corruptions
    ]
    lines += ["", "Size ratio (full base bytes / signature bytes):", ""]
    lines += [f"- {k}: {v}" for k, v in results["size_ratio_vs_full_base"].items()]
    lines += ["", f"Selected layers: {results['selected_layers']}", f"Seconds: {results['seconds']}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width-divisor", type=int, default=8)
    parser.add_argument("--reference-epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=6)
    parser.add_argument("--corruptions", nargs="+", default=list(ExperimentConfig.corruptions))
    parser.add_argument("--severity", type=int, default=5)
    parser.add_argument("--layers", default="first:7")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    config = ExperimentConfig(
        width_divisor=args.width_divisor, reference_epochs=args.reference_epochs,
        finetune_epochs=args.finetune_epochs, corruptions=tuple(args.corruptions), severity=args.severity,
        layers=args.layers, threads=args.threads,
    )  # fmt: skip
    results = run(config)
    print(to_markdown(results))
    if args.json:
        with open(args.json, "w") as sink:
            json.dump(results, sink, indent=1)


if __name__ == "__main__":
    main()
