"""EMOv2 on scikit-learn digits with the paper's recipe scaled down, and the attention ablation.

Recipe (configs/emo2/emo2_224.py, scaled): AdamW (0.9, 0.999), weight decay 0.05, lr 1.5e-3 x
batch / 512 (optionally multiplied by --lr-scale for short schedules), linear warm-up then per-step
cosine, label smoothing 0.1, gradient clipping at 5, weight EMA, RandAugment m9 (no flips: digits
are not mirror-symmetric). Each variant is trained from the same initialisation seed on the same
split and evaluated on the held-out test split.

    python experiments/emov2_digits.py --attention spanning close remote none --epochs 30
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch

import workers.models.emov2  # noqa: F401  (registers the EMOv2 variants)
from workers.data.digits import load_digits_dataset
from workers.models.flops import count_parameters
from workers.models.zoo import create_model
from workers.training import TrainConfig, train_classifier
from workers.training.profiling import count_flops


def epoch_printer(attention: str) -> Callable[[float, str], None]:
    def report(_fraction: float, message: str) -> None:
        print(f"[{attention}] {message}", flush=True)

    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="emov2_1m")
    parser.add_argument("--attention", nargs="+", default=["spanning"], choices=["spanning", "close", "remote", "none"])
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--window-size", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr-scale", type=float, default=1.0, help="multiplies the paper's lr rule")
    parser.add_argument("--warmup-epochs", type=float, default=3.0)
    parser.add_argument("--ema-decay", type=float, default=0.999)
    parser.add_argument("--magnitude", type=float, default=9.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy machine)")
    args = parser.parse_args()

    train = load_digits_dataset(image_size=args.image_size, channels=3, split="train", seed=args.seed)
    test = load_digits_dataset(image_size=args.image_size, channels=3, split="test", seed=args.seed)
    lr = 1.5e-3 * args.batch_size / 512 * args.lr_scale
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer="adamw",
        lr=lr,
        weight_decay=0.05,
        betas=(0.9, 0.999),
        schedule="cosine",
        min_lr=5e-7,
        warmup_epochs=args.warmup_epochs,
        label_smoothing=0.1,
        grad_clip=5.0,
        ema_decay=args.ema_decay,
        augmentation="randaugment",
        flip=False,
        randaugment_magnitude=args.magnitude,
        seed=args.seed,
        device="cpu",
        num_threads=args.threads,
        log_every=10**9,  # report at epoch ends only
    )
    print(f"train {len(train)} / test {len(test)} images at {args.image_size}px, lr {lr:.3g}", flush=True)
    for attention in args.attention:
        torch.manual_seed(args.seed)  # the same initial weights wherever shapes agree
        model = create_model(args.model, num_classes=10, attention=attention, window_size=args.window_size)
        params = count_parameters(model)
        flops = count_flops(model, (1, 3, args.image_size, args.image_size))
        started = time.perf_counter()
        result = train_classifier(model, train, config, val=test, progress=epoch_printer(attention))
        best = max(h["val_top1"] for h in result.history)
        row = {
            "model": args.model,
            "attention": attention,
            "params": params,
            "flops": flops,
            "test_top1": round(result.metrics["val_top1"], 4),
            "best_epoch_top1": round(best, 4),
            "test_loss": round(result.metrics["val_loss"], 4),
            "train_loss": round(result.metrics["train_loss"], 4),
            "minutes": round((time.perf_counter() - started) / 60, 2),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
