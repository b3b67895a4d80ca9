"""The ML job kinds run through the same job path, in-process: lapp_prune and train_emov2 on digits,
import_dataset with Fashion-MNIST."""

from __future__ import annotations

import pytest

from registry.contract.kinds import JOB_KINDS
from registry.errors import Invalid
from registry.jobs.service import validate_params
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


def test_import_dataset_registers_fashion_mnist_that_jobs_train_and_evaluate_on(runtime: Runtime) -> None:
    params = {"output_model": "lab/fashion-test", "dataset": "builtin:fashion-mnist", "split": "test"}
    job, [imported] = run(runtime, "import_dataset", {**params, "image_size": 8, "channels": 1})
    assert imported.kind.value == "dataset"
    assert job.result["images"] == 10_000 and job.result["shape"] == [1, 8, 8]
    assert imported.meta["class_names"][0] == "T-shirt/top"
    _, [checkpoint] = run(
        runtime,
        "train",
        {"output_model": "lab/fashion-net", "arch": "resnet20", "dataset": imported.id, "epochs": 1, "device": "cpu"},
    )
    assert checkpoint.file_metadata["patchhub.arch"] == "resnet20"
    from_artifact, _ = run(runtime, "evaluate", {"artifact": checkpoint.id, "dataset": imported.id, "device": "cpu"})
    builtin, _ = run(
        runtime,
        "evaluate",
        {"artifact": checkpoint.id, "dataset": "builtin:fashion-mnist", "image_size": 8, "channels": 1},
    )
    assert from_artifact.result["metrics"]["top1"] == builtin.result["metrics"]["top1"] > 0.3


def test_import_dataset_refuses_an_artifact_and_an_unknown_builtin() -> None:
    with pytest.raises(Invalid, match="imports a built-in dataset"):
        validate_params("import_dataset", {"output_model": "lab/x", "dataset": "lab/some-dataset@latest"})
    with pytest.raises(Invalid, match="unknown built-in dataset"):
        validate_params("import_dataset", {"output_model": "lab/x", "dataset": "builtin:cifar10"})
