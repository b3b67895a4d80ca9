"""A job's life on the worker side, as conditional updates on its row.

Claiming sets ``running`` only where the row is ``queued`` (or ``running`` with an expired lease: its worker
died), so a redelivered message never runs a second copy. Each claim gets a fresh ``claim_token``; renewing
the lease, reporting progress and finishing all require it, so a worker that lost its lease can change
nothing. Outputs are registered in the same transaction that marks the job succeeded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from registry.db.base import utcnow
from registry.models import Job, JobLog, JobStatus

MAX_ATTEMPTS = 3  # a job whose worker died this many times is failed instead of re-queued


@dataclass(frozen=True)
class Claim:
    job_id: str
    token: str
    attempt: int
    kind: str
    params: dict[str, Any]
    namespace_id: int


def claim_job(session: Session, job_id: str, worker: str, lease: timedelta) -> Claim | None:
    now = utcnow()
    token = uuid.uuid4().hex
    claimable = or_(
        Job.status == JobStatus.queued,
        and_(Job.status == JobStatus.running, Job.lease_expires_at < now),
    )
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, claimable, Job.cancel_requested.is_(False), Job.attempts < MAX_ATTEMPTS)
        .values(
            status=JobStatus.running,
            claim_token=token,
            worker=worker,
            lease_expires_at=now + lease,
            attempts=Job.attempts + 1,
            started_at=now,
            progress=0.0,
            message="started",
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return Claim(job.id, token, job.attempts, job.kind, dict(job.params), job.namespace_id)


def _owned(claim: Claim) -> Any:
    return and_(Job.id == claim.job_id, Job.claim_token == claim.token, Job.status == JobStatus.running)


def renew_lease(session: Session, claim: Claim, lease: timedelta) -> bool:
    result = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(lease_expires_at=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def report_progress(session: Session, claim: Claim, fraction: float, message: str) -> tuple[bool, bool]:
    """Record progress; returns (still owned, cancel requested)."""
    result = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(progress=max(0.0, min(1.0, fraction)), message=message[:512])
        .execution_options(synchronize_session=False)
    )
    cancel = session.scalar(select(Job.cancel_requested).where(Job.id == claim.job_id))
    return bool(result.rowcount == 1), bool(cancel)  # type: ignore[attr-defined]


def poll_claim(session: Session, claim: Claim) -> tuple[bool, bool]:
    """(still owned, cancel requested), writing nothing."""
    row = session.execute(
        select(Job.claim_token, Job.status, Job.cancel_requested).where(Job.id == claim.job_id)
    ).first()
    if row is None:
        return False, False
    token, status, cancel = row
    return token == claim.token and status is JobStatus.running, bool(cancel)


def append_log(session: Session, claim: Claim, line: str) -> None:
    session.add(JobLog(job_id=claim.job_id, attempt=claim.attempt, line=line[:10_000]))


def lock_if_owned(session: Session, claim: Claim) -> Job | None:
    """The job row, locked for the finishing transaction, if this claim still owns it."""
    return session.scalar(select(Job).where(_owned(claim)).with_for_update())


def finish(
    session: Session,
    job: Job,
    status: JobStatus,
    *,
    message: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    job.status = status
    job.message = message[:512]
    job.result = result or {}
    job.error = error
    job.finished_at = utcnow()
    job.lease_expires_at = None
    job.claim_token = None
    if status is JobStatus.succeeded:
        job.progress = 1.0
    session.flush()


def release_after_outage(session: Session, claim: Claim, now: datetime) -> str | None:
    """Give the job back to the queue as if this attempt never started: the database went away under it,
    which says nothing about the job. Returns the queue to send it to, or None if the claim no longer
    owns the job."""
    result = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(
            status=JobStatus.queued,
            attempts=Job.attempts - 1,
            claim_token=None,
            lease_expires_at=None,
            worker=None,
            enqueued_at=now,
            message=f"re-queued: the database was unavailable during attempt {claim.attempt}",
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalar(select(Job.queue).where(Job.id == claim.job_id))


def expire_dead_leases(session: Session, now: datetime) -> list[tuple[str, str]]:
    """Jobs whose worker died: re-queue them (or fail them after MAX_ATTEMPTS); returns (id, queue) to enqueue."""
    stale = list(
        session.scalars(
            select(Job).where(Job.status == JobStatus.running, Job.lease_expires_at < now).with_for_update()
        )
    )
    requeue = []
    for job in stale:
        job.claim_token = None
        job.lease_expires_at = None
        if job.cancel_requested:
            job.status, job.finished_at, job.message = JobStatus.cancelled, now, "cancelled (worker lost)"
        elif job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = JobStatus.failed, now
            job.error = f"the worker running this job was lost {job.attempts} times"
            job.message = "failed: workers lost"
        else:
            job.status, job.message = JobStatus.queued, f"re-queued after its worker was lost (attempt {job.attempts})"
            job.enqueued_at = now
            requeue.append((job.id, job.queue))
    session.flush()
    return requeue


def unsent_jobs(session: Session, now: datetime, grace: timedelta, resend_after: timedelta) -> list[tuple[str, str]]:
    """Queued jobs whose message never reached the broker (it was down at submission), or reached it long
    enough ago that it may be lost (a broker restarted without persistence, a claim that failed while the
    database was away). Sending one twice is harmless: a job is claimed once."""
    never_sent = and_(Job.enqueued_at.is_(None), Job.created_at < now - grace)
    rows = session.execute(
        select(Job.id, Job.queue).where(
            Job.status == JobStatus.queued,
            Job.cancel_requested.is_(False),
            or_(never_sent, Job.enqueued_at < now - resend_after),
        )
    )
    return [(job_id, queue) for job_id, queue in rows]


def mark_enqueued(session: Session, job_id: str) -> None:
    """Note that the job's message was just sent to the broker (the sweeper resends what it never sent).
    One UPDATE, without loading the row first: every submission runs this in a transaction of its own."""
    session.execute(
        update(Job).where(Job.id == job_id).values(enqueued_at=utcnow()).execution_options(synchronize_session=False)
    )
