"""Run one job: claim it, keep its lease, call its handler, then register outputs and finish atomically."""

from __future__ import annotations

import logging
import traceback

from registry.contract.context import JobCancelled, JobContext, LeaseKeeper, LeaseLost
from registry.contract.handlers import run_handler
from registry.contract.platform import Runtime
from registry.contract.running import (
    JobStatus,
    claim,
    database_unavailable,
    finish_job,
    give_back_after_outage,
    succeed,
)
from workers.jobs.runtime import worker_name

log = logging.getLogger("patchhub.worker")


def execute_job(runtime: Runtime, job_id: str, worker: str | None = None) -> JobStatus | None:
    """Run ``job_id`` if it is claimable; returns its final status, or None if another worker has it."""
    import workers.jobs  # noqa: F401  (registers the handlers)

    context = claim(runtime, job_id, worker or worker_name())
    if context is None:
        log.info("job %s is not claimable (running elsewhere, finished or cancelled); skipping", job_id)
        return None
    with LeaseKeeper(context):
        try:
            context.log(f"attempt {context.claim.attempt} of {context.claim.kind} on {worker or worker_name()}")
            outcome = run_handler(context)
            context.raise_if_stopping()
        except LeaseLost:
            log.warning("job %s: lease lost to another worker; its outputs are not registered here", job_id)
            return None
        except JobCancelled:
            return finish_job(runtime, context.claim, JobStatus.cancelled, message="cancelled while running")
        except Exception as exc:
            return _failed(runtime, context, exc)
        try:
            return succeed(runtime, context, outcome)
        except Exception as exc:  # e.g. metadata over the cap: the job fails now, with that message
            return _failed(runtime, context, exc)


def _failed(runtime: Runtime, context: JobContext, exc: Exception) -> JobStatus | None:
    """Fail the job with ``exc``'s message, or give it back if the database went away (that is not the job's fault)."""
    if database_unavailable(exc):
        return give_back_after_outage(runtime, context.claim)
    context.log(traceback.format_exc())
    return finish_job(runtime, context.claim, JobStatus.failed, message="failed", error=f"{type(exc).__name__}: {exc}")
