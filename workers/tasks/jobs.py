"""The one Celery task: run the job whose id the message carries. Arguments are ids only."""

from __future__ import annotations

from registry.contract.platform import RUN_JOB_TASK
from workers.celery_app import app
from workers.jobs.runner import execute_job
from workers.jobs.runtime import worker_runtime


@app.task(name=RUN_JOB_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: str) -> None:
    execute_job(worker_runtime(), job_id)
