"""The ML job kinds run through the same job path, in-process: lapp_prune and train_emov2 on digits."""

from __future__ import annotations

import pytest

from registry.jobs.kinds import JOB_KINDS
from tests.workers.jobs.inprocess import Runtime, run
from workers.jobs import HANDLERS


def test_every_job_kind_has_a_handler() -> None:
    assert set(JOB_KINDS) == set(HANDLERS)


def test_lapp_prune_meets_its_flops_target_and_the_pruned_artifact_evaluates(runtime: Runtime) -> None:
    params = {
        "output_model": "lab/pruned-resnet20",
        "arch": "resnet20",
        "image_size": 8,
        "target_flops_ratio": 0.5,
        "epochs": 2,
        "pruning_epochs": 1,
        "device": "cpu",
    }
    job, [pruned] = run(runtime, "lapp_prune", params)
    summary = job.result
    assert abs(summary["flops_ratio"] - 0.5) <= 0.02
    assert summary["params"] < summary["dense_params"]
    assert any(layer["kept"] < layer["of"] for layer in summary["per_layer_kept"].values())
    assert pruned.kind.value == "pruned"
    assert pruned.meta["per_layer_kept"] == summary["per_layer_kept"]
    evaluation, _ = run(runtime, "evaluate", {"artifact": pruned.id, "image_size": 8, "device": "cpu"})
    assert abs(evaluation.result["metrics"]["top1"] - summary["accuracy"]) < 1e-6


def test_train_emov2_registers_a_checkpoint_that_evaluates(runtime: Runtime) -> None:
    params = {
        "output_model": "lab/emo",
        "arch": "emov2_1m",
        "image_size": 16,
        "epochs": 1,
        "batch_size": 128,
        "warmup_epochs": 0.5,
        "device": "cpu",
    }
    job, [checkpoint] = run(runtime, "train_emov2", params)
    assert job.result["lr"] == pytest.approx(1.5e-3 * 128 / 512)
    assert checkpoint.file_metadata["patchhub.arch"] == "emov2_1m"
    evaluation, _ = run(runtime, "evaluate", {"artifact": checkpoint.id, "image_size": 16, "device": "cpu"})
    assert evaluation.result["metrics"]["top1"] == pytest.approx(job.result["metrics"]["val_top1"], abs=1e-6)
