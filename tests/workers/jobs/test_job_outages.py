"""A database outage while a job runs costs the job none of its attempts: the runner gives the job back
once the database returns, and sweepers do not mistake a lease that ran out during the outage for a dead
worker. The Postgres is the test's own, stopped and restarted here."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from registry.contract.context import JobContext
from registry.contract.handlers import HANDLERS, JobOutcome
from registry.contract.kinds import JOB_KINDS, JobKindSpec, JobParams
from registry.contract.sweeper import start_sweeper
from registry.db import migrate
from registry.db.base import utcnow
from registry.db.session import transaction
from registry.jobs.lifecycle import claim_job, renew_lease
from registry.models import Job, JobStatus, Namespace
from registry.resources.namespaces.service import create_namespace
from registry.runtime import Runtime, build_runtime
from registry.settings import Settings
from tests.fixtures.private_postgres import PostgresServer
from workers.jobs.runner import execute_job

OUTAGE_KIND = "test-outage"
LEASE_SECONDS = 4


@pytest.fixture(scope="module")
def outage_runtime(private_postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("job-outage")),
        database_url=private_postgres.url,
        database_connect_timeout_seconds=2,
        database_statement_timeout_seconds=2,
        job_lease_seconds=LEASE_SECONDS,
        job_sweep_seconds=1,
    )
    migrate.upgrade(settings.resolved_database_url)
    runtime = build_runtime(settings)
    with transaction(runtime.session_factory) as session:
        create_namespace(session, "lab")
    yield runtime
    runtime.close()


def _new_job(runtime: Runtime, **values: object) -> str:
    job_id = uuid.uuid4().hex
    with transaction(runtime.session_factory) as session:
        namespace_id = session.scalar(select(Namespace.id).where(Namespace.name == "lab"))
        fields = {"kind": OUTAGE_KIND, "params": {}, "queue": "cpu", "status": JobStatus.queued, **values}
        session.add(Job(id=job_id, namespace_id=namespace_id, **fields))
    return job_id


def _job(runtime: Runtime, job_id: str) -> Job:
    with transaction(runtime.session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_database_outage_during_a_job_does_not_use_up_an_attempt(
    outage_runtime: Runtime, private_postgres: PostgresServer
) -> None:
    runs: list[int] = []

    def handler(context: JobContext, _params: JobParams) -> JobOutcome:
        runs.append(context.claim.attempt)
        if len(runs) == 1:
            private_postgres.stop()
            try:
                context.progress(0.5, "the database is gone now")
            finally:  # back while the runner waits for it
                threading.Thread(target=private_postgres.start).start()
        return JobOutcome(result={"runs": len(runs)})

    JOB_KINDS[OUTAGE_KIND] = JobKindSpec(OUTAGE_KIND, JobParams, "a test kind")
    HANDLERS[OUTAGE_KIND] = handler
    try:
        job_id = _new_job(outage_runtime)
        assert execute_job(outage_runtime, job_id, worker="test") is JobStatus.queued
        requeued = _job(outage_runtime, job_id)
        assert requeued.status is JobStatus.queued and requeued.attempts == 0
        assert "database was unavailable" in requeued.message
        assert execute_job(outage_runtime, job_id, worker="test") is JobStatus.succeeded
    finally:
        del HANDLERS[OUTAGE_KIND], JOB_KINDS[OUTAGE_KIND]
    done = _job(outage_runtime, job_id)
    assert done.attempts == 1 and done.result == {"runs": 2}
    assert runs == [1, 1]


def test_sweepers_give_a_live_worker_a_lease_to_renew_after_an_outage(
    outage_runtime: Runtime, private_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    running_id = _new_job(outage_runtime)
    with transaction(outage_runtime.session_factory) as session:
        claim = claim_job(session, running_id, "live-worker", timedelta(seconds=LEASE_SECONDS))
    lease_end = utcnow() + timedelta(seconds=LEASE_SECONDS)
    assert claim is not None
    stop = threading.Event()
    caplog.set_level(logging.ERROR, logger="patchhub.sweeper")
    sweeper = start_sweeper(outage_runtime, stop)
    try:
        private_postgres.stop()
        _wait(lambda: any("sweep failed" in r.getMessage() for r in caplog.records), "a sweep to fail")
        _wait(lambda: utcnow() > lease_end, "the lease to run out while the database is away")
        private_postgres.start()
        # A queued job no message was sent for: the sweep that sends it has also looked at leases.
        marker_id = _new_job(outage_runtime, created_at=utcnow() - timedelta(minutes=1))
        _wait(lambda: _job(outage_runtime, marker_id).enqueued_at is not None, "a sweep after the outage")
        assert _job(outage_runtime, running_id).status is JobStatus.running
        with transaction(outage_runtime.session_factory) as session:
            assert renew_lease(session, claim, timedelta(seconds=LEASE_SECONDS))  # the live worker's next tick
    finally:
        stop.set()
        sweeper.join(timeout=10)
    assert _job(outage_runtime, running_id).attempts == 1


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
