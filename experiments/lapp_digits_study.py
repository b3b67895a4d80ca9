"""LAPP vs its controls at equal FLOPs on a harder digits variant, several seeds (CPU, minutes).

Methods, all ResNet-20 at the same MACs budget (``--target`` of the dense network):
- lapp:            prune while training from scratch, bypasses on (workers.lapp.prune)
- lapp_no_bypass:  the same without the 1x1 bypasses
- uniform:         every block's inner width scaled by one factor, trained from scratch as long
- torch_pruning:   Torch-Pruning (BN-scale importance, global) on a dense net trained as long, then
                   fine-tuned for half as many epochs (more total compute than the others)

Data: sklearn digits at 16x16, each image shifted by up to 3 px and given Gaussian pixel noise
(std 64 of 255), train/test split by the seed: plain digits saturate (ResNet-20 reaches 99%+).

    python experiments/lapp_digits_study.py --seeds 0 1 2 --epochs 8 --pruning-epochs 4 --target 0.4
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from workers.data.dataset import ImageDataset
from workers.data.digits import load_digits_dataset
from workers.lapp import LappSettings, evaluate, prune, train_dense, uniform_config
from workers.models import config_to_json, create_model, model_config
from workers.models.flops import count_costs


def harder_digits(split: str, seed: int, image_size: int = 16) -> ImageDataset:
    """Digits with random translation (up to 3 px) and Gaussian pixel noise, fixed by ``seed``."""
    base = load_digits_dataset(image_size=image_size, split=split, seed=seed)  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(1000 + seed + (0 if split == "train" else 1))
    images = base.images.float()
    shifted = torch.zeros_like(images)
    for i in range(images.shape[0]):
        dy, dx = torch.randint(-3, 4, (2,), generator=generator).tolist()
        rolled = torch.roll(images[i], shifts=(dy, dx), dims=(1, 2))
        shifted[i] = rolled
    noisy = shifted + 64.0 * torch.randn(shifted.shape, generator=generator)
    return ImageDataset(noisy.clamp(0, 255).round().to(torch.uint8), base.labels, base.num_classes)


def macs(model: nn.Module, image_size: int) -> int:
    return count_costs(model, torch.zeros(1, 3, image_size, image_size)).macs


def run_lapp(train, test, args, seed: int, bypass: bool) -> dict:
    settings = LappSettings(bypass=bypass, lr=args.lr)
    result = prune("resnet20", train, test, args.target, args.epochs, args.pruning_epochs, seed, settings=settings)
    return {
        "accuracy": result.accuracy,
        "flops_ratio": result.flops_ratio,
        "params": result.params,
        "block_widths": list(result.arch_config["block_widths"]),
    }


def run_uniform(train, test, args, seed: int) -> dict:
    config = uniform_config("resnet20", model_config("resnet20"), args.target, args.image_size)
    torch.manual_seed(seed)
    model = create_model("resnet20", **config_to_json(config))
    train_dense(model, train, args.epochs, seed=seed, lr=args.lr)
    dense = macs(create_model("resnet20"), args.image_size)
    return {
        "accuracy": evaluate(model, test),
        "flops_ratio": macs(model, args.image_size) / dense,
        "params": sum(p.numel() for p in model.parameters()),
        "block_widths": list(config.block_widths),
    }


def run_torch_pruning(train, test, args, seed: int) -> dict:
    import copy

    import torch_pruning as tp

    torch.manual_seed(seed)
    dense = create_model("resnet20")
    train_dense(dense, train, args.epochs, seed=seed, lr=args.lr)
    dense_macs = macs(dense, args.image_size)
    example = torch.zeros(1, 3, args.image_size, args.image_size)

    def pruned_at(ratio: float) -> nn.Module:
        model = copy.deepcopy(dense)
        # Same prunable set as LAPP: only the block-internal channels (conv1 outputs).
        ignored = [model.conv1, model.fc] + [block.conv2 for stage in model.stages for block in stage]
        pruner = tp.pruner.MetaPruner(
            model,
            example,
            importance=tp.importance.BNScaleImportance(),
            pruning_ratio=ratio,
            global_pruning=True,
            ignored_layers=ignored,
        )
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
    train_dense(model, train, max(1, args.epochs // 2), seed=seed, lr=args.lr / 5)
    return {
        "accuracy": evaluate(model, test),
        "accuracy_before_finetune": before,
        "dense_accuracy": evaluate(dense, test),
        "flops_ratio": macs(model, args.image_size) / dense_macs,
        "params": sum(p.numel() for p in model.parameters()),
        "block_widths": [block.conv1.out_channels for stage in model.stages for block in stage],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--pruning-epochs", type=int, default=4)
    parser.add_argument("--target", type=float, default=0.4)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--methods", nargs="+", default=["lapp", "lapp_no_bypass", "uniform", "torch_pruning"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: dict[str, list[dict]] = {m: [] for m in args.methods}
    for seed in args.seeds:
        train, test = harder_digits("train", seed, args.image_size), harder_digits("test", seed, args.image_size)
        for method in args.methods:
            start = time.time()
            if method == "lapp":
                row = run_lapp(train, test, args, seed, bypass=True)
            elif method == "lapp_no_bypass":
                row = run_lapp(train, test, args, seed, bypass=False)
            elif method == "uniform":
                row = run_uniform(train, test, args, seed)
            else:
                row = run_torch_pruning(train, test, args, seed)
            row |= {"seed": seed, "seconds": round(time.time() - start, 1)}
            results[method].append(row)
            print(json.dumps({"method": method, **row}), flush=True)
    print("\n| method | accuracy (mean ± std over seeds) | per-seed | MACs ratio | params |")
    print("|---|---|---|---|---|")
    for method, rows in results.items():
        accuracies = torch.tensor([r["accuracy"] for r in rows])
        std = float(accuracies.std()) if len(rows) > 1 else 0.0
        per_seed = ", ".join(f"{a:.4f}" for a in accuracies.tolist())
        ratio = sum(r["flops_ratio"] for r in rows) / len(rows)
        params = sum(r["params"] for r in rows) / len(rows)
        print(f"| {method} | {float(accuracies.mean()):.4f} ± {std:.4f} | {per_seed} | {ratio:.4f} | {params:,.0f} |")


if __name__ == "__main__":
    main()
