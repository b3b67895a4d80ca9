"""Running jobs in-process through the real job path (claim, handler, atomic registration) on the embedded
default (SQLite + local blobs): no Celery, so ML job kinds are tested at their own cost."""

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
from registry.models import Artifact, Job, JobStatus, Role
from registry.resources.namespaces.service import create_namespace, get_namespace
from registry.runtime import Runtime, build_runtime
from registry.settings import Settings
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
