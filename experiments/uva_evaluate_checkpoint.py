"""Evaluate a UVA checkpoint saved by ``uva_study.py --save-dir`` on the study's held-out test set.

python experiments/uva_evaluate_checkpoint.py uva_ckpt/uva_seed0   # the study saves uva_seed{N} per seed
"""

from __future__ import annotations

import argparse
import json

import safetensors.torch
import torch

from workers.models import create_model
from workers.models.uva import UVA
from workers.uva.dataset import generate_demonstrations
from workers.uva.evaluate import UVAEvalConfig, evaluate_uva
from workers.uva.sim import PointGoalConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="path without extension: <path>.json and <path>.safetensors")
    parser.add_argument("--eval-clips", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with open(args.checkpoint + ".json") as file:
        meta = json.load(file)
    model = create_model(meta["arch"], **meta["config"])
    assert isinstance(model, UVA)
    model.load_state_dict(safetensors.torch.load_file(args.checkpoint + ".safetensors"))
    test_set = generate_demonstrations(PointGoalConfig(), 100, 50, seed=500_000)  # the study's test set
    print(json.dumps(evaluate_uva(model.eval(), test_set, UVAEvalConfig(num_clips=args.eval_clips)), indent=1))


if __name__ == "__main__":
    main()
