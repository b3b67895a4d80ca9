"""An error raised while a job's outputs are registered fails the job at once with its own message (it used to
escape the runner, leave the job running until its lease expired, and end as "worker lost 3 times")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from safetensors.torch import save as save_tensors
from sqlalchemy import func, select

from registry.contract.context import ArtifactKind, JobContext
from registry.contract.handlers import HANDLERS, JobOutcome
from registry.contract.kinds import JOB_KINDS, JobKindSpec, JobParams
from registry.db.session import transaction
from registry.domain.artifacts import MAX_METADATA_BYTES
from registry.domain.models import create_model
from registry.jobs import service
from registry.models import Artifact, Job, JobStatus
from registry.resources.namespaces.service import get_namespace
from tests.workers.jobs.inprocess import ADMIN, Runtime
from workers.jobs.runner import execute_job

KIND = "test-finish-error"


@pytest.fixture
def oversized_output_kind(runtime: Runtime) -> Iterator[str]:
    """A kind whose one output carries metadata over the cap, registered under a model of its own."""
    with transaction(runtime.session_factory) as session:
        create_model(session, get_namespace(session, "lab"), name="oversized", arch="resnet20", arch_config={})

    def handler(context: JobContext, _params: JobParams) -> JobOutcome:
        weights = save_tensors({"w": torch.zeros(2)})
        big = {"notes": "x" * MAX_METADATA_BYTES}
        context.add_output("weights", "lab/oversized", ArtifactKind.base, weights, metadata=big, parents=[])
        return JobOutcome(result={})

    JOB_KINDS[KIND] = JobKindSpec(KIND, JobParams, "a test kind")
    HANDLERS[KIND] = handler
    yield KIND
    del HANDLERS[KIND], JOB_KINDS[KIND]


def test_an_error_while_registering_outputs_fails_the_job_at_once(runtime: Runtime, oversized_output_kind: str) -> None:
    with transaction(runtime.session_factory) as session:
        job, _ = service.submit_job(session, ADMIN, get_namespace(session, "lab"), oversized_output_kind, {}, None)
        job_id = job.id
    assert execute_job(runtime, job_id, worker="test") is JobStatus.failed
    with transaction(runtime.session_factory) as session:
        failed = session.get(Job, job_id)
        assert failed is not None
        assert failed.status is JobStatus.failed and failed.attempts == 1
        assert failed.error == f"Invalid: metadata is larger than {MAX_METADATA_BYTES} bytes"
        assert failed.finished_at is not None and failed.claim_token is None
        assert session.scalar(select(func.count()).select_from(Artifact).where(Artifact.job_id == job_id)) == 0
