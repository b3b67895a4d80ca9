"""LAPP at paper scale: ResNet-20 on CIFAR-10-shaped data pruned to 40.3% of its FLOPs (GPU).

The paper (Zhai et al. 2023) reports ResNet-20 on CIFAR-10 "compressed to 40.3%" with no accuracy
drop. This script runs the reconstruction in workers/lapp on data the user provides; it downloads
nothing. Each .safetensors file holds ``images`` uint8 [N, 3, 32, 32] and ``labels`` int64 [N].

    python experiments/lapp_paper_scale.py --train cifar10_train.safetensors \
        --test cifar10_test.safetensors --epochs 200 --pruning-epochs 30 --seed 0 --device cuda \
        --output resnet20_lapp.safetensors

Writes the pruned weights (safetensors, with arch and arch_config JSON in the metadata) and prints
one JSON line per epoch, then a summary line (accuracy, MACs ratio, per-block kept channels).
Add ``--bypass folded`` or ``--bypass none`` for the ablations and ``--dense`` to train the unpruned baseline
the same way.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from safetensors.torch import load_file, save_file

from workers.data.dataset import ImageDataset
from workers.lapp import LappSettings, evaluate, pad_crop_flip, prune, train_dense
from workers.lapp.prunable import BYPASS_KINDS
from workers.models import create_model


def load(path: str) -> ImageDataset:
    tensors = load_file(path)
    return ImageDataset(tensors["images"], tensors["labels"], int(tensors["labels"].max()) + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--target", type=float, default=0.403)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--pruning-epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--bypass", choices=BYPASS_KINDS, default="depthwise")
    parser.add_argument("--dense", action="store_true", help="train the unpruned network as the baseline")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    train, test = load(args.train), load(args.test)
    test = ImageDataset(test.images, test.labels, train.num_classes)
    augment = pad_crop_flip(padding=4, flip=True)
    start = time.time()
    if args.dense:
        torch.manual_seed(args.seed)
        model = create_model(args.arch, num_classes=train.num_classes).to(args.device)
        train_dense(model, train, args.epochs, seed=args.seed, lr=args.lr, batch_size=args.batch_size, augment=augment)
        print(json.dumps({"dense_accuracy": evaluate(model, test), "seconds": round(time.time() - start)}))
        return
    settings = LappSettings(bypass=args.bypass, lr=args.lr, batch_size=args.batch_size, device=args.device)
    result = prune(
        args.arch,
        train,
        test,
        args.target,
        args.epochs,
        args.pruning_epochs,
        args.seed,
        settings=settings,
        augment=augment,
        progress=lambda fraction, metrics: print(json.dumps(metrics), flush=True),
    )
    summary = {
        "accuracy": result.accuracy,
        "flops_ratio": result.flops_ratio,
        "macs": result.macs,
        "dense_macs": result.dense_macs,
        "params": result.params,
        "dense_params": result.dense_params,
        "per_layer_kept": result.per_layer_kept,
        "seconds": round(time.time() - start),
    }
    print(json.dumps(summary))
    if args.output:
        state = {name: t.detach().cpu().contiguous() for name, t in result.model.state_dict().items()}
        metadata = {"arch": result.arch, "arch_config": json.dumps(result.arch_config)}
        save_file(state, args.output, metadata=metadata)


if __name__ == "__main__":
    main()
