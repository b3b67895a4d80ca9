"""LAPP overheads, each as a ratio against a baseline measured in the same run.

1. Training step: one SGD step of the LAPP-wrapped ResNet-20 (masks, FLOPs term, bypasses,
   threshold optimiser) vs one step of the plain dense ResNet-20, same batch.
2. CPU inference: the extracted network at ``--target`` of the dense MACs vs the dense network.

    python bench/lapp_overhead.py --batch 64 --image-size 32 --target 0.4 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from workers.lapp import ChannelCostModel, block_paths, calibrate_keep, extract_pruned, install_lapp_blocks
from workers.models import create_model, model_config
from workers.models.flops import count_costs


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--target", type=float, default=0.4)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.image_size, args.image_size)
    y = torch.randint(0, 10, (args.batch,))
    example = x[:1]

    dense = create_model("resnet20")
    dense_optimizer = torch.optim.SGD(dense.parameters(), lr=0.01, momentum=0.9)

    lapp = create_model("resnet20")
    costs = ChannelCostModel.measure(lapp, block_paths(lapp), example)
    blocks = install_lapp_blocks(lapp, folded_bypass=True, temperature=0.5)
    thresholds = [b.gate.threshold for b in blocks.values()]
    ids = {id(t) for t in thresholds}
    lapp_optimizer = torch.optim.SGD([p for p in lapp.parameters() if id(p) not in ids], lr=0.01, momentum=0.9)
    threshold_optimizer = torch.optim.Adam(thresholds, lr=0.05)

    def dense_step() -> None:
        dense_optimizer.zero_grad()
        F.cross_entropy(dense(x), y).backward()
        dense_optimizer.step()

    def lapp_step() -> None:
        lapp_optimizer.zero_grad()
        threshold_optimizer.zero_grad()
        widths = torch.stack([b.mask()[0].sum() for b in blocks.values()]).double()
        flops_term = 5.0 * (costs.ratio(widths) - args.target) ** 2
        (F.cross_entropy(lapp(x), y) + flops_term).backward()
        lapp_optimizer.step()
        threshold_optimizer.step()

    dense.train()
    lapp.train()
    dense_time = median_seconds(dense_step, args.repeats)
    lapp_time = median_seconds(lapp_step, args.repeats)
    print(
        f"train step  dense {dense_time * 1e3:8.1f} ms   LAPP {lapp_time * 1e3:8.1f} ms   "
        f"ratio {lapp_time / dense_time:.2f}x"
    )

    # Inference: give the thresholds learned-looking values, calibrate to the target and extract.
    with torch.no_grad():
        for index, block in enumerate(blocks.values()):
            block.gate.threshold.fill_(-0.5 + 0.1 * index)
    keep = calibrate_keep(list(blocks.values()), costs, args.target)
    _, small = extract_pruned(lapp, "resnet20", model_config("resnet20"), blocks, keep)
    small.eval()
    dense.eval()
    ratio = count_costs(small, example).macs / count_costs(dense, example).macs
    with torch.no_grad():
        dense_infer = median_seconds(lambda: dense(x), args.repeats)
        small_infer = median_seconds(lambda: small(x), args.repeats)
    print(
        f"inference   dense {dense_infer * 1e3:8.1f} ms   pruned {small_infer * 1e3:8.1f} ms   "
        f"speed-up {dense_infer / small_infer:.2f}x at MACs ratio {ratio:.3f} "
        f"(batch {args.batch}, {args.image_size}x{args.image_size}, {args.threads} thread(s))"
    )


if __name__ == "__main__":
    main()
