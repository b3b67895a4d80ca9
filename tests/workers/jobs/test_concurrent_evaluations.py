"""Two evaluate jobs of one artifact that overlap (both read the artifact before either finishes) both stay in
its evaluation history, on SQLite and on Postgres; the history is rows, so the artifact's metadata does not grow
and an artifact whose metadata is near its cap can still be evaluated."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import workers.jobs.evaluate
from registry.db import migrate
from registry.db.session import transaction
from registry.domain.artifacts import MAX_METADATA_BYTES, get_artifact, register_artifact
from registry.domain.models import create_model
from registry.jobs import service
from registry.models import JobStatus
from registry.models.artifact import ArtifactKind
from registry.resources.artifacts.service import artifact_out
from registry.resources.namespaces.service import create_namespace, get_namespace
from registry.runtime import Runtime, build_runtime
from registry.settings import Settings
from registry.storage.ingest import Ingest
from tests.fixtures.services import create_postgres_database, drop_postgres_database
from tests.workers.jobs.inprocess import ADMIN
from workers.jobs.io import build_model, checkpoint_bytes
from workers.jobs.runner import execute_job

OVERLAP_TIMEOUT_SECONDS = 120  # a bound on failure only: both handlers normally meet at once
# Metadata 100 bytes short of its cap, less than one evaluation record: evaluations still record (appended to
# the metadata, as they used to be, they made the job fail while finishing).
META = {"bits": 32, "filler": "x" * (MAX_METADATA_BYTES - 100)}


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    database_url = create_postgres_database() if request.param == "postgres" else ""
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    migrate.upgrade(settings.resolved_database_url)
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.close()
        if database_url:
            drop_postgres_database(database_url)


def _checkpoint(runtime: Runtime) -> str:
    model, config = build_model("resnet20", {})
    ingest = Ingest(runtime.store, runtime.header_limits, max_bytes=runtime.settings.max_upload_bytes)
    ingest.write(checkpoint_bytes(model, "resnet20", config))
    stored = ingest.finish()
    with transaction(runtime.session_factory) as session:
        namespace = create_namespace(session, "lab")
        row = create_model(session, namespace, name="net", arch="resnet20", arch_config={})
        artifact = register_artifact(session, row, stored, kind=ArtifactKind.checkpoint, meta=META, parents=[])
        return artifact.id


def _submit_evaluation(runtime: Runtime, artifact_id: str) -> str:
    with transaction(runtime.session_factory) as session:
        namespace = get_namespace(session, "lab")
        params = {"artifact": artifact_id, "image_size": 8, "device": "cpu"}
        job, _ = service.submit_job(session, ADMIN, namespace, "evaluate", params, None)
        return job.id


def test_overlapping_evaluations_of_one_artifact_both_survive(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact_id = _checkpoint(runtime)
    jobs = [_submit_evaluation(runtime, artifact_id) for _ in range(2)]
    # Each handler has read the artifact when it gets here; neither measures until both have.
    both_started = threading.Barrier(2, timeout=OVERLAP_TIMEOUT_SECONDS)
    measure = workers.jobs.evaluate.evaluate_classifier

    def overlapping(*args: Any, **kwargs: Any) -> dict[str, float]:
        both_started.wait()
        return measure(*args, **kwargs)

    monkeypatch.setattr(workers.jobs.evaluate, "evaluate_classifier", overlapping)
    with ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(lambda job_id: execute_job(runtime, job_id, worker=f"w-{job_id}"), jobs))
    assert statuses == [JobStatus.succeeded, JobStatus.succeeded]
    with transaction(runtime.session_factory) as session:
        namespace, model, artifact = get_artifact(session, artifact_id)
        shown = artifact_out(session, namespace, model, artifact).metadata
        stored = dict(artifact.meta)
    assert sorted(e["job"] for e in shown["evaluations"]) == sorted(jobs)
    assert {k: v for k, v in shown.items() if k != "evaluations"} == META
    assert stored == META  # the history is not kept in the metadata (nor counted against its cap)
