"""The ML job kinds run through the same job path (claim, handler, outputs registered atomically), in-process
on the embedded default (SQLite + local blobs): lapp_prune and train_emov2 on digits, then evaluate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.auth.principal import Principal
from registry.db import migrate
from registry.db.session import transaction
from registry.jobs import service
from registry.jobs.kinds import JOB_KINDS
from registry.models import Artifact, Job, JobStatus, Role
from registry.resources.namespaces.service import create_namespace, get_namespace
from registry.runtime import Runtime, build_runtime
from registry.settings import Settings
from workers.jobs import HANDLERS
from workers.jobs.runner import execute_job

ADMIN = Principal(token_id=0, token_name="test", role=Role.admin, namespace_id=None)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("ml-jobs")))
    migrate.upgrade(settings.resolved_database_url)
    runtime = build_runtime(settings)
    with transaction(runtime.session_factory) as session:
        create_namespace(session, "lab")
    yield runtime
    runtime.close()


def run(runtime: Runtime, kind: str, params: dict[str, Any]) -> tuple[Job, list[Artifact]]:
    with transaction(runtime.session_factory) as session:
        namespace = get_namespace(session, "lab")
        job, _ = service.submit_job(session, ADMIN, namespace, kind, params, None)
        job_id = job.id
    assert execute_job(runtime, job_id, worker="test") is JobStatus.succeeded, _error(runtime, job_id)
    with transaction(runtime.session_factory) as session:
        job = session.get(Job, job_id)
        outputs = list(session.scalars(select(Artifact).where(Artifact.job_id == job_id)))
        assert job is not None
        return job, outputs


def _error(runtime: Runtime, job_id: str) -> str | None:
    with transaction(runtime.session_factory) as session:
        job = session.get(Job, job_id)
        return job.error if job else None


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
