"""The database side of running one job on a worker: claim it, finish it, give it back after an outage, and
register its outputs and finish it in one transaction. ``workers/jobs/runner.py`` decides which of these to call."""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta
from typing import Any

from registry.contract.context import JobContext
from registry.contract.handlers import JobOutcome
from registry.db.base import utcnow
from registry.db.outage import database_unavailable
from registry.db.session import transaction
from registry.domain.artifacts import check_parents, get_artifact, merge_metadata, register_artifact
from registry.domain.evaluations import record_evaluation
from registry.domain.job_artifacts import job_output
from registry.domain.models import find_model
from registry.jobs.broker import enqueue
from registry.jobs.lifecycle import Claim, claim_job, finish, lock_if_owned, release_after_outage
from registry.models import JobStatus
from registry.runtime import Runtime

__all__ = ["JobStatus", "claim", "database_unavailable", "finish_job", "give_back_after_outage", "succeed"]

log = logging.getLogger("patchhub.worker")
OUTAGE_WAIT_SECONDS = 3600  # how long a worker waits for the database to give a job back after an outage


def claim(runtime: Runtime, job_id: str, worker: str) -> JobContext | None:
    """The context of ``job_id`` claimed for ``worker``, or None if it is not claimable."""
    lease = timedelta(seconds=runtime.settings.job_lease_seconds)
    with transaction(runtime.session_factory) as session:
        claimed = claim_job(session, job_id, worker, lease)
    return JobContext(runtime=runtime, claim=claimed, lease=lease) if claimed is not None else None


def finish_job(
    runtime: Runtime, claim: Claim, status: JobStatus, *, message: str, error: str | None = None
) -> JobStatus | None:
    with transaction(runtime.session_factory) as session:
        job = lock_if_owned(session, claim)
        if job is None:
            return None
        finish(session, job, status, message=message, error=error)
        return status


def give_back_after_outage(runtime: Runtime, claim: Claim) -> JobStatus | None:
    """The database went away under the job: wait for it, then put the job back in the queue without
    counting this attempt (the attempt limit is for jobs that kill their workers, not for outages)."""
    log.warning("job %s: the database became unavailable; re-queueing it once the database is back", claim.job_id)
    deadline = time.monotonic() + OUTAGE_WAIT_SECONDS
    delay = 0.2
    while True:
        try:
            with transaction(runtime.session_factory) as session:
                queue = release_after_outage(session, claim, utcnow())
            break
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() > deadline:
                raise  # the lease runs out and a sweeper re-queues the job
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    if queue is None:
        return None  # another worker has it now
    try:
        enqueue(runtime.settings, claim.job_id, queue)
    except Exception as exc:  # the sweeper resends jobs whose message may be lost
        log.warning("job %s: could not enqueue it again now (%s)", claim.job_id, type(exc).__name__)
    return JobStatus.queued


def json_safe(value: Any) -> Any:
    """JSON the database accepts: NaN and infinities (e.g. "mean steps to success" of no success) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def succeed(runtime: Runtime, context: JobContext, outcome: JobOutcome) -> JobStatus | None:
    """Register every output and mark the job succeeded in one transaction, or do neither."""
    with transaction(runtime.session_factory) as session:
        job = lock_if_owned(session, context.claim)
        if job is None:
            return None
        if job.cancel_requested:
            finish(session, job, JobStatus.cancelled, message="cancelled before its outputs were registered")
            return JobStatus.cancelled
        for output in context.outputs:
            if job_output(session, job.id, output.name) is not None:
                continue
            namespace_name, _, model_name = output.model.partition("/")
            _namespace, model = find_model(session, namespace_name, model_name, for_update=True)
            register_artifact(
                session,
                model,
                output.blob,
                kind=output.kind,
                meta=json_safe(output.metadata),
                parents=check_parents(session, output.parents),
                job_id=job.id,
                job_output=output.name,
            )
        for artifact_id, patch in outcome.artifact_metadata.items():
            _ns, _model, artifact = get_artifact(session, artifact_id)
            merge_metadata(session, artifact, json_safe(patch))
        for artifact_id, history, record in outcome.evaluations:
            record_evaluation(session, artifact_id, json_safe(record), history)
        finish(session, job, JobStatus.succeeded, message=outcome.message, result=json_safe(outcome.result))
        return JobStatus.succeeded
