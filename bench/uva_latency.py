"""UVA on CPU: policy-mode vs video-generation-mode latency (one observation) and training throughput.

Latency is independent of the weights, so an untrained model of the default config ("uva" in the zoo)
is timed. Each inference mode is run ``--repeats`` times after one warm-up; the median is reported, and
the ratio video / policy is measured in the same process so machine noise cancels.

    python bench/uva_latency.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch

from workers.models import create_model
from workers.models.uva import UVA
from workers.uva.dataset import generate_demonstrations
from workers.uva.sim import PointGoalConfig
from workers.uva.train import UVATrainConfig, train_uva


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--num-iter", type=int, default=4, help="MAR decoding steps in video modes")
    parser.add_argument("--train-steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model("uva")
    assert isinstance(model, UVA)
    model.eval()
    c = model.config
    history = torch.rand(1, c.num_frames, c.in_channels, c.image_size, c.image_size) * 2 - 1
    actions = torch.rand(1, c.num_actions, c.action_dim) * 2 - 1
    policy = median_seconds(lambda: model.sample_actions(history=history), args.repeats)
    inverse = median_seconds(lambda: model.sample_actions(future=history), args.repeats)
    video = median_seconds(lambda: model.sample_video(history, None, args.num_iter), args.repeats)
    forward = median_seconds(lambda: model.sample_video(history, actions, args.num_iter), args.repeats)

    dataset = generate_demonstrations(PointGoalConfig(), num_expert=40, num_random=20, seed=0)
    config = UVATrainConfig(video_steps=args.train_steps // 4, joint_steps=args.train_steps - args.train_steps // 4)
    _, metrics = train_uva(dataset, config)
    report = {
        "threads": args.threads,
        "diffusion_sample_steps": c.diffusion_sample_steps,
        "num_iter": args.num_iter,
        "policy_ms": policy * 1e3,
        "inverse_dynamics_ms": inverse * 1e3,
        "video_generation_ms": video * 1e3,
        "forward_dynamics_ms": forward * 1e3,
        "video_over_policy_latency": video / policy,
        "train_samples_per_second": metrics["samples_per_second"],
        "train_batch_size": config.batch_size,
        "parameters": metrics["parameters"],
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
