"""LAPP on Fashion-MNIST ResNet-20 against its controls at equal FLOPs and equal epochs, several seeds.

Methods, all ResNet-20 at the same MACs budget (``--target`` of the plain dense network's MACs) and the
same number of epochs in total:
- lapp:            prune while training from scratch with the paper's bypass (ungated 3x3 depthwise path
                   around each block's convs, kept and counted), pruning in the first ``--pruning-epochs``
- lapp_folded:     the ablation's bypass (1x1 beside each conv, gated, folded away at extraction)
- lapp_none:       no bypass
- uniform:         every block's inner width scaled by one factor, trained from scratch (Liu et al. 2019)
- torch_pruning:   Torch-Pruning (BN-scale importance, global) on a dense net trained for the pruning
                   epochs, pruned to the budget, then fine-tuned for the remaining epochs
- dense:           the unpruned ResNet-20 (100% of the MACs) for the same epochs: the "no accuracy drop"
                   reference (not run by default)

    # the reduced CPU run of docs/lapp.md (60 min wall on a shared 2-core machine)
    python experiments/lapp_fashion.py --seeds 0 1 2 --train-images 1500 --json lapp_fashion.json
    python experiments/lapp_fashion.py --full --seeds 0 1 2 --json lapp_fashion_full.json # GPU
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from typing import Any

import torch
from torch import nn

from workers.data.dataset import ImageDataset
from workers.data.fashion_mnist import load_fashion_mnist_dataset
from workers.lapp import LappSettings, evaluate, pad_crop_flip, prune, train_dense, uniform_config
from workers.models import config_to_json, create_model, model_config
from workers.models.flops import count_costs
from workers.models.resnet_cifar import BasicBlock

METHODS = ("lapp", "lapp_folded", "lapp_none", "uniform", "torch_pruning")
ALL_METHODS = (*METHODS, "dense")


def macs(model: nn.Module, image_size: int) -> int:
    return count_costs(model, torch.zeros(1, 3, image_size, image_size, device=next(model.parameters()).device)).macs


def subset(data: ImageDataset, count: int, seed: int) -> ImageDataset:
    if count <= 0 or count >= len(data):
        return data
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return data.subset(order[:count].sort().values)


def run_lapp(train: ImageDataset, test: ImageDataset, args: argparse.Namespace, seed: int, bypass: str) -> dict:
    settings = LappSettings(bypass=bypass, lr=args.lr, batch_size=args.batch_size, device=args.device)
    result = prune(
        "resnet20", train, test, args.target, args.epochs, args.pruning_epochs, seed,
        settings=settings, augment=pad_crop_flip(),
    )  # fmt: skip
    pruning = [h["val_accuracy"] for h in result.history if h["phase"] == "pruning"]
    return {
        "accuracy": result.accuracy,
        "flops_ratio": result.flops_ratio,
        "learned_flops_ratio": result.learned_flops_ratio,
        "calibration_dropped": result.calibration_dropped,
        "accuracy_at_end_of_pruning": pruning[-1],
        "params": result.params,
        "block_widths": list(result.arch_config["block_widths"]),
    }


def run_uniform(train: ImageDataset, test: ImageDataset, args: argparse.Namespace, seed: int) -> dict:
    config = uniform_config("resnet20", model_config("resnet20"), args.target, args.image_size)
    torch.manual_seed(seed)
    model = create_model("resnet20", **config_to_json(config)).to(args.device)
    train_dense(model, train, args.epochs, seed=seed, lr=args.lr, batch_size=args.batch_size, augment=pad_crop_flip())
    return {
        "accuracy": evaluate(model, test),
        "flops_ratio": macs(model, args.image_size) / macs(create_model("resnet20"), args.image_size),
        "params": sum(p.numel() for p in model.parameters()),
        "block_widths": list(config.block_widths),
    }


def run_dense(train: ImageDataset, test: ImageDataset, args: argparse.Namespace, seed: int) -> dict:
    torch.manual_seed(seed)
    model = create_model("resnet20").to(args.device)
    train_dense(model, train, args.epochs, seed=seed, lr=args.lr, batch_size=args.batch_size, augment=pad_crop_flip())
    return {"accuracy": evaluate(model, test), "flops_ratio": 1.0, "params": sum(p.numel() for p in model.parameters())}


def run_torch_pruning(train: ImageDataset, test: ImageDataset, args: argparse.Namespace, seed: int) -> dict:
    import torch_pruning as tp

    torch.manual_seed(seed)
    dense = create_model("resnet20").to(args.device)
    train_dense(dense, train, args.pruning_epochs, seed=seed, lr=args.lr, batch_size=args.batch_size,
                augment=pad_crop_flip())  # fmt: skip
    dense_macs = macs(dense, args.image_size)
    example = torch.zeros(1, 3, args.image_size, args.image_size, device=args.device)

    def pruned_at(ratio: float) -> nn.Module:
        model = copy.deepcopy(dense)
        # The same prunable set as LAPP: only the block-internal channels (conv1 outputs).
        ignored = [model.conv1, model.fc] + [block.conv2 for block in _blocks(model)]
        pruner = tp.pruner.MetaPruner(
            model, example, importance=tp.importance.BNScaleImportance(), pruning_ratio=ratio,
            global_pruning=True, ignored_layers=ignored,
        )  # fmt: skip
        pruner.step()
        return model

    low, high = 0.0, 0.99
    for _ in range(12):  # bisection: the smallest pruning ratio within the MACs budget
        middle = (low + high) / 2
        if macs(pruned_at(middle), args.image_size) / dense_macs <= args.target:
            high = middle
        else:
            low = middle
    model = pruned_at(high)
    before = evaluate(model, test)
    remaining = args.epochs - args.pruning_epochs
    train_dense(model, train, remaining, seed=seed, lr=args.lr, batch_size=args.batch_size, augment=pad_crop_flip())
    return {
        "accuracy": evaluate(model, test),
        "accuracy_right_after_pruning": before,
        "flops_ratio": macs(model, args.image_size) / dense_macs,
        "params": sum(p.numel() for p in model.parameters()),
        "block_widths": [block.conv1.out_channels for block in _blocks(model)],
    }


def _blocks(model: nn.Module) -> list[BasicBlock]:
    return [m for m in model.modules() if isinstance(m, BasicBlock)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--pruning-epochs", type=int, default=4)
    parser.add_argument("--target", type=float, default=0.4)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--train-images", type=int, default=1000, help="training subset per seed (0: all 60,000)")
    parser.add_argument("--test-images", type=int, default=1000, help="test subset per seed (0: all 10,000)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=ALL_METHODS)
    parser.add_argument("--full", action="store_true", help="every image at 32x32, 60 epochs (6 pruning), batch 128")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", help="folder holding the Fashion-MNIST IDX files (e.g. a copy shipped along)")
    parser.add_argument("--json", help="write every row and the summary here")
    args = parser.parse_args()
    if args.full:
        args.train_images, args.test_images, args.image_size = 0, 0, 32
        args.epochs, args.pruning_epochs, args.batch_size, args.lr = 60, 6, 128, 0.1
    torch.set_num_threads(args.threads)
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in args.methods}
    for seed in args.seeds:
        train = subset(load_fashion_mnist_dataset(args.image_size, 3, "train", args.data_dir), args.train_images, seed)
        test = subset(load_fashion_mnist_dataset(args.image_size, 3, "test", args.data_dir), args.test_images, seed)
        for method in args.methods:
            start = time.time()
            if method.startswith("lapp"):
                bypass = {"lapp": "depthwise", "lapp_folded": "folded", "lapp_none": "none"}[method]
                row = run_lapp(train, test, args, seed, bypass)
            elif method == "uniform":
                row = run_uniform(train, test, args, seed)
            elif method == "dense":
                row = run_dense(train, test, args, seed)
            else:
                row = run_torch_pruning(train, test, args, seed)
            row |= {"seed": seed, "seconds": round(time.time() - start, 1)}
            results[method].append(row)
            print(json.dumps({"method": method, **row}), flush=True)
    summary = {}
    print("\n| method | top-1 (mean ± std) | per seed | MACs ratio | params |")
    print("|---|---|---|---|---|")
    for method, rows in results.items():
        accuracies = [r["accuracy"] for r in rows]
        spread = statistics.stdev(accuracies) if len(rows) > 1 else 0.0
        ratio = statistics.mean(r["flops_ratio"] for r in rows)
        params = statistics.mean(r["params"] for r in rows)
        summary[method] = {"mean": statistics.mean(accuracies), "std": spread, "flops_ratio": ratio, "params": params}
        per_seed = ", ".join(f"{a:.4f}" for a in accuracies)
        print(f"| {method} | {summary[method]['mean']:.4f} ± {spread:.4f} | {per_seed} | {ratio:.4f} | {params:,.0f} |")
    if args.json:
        with open(args.json, "w") as sink:
            json.dump({"args": vars(args), "results": results, "summary": summary}, sink, indent=1)


if __name__ == "__main__":
    main()
