"""Cancellation is seen within a batch or two, not at the next epoch boundary; progress writes are capped."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

import registry.contract.context
from registry.contract.running import claim
from registry.db.session import transaction
from registry.jobs import service
from registry.models import Job, JobStatus
from registry.resources.namespaces.service import get_namespace
from tests.workers.jobs.inprocess import ADMIN, Runtime
from workers.jobs.runner import execute_job

DEADLINE_SECONDS = 300  # bounds a failure only
# One long epoch: 1,437 digits in batches of 4 is 359 steps.
LONG_EPOCH = {"output_model": "lab/cancelled", "arch": "resnet20", "image_size": 8, "batch_size": 4, "epochs": 1}
STEP = re.compile(r"step (\d+)/(\d+)")


def _submit(runtime: Runtime, kind: str, params: dict[str, Any]) -> str:
    with transaction(runtime.session_factory) as session:
        job, _ = service.submit_job(session, ADMIN, get_namespace(session, "lab"), kind, params, None)
        return job.id


def _row(runtime: Runtime, job_id: str) -> Job:
    with transaction(runtime.session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_cancel_during_an_epoch_stops_the_job_within_two_batches(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry.contract.context, "PROGRESS_WRITE_INTERVAL", 0.0)  # every batch reaches the row
    job_id = _submit(runtime, "train", {**LONG_EPOCH, "device": "cpu"})
    statuses: list[JobStatus | None] = []
    worker = threading.Thread(target=lambda: statuses.append(execute_job(runtime, job_id, worker="test")))
    worker.start()
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:  # until training has taken a few steps of the epoch
            with transaction(runtime.session_factory) as session:
                job = session.get(Job, job_id)
                assert job is not None
                seen = STEP.search(job.message)
                if seen and int(seen[1]) >= 3:
                    service.cancel_job(session, job)
                    cancelled_at, total = int(seen[1]), int(seen[2])
                    break
            assert time.monotonic() < deadline and worker.is_alive(), "training never got going"
            time.sleep(0.01)
    finally:
        worker.join(DEADLINE_SECONDS)
    assert statuses == [JobStatus.cancelled]
    stopped = _row(runtime, job_id)
    assert stopped.status is JobStatus.cancelled and stopped.message == "cancelled while running"
    assert total > 300  # the epoch was far from over
    assert round(stopped.progress * total) - cancelled_at <= 2


@pytest.fixture
def claimed(runtime: Runtime) -> Iterator[registry.contract.context.JobContext]:
    job_id = _submit(runtime, "import_dataset", {"output_model": "lab/progress", "image_size": 8})
    context = claim(runtime, job_id, "test")
    assert context is not None
    yield context


def test_progress_reports_every_batch_write_the_row_at_most_every_interval(
    runtime: Runtime, claimed: registry.contract.context.JobContext
) -> None:
    writes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE JOBS SET PROGRESS"):
            writes.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        started = time.monotonic()
        for step in range(1, 2001):
            claimed.progress(step / 2000 * 0.99, f"step {step}")
            assert not claimed.should_stop()
        elapsed = time.monotonic() - started
        claimed.progress(1.0, "done")  # the last report always lands
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert 2 <= len(writes) <= elapsed / registry.contract.context.PROGRESS_WRITE_INTERVAL + 2
    assert _row(runtime, claimed.job_id).progress == 1.0
