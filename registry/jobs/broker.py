"""The Celery app both sides share: the registry only sends ``run_job`` by name; workers register the task.

Messages carry a job id and nothing else, serialized as JSON (never pickle). The job row is the source of
truth; the broker only wakes a worker.
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery

from registry.jobs.embedded_broker import ALIAS as EMBEDDED_ALIAS
from registry.jobs.embedded_broker import POLLING_INTERVAL_SECONDS
from registry.settings import Settings

RUN_JOB_TASK = "patchhub.jobs.run"
QUEUES = ("gpu", "cpu")


def make_celery(settings: Settings) -> Celery:
    return _celery(settings.resolved_broker_url, settings.broker_visibility_timeout_seconds)


def _celery(broker_url: str, visibility_timeout: int) -> Celery:
    app = Celery("patchhub", broker=broker_url, set_as_current=False)
    transport_options: dict[str, object] = {}
    if broker_url.startswith(("redis://", "rediss://")):
        # Unacknowledged messages come back after this long; the job lease recovers a dead worker sooner.
        transport_options = {"visibility_timeout": visibility_timeout}
    elif broker_url.startswith(f"{EMBEDDED_ALIAS}+"):
        transport_options = {"polling_interval": POLLING_INTERVAL_SECONDS}
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="cpu",
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


_sender = lru_cache(maxsize=4)(_celery)  # one producer app per broker, reused across requests


def enqueue(settings: Settings, job_id: str, queue: str) -> None:
    """Wake a worker on ``queue`` for ``job_id``. Duplicates are harmless: a job is claimed once."""
    app = _sender(settings.resolved_broker_url, settings.broker_visibility_timeout_seconds)
    app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue)
