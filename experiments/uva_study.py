"""UVA evidence study on the point-goal sim: full UVA vs the UVA-action ablation vs baselines, several seeds.

Per seed: generates a training set and a disjoint held-out set, trains UVA (video stage, then all five
modes) and the same network trained for actions only (policy mode, same step count), and evaluates every
inference mode (workers/uva/evaluate.py). Writes one JSON object with the configs, every seed's metrics
and their mean and standard deviation over seeds.

    # the reduced CPU run of docs/uva.md (28 min wall on a shared 2-core machine)
    python experiments/uva_study.py --seeds 0 1 2 --steps 450 --policy-seeds 20 --eval-clips 64 --num-iter 4 \
        --out uva_study.json
    python experiments/uva_study.py --full --out uva_study_full.json                 # GPU-size run
    python experiments/uva_study.py --seeds 0 --steps 100 --out /tmp/smoke.json      # quick smoke run

The ablation is evaluated in closed loop only (its video and dynamics heads are untrained).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from workers.models import config_to_json
from workers.uva.dataset import generate_demonstrations
from workers.uva.evaluate import UVAEvalConfig, closed_loop, evaluate_uva
from workers.uva.inference import UVAPredictor
from workers.uva.sim import PointGoalConfig
from workers.uva.train import ProgressCallback, UVATrainConfig, train_uva


def save_checkpoint(model: torch.nn.Module, directory: Path | None, name: str) -> None:
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(model.state_dict(), str(directory / f"{name}.safetensors"))
    (directory / f"{name}.json").write_text(json.dumps({"arch": "uva", "config": config_to_json(model.config)}))


def run_seed(args: argparse.Namespace, seed: int, record: Callable[[str, object], None]) -> dict[str, Any]:
    sim = PointGoalConfig()
    train_set = generate_demonstrations(sim, args.expert_episodes, args.random_episodes, seed=seed)
    test_seed = seed + 500_000  # episode seeds disjoint from the training set's
    test_set = generate_demonstrations(sim, args.expert_episodes // 4, args.random_episodes // 4, seed=test_seed)
    video_steps = round(args.steps * args.video_fraction)
    uva_config = UVATrainConfig(video_steps=video_steps, joint_steps=args.steps - video_steps, seed=seed)
    action_only_config = UVATrainConfig(video_steps=0, joint_steps=args.steps, joint_modes=("policy",), seed=seed)
    # Closed-loop seeds differ per study seed too (the offset keeps them far from training seeds).
    offset = 1_000_000 + 10_000 * seed
    eval_config = UVAEvalConfig(
        num_policy_seeds=args.policy_seeds,
        num_clips=args.eval_clips,
        num_iter=args.num_iter,
        seed=seed,
        policy_seed_offset=offset,
    )

    def log(name: str) -> ProgressCallback:
        return lambda step, total, losses: print(
            f"[{name} s{seed}] {step}/{total} {losses}", file=sys.stderr, flush=True
        )

    uva, uva_train = train_uva(train_set, uva_config, progress=log("uva"))
    save_checkpoint(uva, args.save_dir, f"uva_seed{seed}")
    result: dict[str, Any] = {"train_steps": train_set.num_steps, "test_steps": test_set.num_steps}
    result["uva"] = {"config": uva_config.to_json(), "train": uva_train}
    result["uva_eval"] = evaluate_uva(uva, test_set, eval_config)
    record(f"seed{seed}", result)
    action_only, action_only_train = train_uva(train_set, action_only_config, progress=log("uva-action"))
    save_checkpoint(action_only, args.save_dir, f"uva_action_seed{seed}")
    result["uva_action"] = {"config": action_only_config.to_json(), "train": action_only_train}
    c = action_only.config
    seeds = range(eval_config.policy_seed_offset, eval_config.policy_seed_offset + eval_config.num_policy_seeds)
    policy = UVAPredictor(action_only).policy
    assert test_set.sim_config is not None
    result["uva_action_eval"] = closed_loop(
        policy, test_set.sim_config, seeds, c.num_frames, c.actions_per_frame, eval_config
    )
    record(f"seed{seed}", result)
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """[mean, std over seeds] of every evaluation number (UVA's, then the action-only ablation's)."""
    rows = {f"uva.{k}": [r["uva_eval"][k] for r in runs] for k in runs[0]["uva_eval"]}
    rows |= {f"uva_action.{k}": [r["uva_action_eval"][k] for r in runs] for k in runs[0]["uva_action_eval"]}
    summary = {}
    for name, values in rows.items():
        finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if finite:
            spread = statistics.stdev(finite) if len(finite) > 1 else 0.0
            summary[name] = [round(statistics.mean(finite), 4), round(spread, 4)]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expert-episodes", type=int, default=400)
    parser.add_argument("--random-episodes", type=int, default=200)
    parser.add_argument("--steps", type=int, default=2400, help="optimizer steps per model")
    parser.add_argument("--video-fraction", type=float, default=0.2, help="share of UVA steps in stage 1")
    parser.add_argument("--policy-seeds", type=int, default=50)
    parser.add_argument("--eval-clips", type=int, default=128)
    parser.add_argument("--num-iter", type=int, default=16, help="MAR decoding steps of the video modes")
    parser.add_argument("--out", required=True, help="JSON report, rewritten after each phase")
    parser.add_argument("--save-dir", type=Path, help="also save both checkpoints (safetensors + config JSON)")
    parser.add_argument("--threads", type=int, default=1, help="1 is fastest on a shared 2-core box")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--full", action="store_true", help="4x the data, 10,000 steps, 200 closed-loop seeds")
    args = parser.parse_args()
    if args.full:
        args.expert_episodes, args.random_episodes, args.steps = 1600, 800, 10_000
        args.policy_seeds, args.eval_clips = 200, 512
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    report: dict[str, Any] = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}

    def record(key: str, value: object) -> None:
        report[key] = value
        report["wall_seconds"] = time.perf_counter() - started
        Path(args.out).write_text(json.dumps(report, indent=1, default=str))
        print(f"[study] {key} recorded after {report['wall_seconds']:.0f} s", file=sys.stderr, flush=True)

    runs = [run_seed(args, seed, record) for seed in args.seeds]
    record("summary", summarise(runs))
    print(json.dumps(report["summary"], indent=1))


if __name__ == "__main__":
    main()
