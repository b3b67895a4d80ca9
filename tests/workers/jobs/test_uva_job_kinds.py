"""UVA as jobs, in-process and tiny: demonstrations -> train (video stage then all modes) -> evaluate."""

from __future__ import annotations

import math

from tests.workers.jobs.inprocess import Runtime, run

TINY = {
    "width": 32,
    "encoder_depth": 1,
    "decoder_depth": 1,
    "num_heads": 2,
    "video_head_width": 32,
    "video_head_depth": 1,
    "action_head_width": 32,
    "action_head_depth": 1,
    "diffusion_sample_steps": 5,
    "diffusion_batch_mul": 1,
    "dropout": 0.0,
}


def test_uva_jobs_generate_train_and_evaluate_every_mode(runtime: Runtime) -> None:
    demos = {"output_model": "lab/point-goal", "num_expert": 12, "num_random": 6, "episode_length": 20}
    _, [train_data] = run(runtime, "generate_uva_demos", demos)
    _, [held_out] = run(runtime, "generate_uva_demos", {**demos, "num_expert": 4, "num_random": 2, "seed": 500})
    assert train_data.kind.value == "dataset" and train_data.sha256 != held_out.sha256
    job, [checkpoint] = run(
        runtime,
        "train_uva",
        {
            "output_model": "lab/uva",
            "dataset": train_data.id,
            "model": TINY,
            "video_steps": 4,
            "joint_steps": 8,
            "batch_size": 8,
        },
    )
    assert checkpoint.file_metadata["patchhub.arch"] == "uva"
    assert checkpoint.meta["train_config"]["joint_steps"] == 8
    evaluation, _ = run(
        runtime,
        "evaluate_uva",
        {"artifact": checkpoint.id, "dataset": held_out.id, "num_policy_seeds": 3, "num_clips": 8, "num_iter": 2},
    )
    metrics = evaluation.result["metrics"]
    assert 0.0 <= metrics["policy_success_rate"] <= 1.0
    assert 0.0 <= metrics["random_policy_success_rate"] <= 1.0
    assert all(v is None or not isinstance(v, float) or math.isfinite(v) for v in metrics.values())
    assert len(job.result["metrics"]) > 0
