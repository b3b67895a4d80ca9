"""EMOv2 vs a plain inverted-residual network of the same parameter count: speed and memory.

For each of EMOv2-1M/2M/5M at 224x224 (1000 classes) the baseline is MobileNetV2 with its width
chosen so its parameter count matches (``width_for_parameters``). Both are timed in the same run,
interleaved (EMOv2, baseline, EMOv2, ...), so machine noise hits both alike; the ratio
EMOv2 / baseline is the number to read. Reported per pair:

- latency: median milliseconds of one batch-1 inference (torch.inference_mode)
- throughput: images per second at batch 32 (median of the timed batches)
- training memory: peak bytes of one AdamW training step at batch 32. On CUDA this is
  torch.cuda.max_memory_allocated; on CPU it is weights + gradients + AdamW moments (4 x weights)
  plus every tensor autograd saves for the backward pass (deduplicated by storage), which is what
  dominates and does not depend on the allocator.

    python bench/emov2_latency.py --threads 2
"""

from __future__ import annotations

import argparse
import functools
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

import workers.models.emov2  # noqa: F401  (registers the EMOv2 variants)
from workers.models.flops import count_parameters
from workers.models.inverted_residual import build_inverted_residual, width_for_parameters
from workers.models.zoo import create_model
from workers.training.profiling import count_flops


def time_calls(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def interleaved_medians(
    models: list[nn.Module], batch: torch.Tensor, repeats: int, device: torch.device
) -> list[float]:
    """Median seconds per forward of each model, alternating between models on every repeat."""
    samples: list[list[float]] = [[] for _ in models]
    with torch.inference_mode():
        for model in models:  # warm-up: allocator, kernels, caches
            for _ in range(2):
                model(batch)
        for _ in range(repeats):
            for i, model in enumerate(models):
                samples[i].append(time_calls(functools.partial(model, batch), device))
    return [statistics.median(s) for s in samples]


def training_memory(model: nn.Module, batch_size: int, size: int, device: torch.device) -> int:
    """Peak bytes of one AdamW step (see the module docstring for the CPU definition)."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(batch_size, 3, size, size, device=device)
    labels = torch.randint(0, 1000, (batch_size,), device=device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    model.zero_grad(set_to_none=True)
    return 4 * weights + sum(saved.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["emov2_1m", "emov2_2m", "emov2_5m"])
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--repeats-b1", type=int, default=20)
    parser.add_argument("--repeats-b32", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    size = args.image_size
    print(
        f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, device {device}, "
        f"threads {torch.get_num_threads()}, input {size}x{size}"
    )
    header = (
        "| model | params | GFLOPs | b1 latency ms | b32 img/s | train mem MB (b32) "
        "| baseline width | baseline params | baseline GFLOPs | baseline b1 ms | baseline b32 img/s "
        "| baseline train MB | latency ratio | throughput ratio | memory ratio |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in args.models:
        torch.manual_seed(0)
        emo = create_model(name).to(device).eval()
        baseline_config = width_for_parameters(count_parameters(emo))
        base = build_inverted_residual(baseline_config).to(device).eval()
        pair = [emo, base]
        flops = [count_flops(m, (1, 3, size, size)) / 1e9 for m in pair]
        one = torch.randn(1, 3, size, size, device=device)
        many = torch.randn(32, 3, size, size, device=device)
        latency = interleaved_medians(pair, one, args.repeats_b1, device)
        per_batch = interleaved_medians(pair, many, args.repeats_b32, device)
        throughput = [32 / t for t in per_batch]
        memory = [training_memory(m, 32, size, device) / 2**20 for m in pair]
        print(
            f"| {name} | {count_parameters(emo) / 1e6:.3f}M | {flops[0]:.3f} | {latency[0] * 1e3:.1f} "
            f"| {throughput[0]:.1f} | {memory[0]:.0f} | {baseline_config.width:.3f} "
            f"| {count_parameters(base) / 1e6:.3f}M | {flops[1]:.3f} | {latency[1] * 1e3:.1f} "
            f"| {throughput[1]:.1f} | {memory[1]:.0f} | {latency[0] / latency[1]:.2f} "
            f"| {throughput[0] / throughput[1]:.2f} | {memory[0] / memory[1]:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
